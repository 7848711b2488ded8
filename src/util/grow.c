/*
 * grow.c — doubling growth of heap arrays (see grow.h).
 */
#include "util/grow.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

void *util_grow(void *items, size_t *cap, size_t need, size_t size, size_t first)
{
    assert(need >= 1 && size >= 1);
    assert(items || *cap == 0);
    if (need <= *cap)
        return items;
    size_t want = *cap ? *cap : (first ? first : 1);
    while (want < need)
        want = want > SIZE_MAX / 2 ? need : want * 2;
    if (want > SIZE_MAX / size)
        return NULL;
    void *grown = realloc(items, want * size);
    if (grown)
        *cap = want;
    return grown;
}
