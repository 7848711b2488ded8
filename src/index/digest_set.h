/*
 * digest_set.h — a set of 32-byte content digests (sha256), for an index run: which contents the
 * index already has, and which a worker of this run has claimed. Open addressing, sized once for
 * what it will hold; not thread-safe (the caller locks).
 */
#ifndef FS_INDEX_DIGEST_SET_H
#define FS_INDEX_DIGEST_SET_H

#include <stddef.h>
#include <stdint.h>

typedef struct index_digest_set {
    uint8_t (*slot)[32];
    unsigned char *used;
    size_t cap, count;
} index_digest_set;

/* Room for up to `expected` digests. Returns -1 when out of memory (free it all the same). */
int index_digest_set_init(index_digest_set *s, size_t expected);
void index_digest_set_free(index_digest_set *s);

/* Adds d: 1 if it was there already, 0 if added. At most `expected` distinct digests. */
int index_digest_set_add(index_digest_set *s, const uint8_t d[32]);

/* 1 if d is in the set (an empty, never initialised set holds nothing). */
int index_digest_set_has(const index_digest_set *s, const uint8_t d[32]);

#endif
