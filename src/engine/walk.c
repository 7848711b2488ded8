/*
 * walk.c — recursive folder walk for photos (see walk.h).
 */
#include "engine/walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"

static const char *const image_extensions[] = {
    "jpg", "jpeg", "jpe", "png", "webp", "tif", "tiff", "gif", "heic", "heif", "avif", "bmp", NULL,
};

int fs_is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || strchr(dot, '/'))
        return 0;
    for (const char *const *e = image_extensions; *e; e++)
        if (strcasecmp(dot + 1, *e) == 0)
            return 1;
    return 0;
}

/* The folders on the current path from root, by device and inode, to detect symlink loops. */
typedef struct ancestry {
    dev_t dev;
    ino_t ino;
    const struct ancestry *parent;
} ancestry;

typedef struct walker {
    const fs_walk_callbacks *cb;
    int include_hidden;
    int stopped;
} walker;

static void problem(walker *w, const char *fmt, const char *path, const char *why)
{
    if (w->cb->problem) {
        char msg[sizeof ((fs_error *)0)->message];
        snprintf(msg, sizeof msg, fmt, path, why);
        w->cb->problem(msg, w->cb->ctx);
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the names in dir, sorted; NULL on error (errno set). */
static char **read_names(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown)
                goto fail;
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name)))
            goto fail;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, by_name);
    *count = n;
    return names ? names : calloc(1, sizeof *names);
fail:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    errno = ENOMEM;
    return NULL;
}

static void walk_dir(walker *w, const char *dir, const struct stat *dst, const ancestry *up)
{
    for (const ancestry *a = up; a; a = a->parent) {
        if (a->dev == dst->st_dev && a->ino == dst->st_ino) {
            problem(w, "%s: %s", dir, "symbolic link loop, not followed");
            return;
        }
    }
    ancestry here = {dst->st_dev, dst->st_ino, up};
    size_t count = 0;
    char **names = read_names(dir, &count);
    if (!names) {
        problem(w, "%s: %s", dir, strerror(errno));
        return;
    }
    for (size_t i = 0; i < count; i++) {
        if (w->stopped || (!w->include_hidden && names[i][0] == '.'))
            continue;
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        if (!path) {
            problem(w, "%s: %s", dir, "out of memory");
            w->stopped = 1;
            continue;
        }
        snprintf(path, len, strcmp(dir, "/") == 0 ? "%s%s" : "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0) {
            struct stat lst;
            if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
                problem(w, "%s: %s", path, "broken symbolic link");
            else
                problem(w, "%s: %s", path, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            walk_dir(w, path, &st, &here);
        } else if (S_ISREG(st.st_mode) && fs_is_image_name(names[i])) {
            if (w->cb->file(path, &st, w->cb->ctx))
                w->stopped = 1;
        }
        free(path);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

fs_status fs_walk(const char *root, int include_hidden, const fs_walk_callbacks *cb, fs_error *err)
{
    struct stat st;
    if (stat(root, &st) != 0)
        return fs_fail(err, errno == ENOENT ? FS_ERR_NOT_FOUND : FS_ERR_IO, "%s: %s", root,
                       strerror(errno));
    walker w = {.cb = cb, .include_hidden = include_hidden};
    if (!S_ISDIR(st.st_mode)) {
        cb->file(root, &st, cb->ctx);
        return FS_OK;
    }
    /* "photos/" and "photos" name the same folder: drop trailing slashes (but keep "/") */
    size_t len = strlen(root);
    char *dir = strdup(root);
    if (!dir)
        return fs_fail(err, FS_ERR_NOMEM, "out of memory");
    while (len > 1 && dir[len - 1] == '/')
        dir[--len] = '\0';
    walk_dir(&w, dir, &st, NULL);
    free(dir);
    return FS_OK;
}
