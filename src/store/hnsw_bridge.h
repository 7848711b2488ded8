/*
 * hnsw_bridge.h — a C interface to hnswlib's HNSW graph (Debian libhnswlib-dev, header-only C++),
 * implemented in hnsw_bridge.cpp, the only C++ in the project.
 *
 * The graph does not hold vectors: each node stores only its slot number in the vector index, and
 * distances are computed on the vector index's int8 codes (1 - approximate cosine), read through
 * the fs_hnsw_codes the caller keeps alive and up to date (the arrays may be reallocated between
 * calls; the pointers to them are re-read every time). Labels are slot numbers.
 * Functions never throw; failures are reported as NULL / -1.
 */
#ifndef FS_STORE_HNSW_BRIDGE_H
#define FS_STORE_HNSW_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fs_hnsw_codes {
    int8_t *const *codes;   /* address of the slot-major int8 code array (dim per slot) */
    float *const *scales;   /* address of the per-slot scale array */
    int dim;
} fs_hnsw_codes;

typedef struct fs_hnsw fs_hnsw;

/* A new graph with room for capacity nodes; NULL on failure. src must outlive the graph. */
fs_hnsw *fs_hnsw_new(const fs_hnsw_codes *src, size_t capacity, int m, int ef_construction);
/* Loads a graph saved by fs_hnsw_save; NULL on failure (missing, corrupt). */
fs_hnsw *fs_hnsw_load(const fs_hnsw_codes *src, const char *path);
void fs_hnsw_free(fs_hnsw *h);

size_t fs_hnsw_count(const fs_hnsw *h);

/* Adds slots [from, to) with `threads` threads (grows the capacity first). 0 or -1. */
int fs_hnsw_add_range(fs_hnsw *h, uint64_t from, uint64_t to, int threads);

/* Up to k nearest slots to the query code (int8 code of dim values and its scale) into slots,
 * nearest first, found by a search of breadth ef (raised to k); *n receives how many. 0 or -1.
 * Thread-safe with other searches (not with fs_hnsw_add_range). */
int fs_hnsw_search(const fs_hnsw *h, const int8_t *code, float scale, size_t k, size_t ef,
                   uint64_t *slots, size_t *n);

/* Writes the graph to path (not atomically: the caller writes a temporary file and renames). */
int fs_hnsw_save(const fs_hnsw *h, const char *path);

/* Bytes of memory the graph holds (approximately). */
size_t fs_hnsw_memory(const fs_hnsw *h);

#ifdef __cplusplus
}
#endif
#endif
