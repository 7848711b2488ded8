/*
 * matches.c — search results: their order (the same for the on-the-fly search, scan.c, and the
 * indexed one, search.c, so that both print the same faces in the same order) and freeing them.
 */
#include "index/matches.h"

#include <stdlib.h>
#include <string.h>

static int by_similarity(const void *pa, const void *pb)
{
    const fs_match *a = pa, *b = pb;
    if (a->similarity != b->similarity)
        return a->similarity > b->similarity ? -1 : 1;
    int c = strcmp(a->path, b->path);
    return c ? c : a->face_number - b->face_number;
}

void index_matches_rank(fs_matches *m, size_t top)
{
    if (m->count > 1)
        qsort(m->items, m->count, sizeof *m->items, by_similarity);
    if (top && m->count > top) {
        for (size_t i = top; i < m->count; i++)
            free(m->items[i].path);
        m->count = top;
    }
}

void fs_matches_free(fs_matches *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++)
        free(m->items[i].path);
    free(m->items);
    memset(m, 0, sizeof *m);
}
