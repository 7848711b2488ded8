/*
 * paths.c — where facesearch keeps its data (model packs, samples, the default index), and the
 * one canonical spelling of a path (SPEC.md §5).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/paths.h"

fs_status fs_data_dir(char *buf, size_t size, fs_error *err)
{
    const char *dir = getenv("FACESEARCH_DATA_DIR");
    int n;
    if (dir && *dir) {
        n = snprintf(buf, size, "%s", dir);
    } else if ((dir = getenv("XDG_DATA_HOME")) && *dir) {
        n = snprintf(buf, size, "%s/facesearch", dir);
    } else if ((dir = getenv("HOME")) && *dir) {
        n = snprintf(buf, size, "%s/.local/share/facesearch", dir);
    } else {
        return util_fail(err, FS_ERR_NOT_FOUND,
                         "no data folder: set FACESEARCH_DATA_DIR, XDG_DATA_HOME or HOME");
    }
    if (n < 0 || (size_t)n >= size)
        return util_fail(err, FS_ERR_LIMIT, "data folder path is too long");
    return FS_OK;
}

int util_path_join(char *buf, size_t size, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s/%s", a, b);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Appends component c (length n) to the absolute path p (length *len, capacity cap), resolving
 * "." and ".." lexically. 0, or -1 if it does not fit. */
static int append_component(char *p, size_t *len, size_t cap, const char *c, size_t n)
{
    if (n == 0 || (n == 1 && c[0] == '.'))
        return 0;
    if (n == 2 && c[0] == '.' && c[1] == '.') {
        while (*len > 1 && p[*len - 1] != '/')
            (*len)--;
        if (*len > 1)
            (*len)--;
        p[*len] = '\0';
        return 0;
    }
    size_t sep = *len > 1 ? 1 : 0;
    if (*len + sep + n + 1 > cap)
        return -1;
    if (sep)
        p[(*len)++] = '/';
    memcpy(p + *len, c, n);
    *len += n;
    p[*len] = '\0';
    return 0;
}

fs_status fs_path_canonical(const char *path, char **out, fs_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return util_fail(err, FS_ERR_ARG, "empty path");
    char *real = realpath(path, NULL);
    if (real) {
        *out = real;
        return FS_OK;
    }
    if (errno != ENOENT && errno != ENOTDIR)
        return errno == ENOMEM ? util_fail(err, FS_ERR_NOMEM, "%s: out of memory", path)
                               : util_fail(err, FS_ERR_IO, "%s: %s", path, strerror(errno));
    /* Absent: the real path of the longest prefix that exists, then the rest with "." and ".."
     * resolved by spelling (nothing below it exists to be a link). */
    size_t cap = PATH_MAX + 1;
    char *p = malloc(cap), *prefix = strdup(path);
    if (!p || !prefix) {
        free(p);
        free(prefix);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    size_t cut = strlen(prefix);
    char *base = NULL;
    while (!base) {
        while (cut > 0 && prefix[cut - 1] == '/') /* "a//b/" */
            cut--;
        while (cut > 0 && prefix[cut - 1] != '/')
            cut--;
        if (cut == 0) {
            base = realpath(".", NULL);
            break;
        }
        char keep = prefix[cut];
        prefix[cut] = '\0';
        base = realpath(prefix, NULL);
        prefix[cut] = keep;
        if (!base && errno != ENOENT && errno != ENOTDIR)
            break;
    }
    fs_status rc = FS_OK;
    if (!base && errno == ENOMEM) {
        rc = util_fail(err, FS_ERR_NOMEM, "%s: out of memory", path);
    } else if (!base) {
        rc = util_fail(err, FS_ERR_IO, "%s: %s", path, strerror(errno));
    } else if (strlen(base) >= cap) {
        rc = util_fail(err, FS_ERR_LIMIT, "%s: path too long", path);
    } else {
        size_t len = strlen(base);
        memcpy(p, base, len + 1);
        for (const char *c = path + cut; *c && rc == FS_OK;) {
            size_t n = strcspn(c, "/");
            if (append_component(p, &len, cap, c, n) != 0)
                rc = util_fail(err, FS_ERR_LIMIT, "%s: path too long", path);
            c += n;
            while (*c == '/')
                c++;
        }
    }
    free(base);
    free(prefix);
    if (rc != FS_OK) {
        free(p);
        return rc;
    }
    *out = p;
    return FS_OK;
}
