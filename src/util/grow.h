/*
 * grow.h — the one growable-array step of the library: make room in a heap array by doubling its
 * capacity. Every list that grows one element at a time (face candidates, graph values, directory
 * names, walked files, search hits) grows through this, so overflow checks and the doubling rule
 * live in one place.
 */
#ifndef FS_UTIL_GROW_H
#define FS_UTIL_GROW_H

#include <stddef.h>

/*
 * Returns items (an array of *cap elements of size bytes, or NULL when *cap is 0) reallocated to
 * hold at least need elements, and sets *cap to its new capacity: doubled from *cap, at least
 * first, at least need. Returns items itself when it already has room. On failure (out of memory
 * or a byte size beyond SIZE_MAX) returns NULL and leaves items and *cap as they were, so the
 * caller still owns and frees items. need and size must be at least 1.
 *
 *     face_det *grown = util_grow(d->items, &d->capacity, d->count + 1, sizeof *grown, 64);
 *     if (!grown)
 *         return util_fail(err, FS_ERR_NOMEM, "out of memory");
 *     d->items = grown;
 */
void *util_grow(void *items, size_t *cap, size_t need, size_t size, size_t first);

#endif
