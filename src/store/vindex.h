/*
 * vindex.h — the in-memory vector index over L2-normalised float32 embeddings, and its file.
 *
 * Each face occupies a slot (face id, file id, fp32 vector, int8 code with its scale and
 * quantisation error). Slots are appended in increasing face id; removal sets a tombstone.
 * Search is an exhaustive int8 scan whose candidates are re-ranked in fp32, with error bounds
 * that make it exactly equal to an fp32 brute force; for large libraries an HNSW graph over the
 * int8 codes (hnsw_bridge.cpp) replaces the scan unless exact results are asked for.
 * The file is only a cache: SQLite is the source of truth (see vsync.c).
 */
#ifndef FS_STORE_VINDEX_H
#define FS_STORE_VINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Below this many live faces the exact scan is fast enough and no graph is built. Measured
 * (bench/search_scale, 300 queries, 1 scan thread, this 2-core machine): p99 4.6 ms at 100k faces,
 * 10.4 ms at 200k, 19 ms at 400k, i.e. ~4.6 us per 1,000 faces, so the 5 ms target is crossed at
 * ~100k (with 2 threads on an idle machine ~135k, but a search may get only one core). At 100k the
 * graph answers a top-10 in ~2.5 ms with recall@10 >= 0.99; below it the scan is exact and needs
 * no build (~95 s per 100k faces). */
#define FS_VINDEX_GRAPH_MIN 100000

typedef struct vindex vindex;

/* Restricts a search to faces whose file id has its bit set (file id i: bit i%8 of bits[i/8]). */
typedef struct vindex_filter {
    const uint8_t *file_bits;
    int64_t nbits;
    size_t kept;     /* the live faces it lets through (vindex_filter_count); 0 = count them */
} vindex_filter;

/* The live faces of v that filter lets through (a graph search asks the graph for more when the
 * filter keeps few). Depends only on v and the filter: a caller that keeps both can keep it. */
size_t vindex_filter_count(const vindex *v, const vindex_filter *filter);

/* A new empty index for dim-vectors; NULL when out of memory or dim is out of range. */
vindex *vindex_new(int dim);
void vindex_free(vindex *v);

/* Makes room for n slots in total. On error nothing is modified. */
fs_status vindex_reserve(vindex *v, size_t n, fs_error *err);

/* Appends a face; face_id must exceed every id already present (FS_ERR_ARG otherwise).
 * vec is copied. On error nothing is modified. */
fs_status vindex_add(vindex *v, int64_t face_id, int64_t file_id, const float *vec,
                     fs_error *err);

/* Tombstones a face; returns 1 if it was present and live, else 0. */
int vindex_remove(vindex *v, int64_t face_id);

size_t vindex_live(const vindex *v);
/* Overrides FS_VINDEX_GRAPH_MIN for this index (tests, benchmarks). */
void vindex_set_graph_min(vindex *v, size_t n);
/* Overrides the graph parameters for this index (benchmarks): m and ef_construction apply to a
 * graph built afterwards, ef_search (the breadth for k <= 10) to later searches; 0 keeps the
 * default (GRAPH_* in vindex.c). */
void vindex_set_graph_params(vindex *v, int m, int ef_construction, int ef_search);
/* The graph parameters in effect (those a new graph would be built with, and the search ef). */
void vindex_graph_params(const vindex *v, int *m, int *ef_construction, int *ef_search);
/* Bytes of memory held (slots at capacity, plus the graph). */
size_t vindex_memory(const vindex *v);
/* 1 while the arrays are still the vector file's mapping (vindex_map, nothing added since). */
int vindex_mapped(const vindex *v);
size_t vindex_slots(const vindex *v);
size_t vindex_graph_count(const vindex *v);   /* slots covered by the graph (0: none) */
int64_t vindex_max_id(const vindex *v);       /* 0 when empty */

/* Visits live slots: visit(face_id, file_id, vec, ctx); non-zero stops. */
void vindex_each(const vindex *v,
                 int (*visit)(int64_t face_id, int64_t file_id, const float *vec, void *ctx),
                 void *ctx);

/* Drops tombstoned slots (and the graph, which indexes slots). On error nothing is modified. */
fs_status vindex_compact(vindex *v, fs_error *err);

/* Builds the graph if there are at least FS_VINDEX_GRAPH_MIN live faces, or extends it over the
 * slots added since. threads >= 1. On error the graph is dropped (searches stay correct); a
 * mapped graph (vindex_map) is an error (FS_ERR_ARG). */
fs_status vindex_build_graph(vindex *v, int threads, fs_error *err);

/* Top k (0 = no limit) live faces with similarity >= threshold, allowed by filter (NULL = all),
 * best first, ties by ascending face id. With exact = 1, or when there is no graph, k == 0 or
 * k > 1000, or the filter keeps few faces, the result is identical to an fp32 brute force.
 * *hits is malloc'd (NULL when *n is 0); on error *hits is NULL and *n is 0. */
fs_status vindex_search(const vindex *v, const float *q, size_t k, float threshold,
                        const vindex_filter *filter, int exact, int threads,
                        store_hit **hits, size_t *n, fs_error *err);

/* Writes the index to vec_path (and its graph, if any, to graph_path) atomically: temporary file,
 * fsync, rename, fsync of the folder. gen is recorded in the header. On error the previous files
 * are untouched. A stale graph file is removed when there is no graph. The writer's save. */
fs_status vindex_save(const vindex *v, const char *vec_path, const char *graph_path,
                      uint64_t gen, fs_error *err);

/* What a vector file was when a reader found it missing or unusable (vindex_identify, taken
 * before it tried to open it). */
typedef struct vindex_file_id {
    int exists;
    uint64_t dev, ino, size;
    int64_t mtime_sec, mtime_nsec;
} vindex_file_id;
void vindex_identify(const char *vec_path, vindex_file_id *id);

/* A reader's save of what it rebuilt: the vectors only (the graph file is the writer's, neither
 * written nor removed; one that no longer matches is ignored by vindex_load), and only where
 * vec_path is still the file `was` describes: created where it was and is still absent (a link,
 * which never replaces), replaced where it is still the same unusable file (checked right before
 * the rename). Otherwise FS_ERR_IO "VEC: saved by another process meanwhile": a writer's newer
 * file is never replaced by a reader's older state. */
fs_status vindex_save_rebuilt(const vindex *v, const char *vec_path, uint64_t gen,
                              const vindex_file_id *was, fs_error *err);

/* Reads an index written by vindex_save. FS_ERR_NOT_FOUND if vec_path is absent,
 * FS_ERR_FORMAT / FS_ERR_INTEGRITY if it is truncated, corrupt or of another dim. A missing or
 * mismatching graph file is not an error: the index then has no graph. */
fs_status vindex_load(const char *vec_path, const char *graph_path, int dim, vindex **out,
                      uint64_t *gen, fs_error *err);

/* The same for readers, without reading the whole file: the vector file is mapped (private,
 * copy-on-write) and its pages are read as searches touch them; the payload checksum is not
 * verified (the writer's vindex_load does that; the file is only ever replaced whole, by
 * rename). The header, size, ids and the graph file are checked as by vindex_load; the graph
 * is mapped too (hnsw_map), so it serves searches but cannot be extended (vindex_build_graph
 * fails). Adding to a mapped index first copies its slots into memory of its own. */
fs_status vindex_map(const char *vec_path, const char *graph_path, int dim, vindex **out,
                     uint64_t *gen, fs_error *err);

/* Reads only the header of vec_path: its generation and graph node count. Errors as
 * vindex_load (the payload is not verified). */
fs_status vindex_peek(const char *vec_path, int dim, uint64_t *gen, uint64_t *graph_count);

/* Checksum used by the file format (exposed for tests). */
uint64_t vindex_checksum(const void *data, size_t size, uint64_t seed);

#endif
