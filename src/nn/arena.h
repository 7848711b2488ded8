/*
 * arena.h — a bump allocator for everything a loaded network owns (parsed model, graph, folded
 * weights). Allocations live until nn_arena_free; error paths never need to free piecemeal, which
 * keeps the parser simple and leak-free under fuzzing.
 */
#ifndef FS_NN_ARENA_H
#define FS_NN_ARENA_H

#include <stddef.h>

typedef struct nn_arena_chunk nn_arena_chunk;

typedef struct nn_arena {
    nn_arena_chunk *head;
    size_t total;   /* bytes handed out, for limits */
    size_t limit;   /* 0 = none; allocations beyond it fail */
} nn_arena;

/* An empty arena (no allocation yet). limit caps the total bytes it will hand out. */
void nn_arena_init(nn_arena *a, size_t limit);
/* size bytes aligned to 16, zeroed. NULL when out of memory or over the limit. */
void *nn_arena_alloc(nn_arena *a, size_t size);
/* n * size bytes (overflow-checked), zeroed. */
void *nn_arena_calloc(nn_arena *a, size_t n, size_t size);
/* A NUL-terminated copy of len bytes of s. */
char *nn_arena_strndup(nn_arena *a, const char *s, size_t len);
/* Releases every allocation. The arena may be reused after nn_arena_init. */
void nn_arena_free(nn_arena *a);

#endif
