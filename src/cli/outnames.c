/*
 * outnames.c — names of the files the tool writes (detect --draw, search -o), following SPEC.md
 * §5: facesearch never writes over a file it did not create in this run, nor over an input, and
 * its output names are unique. Two photos with one base name (a/IMG_1.jpg, b/IMG_1.jpg) get their
 * folder's name in front (a_IMG_1.jpg, b_IMG_1.jpg); a name already taken on disk gets a counter
 * (IMG_1-2.jpg). The library's writer refuses an existing name as well, so a file that appears
 * between the choice and the write is not replaced either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

const char *cli_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void cli_parent_name(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    const char *start = slash;
    while (start && start > path && start[-1] != '/')
        start--;
    if (!slash || !start || slash == start)
        snprintf(buf, size, "%s", "");
    else
        snprintf(buf, size, "%.*s", (int)(slash - start), start);
}

typedef struct named {
    const char *base, *path;
    size_t i;
} named;

static int by_base_then_path(const void *pa, const void *pb)
{
    const named *a = pa, *b = pb;
    int c = strcmp(a->base, b->base);
    return c ? c : strcmp(a->path, b->path);
}

int cli_basename_clashes(const char *const *paths, size_t n, unsigned char *clash)
{
    memset(clash, 0, n);
    if (n < 2)
        return 0;
    named *v = malloc(n * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        v[i] = (named){cli_basename(paths[i]), paths[i], i};
    qsort(v, n, sizeof *v, by_base_then_path);
    /* runs of one base name: a clash when the run holds two different paths */
    for (size_t start = 0, end; start < n; start = end) {
        int differ = 0;
        for (end = start + 1; end < n && strcmp(v[end].base, v[start].base) == 0; end++)
            differ |= strcmp(v[end].path, v[start].path) != 0;
        for (size_t k = start; differ && k < end; k++)
            clash[v[k].i] = 1;
    }
    free(v);
    return 0;
}

int cli_free_path(const char *dir, const char *stem, const char *ext, char *buf, size_t size)
{
    struct stat st;
    size_t len = strlen(dir);
    const char *sep = len && dir[len - 1] == '/' ? "" : "/";
    for (int k = 1; k < 10000; k++) {
        int n = k == 1 ? snprintf(buf, size, "%s%s%s%s", dir, sep, stem, ext)
                       : snprintf(buf, size, "%s%s%s-%d%s", dir, sep, stem, k, ext);
        if (n < 0 || (size_t)n >= size)
            return -1;
        if (lstat(buf, &st) != 0 && errno == ENOENT)
            return 0;
    }
    return -1;
}
