/*
 * digest_set.c — the digest set of digest_set.h: linear probing over a power-of-two table at most
 * half full, the slot chosen by the digest's first 8 bytes (a sha256 digest is uniform already).
 */
#include "index/digest_set.h"

#include <stdlib.h>
#include <string.h>

static size_t home(const uint8_t d[32], size_t cap)
{
    uint64_t h;
    memcpy(&h, d, sizeof h);
    return (size_t)(h & (cap - 1));
}

int index_digest_set_init(index_digest_set *s, size_t expected)
{
    size_t cap = 64;
    while (cap < 2 * expected + 2)
        cap *= 2;
    s->slot = malloc(cap * sizeof *s->slot);
    s->used = calloc(cap, 1);
    s->cap = cap;
    s->count = 0;
    return s->slot && s->used ? 0 : -1;
}

void index_digest_set_free(index_digest_set *s)
{
    free(s->slot);
    free(s->used);
    memset(s, 0, sizeof *s);
}

int index_digest_set_add(index_digest_set *s, const uint8_t d[32])
{
    size_t i = home(d, s->cap);
    while (s->used[i]) {
        if (memcmp(s->slot[i], d, 32) == 0)
            return 1;
        i = (i + 1) & (s->cap - 1);
    }
    memcpy(s->slot[i], d, 32);
    s->used[i] = 1;
    s->count++;
    return 0;
}

int index_digest_set_has(const index_digest_set *s, const uint8_t d[32])
{
    if (!s->cap || !s->used)
        return 0;
    size_t i = home(d, s->cap);
    while (s->used[i]) {
        if (memcmp(s->slot[i], d, 32) == 0)
            return 1;
        i = (i + 1) & (s->cap - 1);
    }
    return 0;
}
