/*
 * hnsw_bridge.h — a C interface to hnswlib's HNSW graph (Debian libhnswlib-dev, header-only C++),
 * implemented in hnsw_bridge.cpp, the only C++ in the project.
 *
 * The graph does not hold vectors: each node stores only its slot number in the vector index, and
 * distances are computed on the vector index's int8 codes (1 - approximate cosine), read through
 * the hnsw_codes the caller keeps alive and up to date (the arrays may be reallocated between
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

typedef struct hnsw_codes {
    int8_t *const *codes;   /* address of the slot-major int8 code array (dim per slot) */
    float *const *scales;   /* address of the per-slot scale array */
    int dim;
} hnsw_codes;

typedef struct hnsw_graph hnsw_graph;

/* A new graph with room for capacity nodes; NULL on failure. src must outlive the graph. */
hnsw_graph *hnsw_new(const hnsw_codes *src, size_t capacity, int m, int ef_construction);
/* Loads a graph saved by hnsw_save whose nodes hold slots below slot_count; NULL on failure
 * (missing, corrupt). Every link and slot is checked, so that a file that passed its checksum
 * but holds a wrong value (a forged file, a writer's bug) is refused, not searched out of
 * bounds: one pass over the graph. */
hnsw_graph *hnsw_load(const hnsw_codes *src, const char *path, uint64_t slot_count);
/* The same graph for searches only, from the file's read-only mapping (map, size bytes), which
 * the graph takes (unmapped when it is freed, or at once on failure): opening it costs a walk
 * over its lists, not a copy of all of it. It cannot grow (hnsw_add_range fails); everything
 * else works as on a loaded graph, checked the same way. */
hnsw_graph *hnsw_map(const hnsw_codes *src, void *map, size_t size, uint64_t slot_count);
/* 1 for a graph made by hnsw_map. */
int hnsw_mapped(const hnsw_graph *h);
void hnsw_free(hnsw_graph *h);

size_t hnsw_count(const hnsw_graph *h);

/* Adds slots [from, to) with `threads` threads (grows the capacity first). 0 or -1 (also for a
 * mapped graph). */
int hnsw_add_range(hnsw_graph *h, uint64_t from, uint64_t to, int threads);

/* Up to k nearest slots to the query code (int8 code of dim values and its scale) into slots,
 * nearest first, found by a search of breadth ef (raised to k); *n receives how many. 0 or -1.
 * Thread-safe with other searches (not with hnsw_add_range). */
int hnsw_search(const hnsw_graph *h, const int8_t *code, float scale, size_t k, size_t ef,
                uint64_t *slots, size_t *n);

/* Writes the graph to path (not atomically: the caller writes a temporary file and renames). */
int hnsw_save(const hnsw_graph *h, const char *path);

/* Bytes of memory the graph holds (approximately). */
size_t hnsw_memory(const hnsw_graph *h);

#ifdef __cplusplus
}
#endif
#endif
