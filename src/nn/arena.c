/*
 * arena.c — bump allocator in chunks that grow with it; big requests get a chunk of their own.
 */
#include "nn/arena.h"
#include "util/big_alloc.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (256u * 1024u)
#define ARENA_MAX_CHUNK ((size_t)16 << 20)
#define ARENA_ALIGN 16u

struct nn_arena_chunk {
    nn_arena_chunk *next;
    size_t size, used;
    /* data follows, aligned by construction of the header size below */
};

/* The header is padded to the alignment so that the data area starts aligned. */
#define ARENA_HDR (((sizeof(nn_arena_chunk) + ARENA_ALIGN - 1) / ARENA_ALIGN) * ARENA_ALIGN)

void nn_arena_init(nn_arena *a, size_t limit)
{
    a->head = NULL;
    a->total = 0;
    a->limit = limit;
}

static nn_arena_chunk *new_chunk(size_t size)
{
    nn_arena_chunk *c = util_big_alloc(ARENA_HDR + size);
    if (!c)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *nn_arena_alloc(nn_arena *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > SIZE_MAX / 2)
        return NULL;
    size_t rounded = (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (a->limit && (rounded > a->limit || a->total > a->limit - rounded))
        return NULL;
    nn_arena_chunk *c = a->head;
    if (!c || c->size - c->used < rounded) {
        /* Chunks grow with the arena (a network's weights: 256 KiB up to 16 MiB), so that most
         * of a large arena sits in chunks big enough for huge pages (util/big_alloc.h). */
        size_t next = a->total < ARENA_CHUNK ? ARENA_CHUNK : a->total;
        if (next > ARENA_MAX_CHUNK)
            next = ARENA_MAX_CHUNK;
        if (rounded > next / 4) {
            /* A big block gets its own chunk, linked behind the current one so that the current
             * chunk keeps serving small requests. */
            nn_arena_chunk *big = new_chunk(rounded);
            if (!big)
                return NULL;
            big->used = rounded;
            if (c) {
                big->next = c->next;
                c->next = big;
            } else {
                a->head = big;
            }
            a->total += rounded;
            void *p = (char *)big + ARENA_HDR;
            memset(p, 0, rounded);
            return p;
        }
        c = new_chunk(next);
        if (!c)
            return NULL;
        c->next = a->head;
        a->head = c;
    }
    assert(c->size - c->used >= rounded);
    void *p = (char *)c + ARENA_HDR + c->used;
    assert((uintptr_t)p % ARENA_ALIGN == 0);
    c->used += rounded;
    a->total += rounded;
    memset(p, 0, rounded);
    return p;
}

void *nn_arena_calloc(nn_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return nn_arena_alloc(a, n * size);
}

char *nn_arena_strndup(nn_arena *a, const char *s, size_t len)
{
    char *p = nn_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void nn_arena_free(nn_arena *a)
{
    nn_arena_chunk *c = a->head;
    while (c) {
        nn_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}
