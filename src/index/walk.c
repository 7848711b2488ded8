/*
 * walk.c — recursive folder walk for photos (see walk.h).
 */
#include "index/walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"
#include "util/grow.h"

static const char *const image_extensions[] = {
    "jpg", "jpeg", "jpe", "png", "webp", "tif", "tiff", "gif", "heic", "heif", "avif", "bmp", NULL,
};

int index_is_image_name(const char *name)
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
    const index_walk_callbacks *cb;
    index_walk_seen *seen;
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

/* ---- Visited folders and files: an open-addressing set of (device, inode) -------------------- */

struct index_walk_key {
    dev_t dev;
    ino_t ino;
    int used;
};

static size_t key_slot(const index_walk_seen *s, dev_t dev, ino_t ino)
{
    uint64_t h = ((uint64_t)dev * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)ino * 0xC2B2AE3D27D4EB4Full);
    h ^= h >> 29;
    size_t i = (size_t)h & (s->capacity - 1);
    while (s->keys[i].used && !(s->keys[i].dev == dev && s->keys[i].ino == ino))
        i = (i + 1) & (s->capacity - 1);
    return i;
}

/* Adds (dev, ino): 1 if it was new, 0 if seen before, -1 out of memory. */
static int seen_add(index_walk_seen *s, dev_t dev, ino_t ino)
{
    if (2 * (s->count + 1) > s->capacity) {
        size_t cap = s->capacity ? 2 * s->capacity : 1024;
        struct index_walk_key *keys = calloc(cap, sizeof *keys);
        if (!keys)
            return -1;
        index_walk_seen grown = {keys, 0, cap};
        for (size_t i = 0; i < s->capacity; i++)
            if (s->keys[i].used) {
                grown.keys[key_slot(&grown, s->keys[i].dev, s->keys[i].ino)] = s->keys[i];
                grown.count++;
            }
        free(s->keys);
        *s = grown;
    }
    size_t i = key_slot(s, dev, ino);
    if (s->keys[i].used)
        return 0;
    s->keys[i] = (struct index_walk_key){dev, ino, 1};
    s->count++;
    return 1;
}

void index_walk_seen_free(index_walk_seen *seen)
{
    free(seen->keys);
    memset(seen, 0, sizeof *seen);
}

/* First visit of this folder or file? 1 yes, 0 seen already, -1 out of memory (reported, walk
 * stopped). */
static int first_visit(walker *w, const char *path, const struct stat *st)
{
    int r = seen_add(w->seen, st->st_dev, st->st_ino);
    if (r < 0) {
        problem(w, "%s: %s", path, "out of memory");
        w->stopped = 1;
    }
    return r;
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
        char **grown = util_grow(names, &cap, n + 1, sizeof *grown, 64);
        if (!grown)
            goto fail;
        names = grown;
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
    if (first_visit(w, dir, dst) <= 0)
        return; /* walked already: through a link, a bind mount or another root */
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
        struct stat st, lst;
        char *real = NULL;
        if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
            /* a link: the photo or folder is known by the real path it leads to */
            if (stat(path, &st) != 0) {
                problem(w, "%s: %s", path,
                        errno == ENOENT ? "broken symbolic link" : strerror(errno));
                free(path);
                continue;
            }
            if (!(real = realpath(path, NULL))) {
                problem(w, "%s: %s", path, strerror(errno));
                free(path);
                continue;
            }
        } else if (stat(path, &st) != 0) {
            problem(w, "%s: %s", path, strerror(errno));
            free(path);
            continue;
        }
        const char *canon = real ? real : path;
        if (w->cb->skip && strcmp(canon, w->cb->skip) == 0) {
            /* the output folder of this run: its files are not photos to search */
        } else if (S_ISDIR(st.st_mode)) {
            if (real && w->cb->link_dir)
                w->cb->link_dir(real, w->cb->ctx);
            walk_dir(w, canon, &st, &here);
        } else if (w->cb->file && S_ISREG(st.st_mode) && index_is_image_name(names[i]) &&
                   first_visit(w, canon, &st) > 0) {
            if (w->cb->file(canon, &st, w->cb->ctx))
                w->stopped = 1;
        }
        free(real);
        free(path);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

fs_status index_walk(const char *root, int include_hidden, const index_walk_callbacks *cb,
                     fs_error *err)
{
    char *dir;
    fs_status rc = fs_path_canonical(root, &dir, err);
    if (rc != FS_OK)
        return rc;
    struct stat st;
    if (stat(dir, &st) != 0) {
        rc = util_fail(err, errno == ENOENT ? FS_ERR_NOT_FOUND : FS_ERR_IO, "%s: %s", root,
                       strerror(errno));
        free(dir);
        return rc;
    }
    index_walk_seen mine = {0};
    walker w = {.cb = cb, .seen = cb->seen ? cb->seen : &mine, .include_hidden = include_hidden};
    if (!S_ISDIR(st.st_mode)) {
        if (cb->file && first_visit(&w, dir, &st) > 0)
            cb->file(dir, &st, cb->ctx);
    } else {
        walk_dir(&w, dir, &st, NULL);
    }
    index_walk_seen_free(&mine);
    free(dir);
    return FS_OK;
}
