/*
 * test_store_vindex.c — the vector index (src/store/vindex.c, vsync.c): the int8 scan gives
 * exactly the fp32 brute-force result (random and clustered vectors, ties, thresholds, filters),
 * the HNSW graph path has high recall and survives a save/load, deleted faces vanish from results
 * at once, and a missing, corrupt, truncated or stale vector file is rebuilt from SQLite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/hnsw_bridge.h"
#include "store/store.h"
#include "store/vindex.h"

#define DIM 512

/* xorshift generator: tests are deterministic. */
static uint64_t next_u64(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static float gauss(uint64_t *s)
{
    double u1 = ((double)(next_u64(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((double)(next_u64(s) >> 11) + 0.5) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static void normalise(float *v)
{
    double n = 0;
    for (int i = 0; i < DIM; i++)
        n += (double)v[i] * v[i];
    for (int i = 0; i < DIM; i++)
        v[i] = (float)(v[i] / sqrt(n));
}

/* n unit vectors: random, or around `ids` identity centroids (cosine to a sibling ~0.6-0.8). */
static float *make_vectors(size_t n, size_t ids, uint64_t seed)
{
    float *v = malloc(n * DIM * sizeof(float));
    float *c = malloc((ids ? ids : 1) * DIM * sizeof(float));
    assert_non_null(v);
    assert_non_null(c);
    for (size_t i = 0; i < ids * DIM; i++)
        c[i] = gauss(&seed);
    for (size_t i = 0; i < ids; i++)
        normalise(c + i * DIM);
    for (size_t i = 0; i < n; i++) {
        float *x = v + i * DIM;
        const float *ctr = ids ? c + (i % ids) * DIM : NULL;
        for (int d = 0; d < DIM; d++)
            x[d] = ids ? ctr[d] + 0.028f * gauss(&seed) : gauss(&seed);
        normalise(x);
    }
    free(c);
    return v;
}

typedef struct ref_hit {
    int64_t id;
    float s;
} ref_hit;

static int ref_order(const void *pa, const void *pb)
{
    const ref_hit *a = pa, *b = pb;
    if (a->s != b->s)
        return a->s > b->s ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* fp32 brute force over live ids (id = i + 1, file = i / 3 + 1), the reference. */
static size_t brute(const float *v, size_t n, const uint8_t *dead, const float *q, size_t k,
                    float thr, int64_t file_lo, int64_t file_hi, ref_hit *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t file = (int64_t)(i / 3 + 1);
        if ((dead && dead[i]) || file < file_lo || file > file_hi)
            continue;
        float s = util_vec_dot(q, v + i * DIM, DIM);
        if (s >= thr)
            out[m++] = (ref_hit){(int64_t)i + 1, s};
    }
    qsort(out, m, sizeof *out, ref_order);
    return k && m > k ? k : m;
}

static vindex *index_of(const float *v, size_t n)
{
    vindex *x = vindex_new(DIM);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vindex_add(x, (int64_t)i + 1, (int64_t)(i / 3 + 1), v + i * DIM, NULL),
                         FS_OK);
    return x;
}

static void expect_same(const store_hit *h, size_t nh, const ref_hit *r, size_t nr)
{
    assert_int_equal(nh, nr);
    for (size_t i = 0; i < nh; i++) {
        assert_int_equal(h[i].face_id, r[i].id);
        assert_true(h[i].similarity == r[i].s);
    }
}

static void check_exact(size_t n, size_t ids, uint64_t seed)
{
    float *v = make_vectors(n, ids, seed);
    vindex *x = index_of(v, n);
    uint8_t *dead = calloc(n, 1);
    ref_hit *ref = malloc(n * sizeof *ref);
    assert_non_null(dead);
    assert_non_null(ref);
    for (size_t i = 0; i < n; i += 7) {
        dead[i] = 1;
        assert_int_equal(vindex_remove(x, (int64_t)i + 1), 1);
    }
    assert_int_equal(vindex_remove(x, 1), 0);
    const size_t ks[] = {1, 10, 50, 0};
    const float thrs[] = {-1.0f, 0.0f, 0.5f};
    for (int qi = 0; qi < 6; qi++) {
        /* Queries: stored vectors (with their duplicate ties) and fresh ones. */
        float *q =
            qi < 3 ? v + (size_t)(qi * 37 + 5) * DIM : make_vectors(1, 0, seed + 99 + (uint64_t)qi);
        for (size_t a = 0; a < 4; a++)
            for (size_t b = 0; b < 3; b++) {
                store_hit *h;
                size_t nh;
                assert_int_equal(vindex_search(x, q, ks[a], thrs[b], NULL, 1, 1, &h, &nh, NULL),
                                 FS_OK);
                size_t nr = brute(v, n, dead, q, ks[a], thrs[b], 0, INT64_MAX, ref);
                expect_same(h, nh, ref, nr);
                free(h);
            }
        /* A filter: files 10..40 only. */
        uint8_t bits[64] = {0};
        for (int fid = 10; fid <= 40; fid++)
            bits[fid / 8] |= (uint8_t)(1u << (fid % 8));
        vindex_filter filt = {bits, 64 * 8, 0};
        store_hit *h;
        size_t nh;
        assert_int_equal(vindex_search(x, q, 10, -1.0f, &filt, 0, 2, &h, &nh, NULL), FS_OK);
        size_t nr = brute(v, n, dead, q, 10, -1.0f, 10, 40, ref);
        expect_same(h, nh, ref, nr);
        free(h);
        if (qi >= 3)
            free(q);
    }
    free(ref);
    free(dead);
    free(v);
    vindex_free(x);
}

static void test_scan_exact_random(void **state)
{
    (void)state;
    check_exact(3000, 0, 1);
}

static void test_scan_exact_clustered(void **state)
{
    (void)state;
    check_exact(3000, 100, 2);
}

static void test_duplicates_tie_by_id(void **state)
{
    (void)state;
    float *v = make_vectors(1, 0, 3);
    vindex *x = vindex_new(DIM);
    for (int i = 0; i < 20; i++)
        assert_int_equal(vindex_add(x, 100 - 20 + i, i, v, NULL), FS_OK);
    assert_int_equal(vindex_add(x, 5, 1, v, NULL), FS_ERR_ARG); /* out of order */
    store_hit *h;
    size_t nh;
    assert_int_equal(vindex_search(x, v, 5, 0.9f, NULL, 1, 1, &h, &nh, NULL), FS_OK);
    assert_int_equal(nh, 5);
    for (size_t i = 0; i < nh; i++)
        assert_int_equal(h[i].face_id, 80 + (int64_t)i);
    free(h);
    free(v);
    vindex_free(x);
}

/* The top 10 of q in x and in y: the same faces, in the same order, with the same scores. */
static void expect_same_hits(const vindex *x, const vindex *y, const float *q, int exact)
{
    store_hit *a, *b;
    size_t na, nb;
    assert_int_equal(vindex_search(x, q, 10, -1.0f, NULL, exact, 1, &a, &na, NULL), FS_OK);
    assert_int_equal(vindex_search(y, q, 10, -1.0f, NULL, exact, 1, &b, &nb, NULL), FS_OK);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].face_id, b[i].face_id);
        assert_true(a[i].similarity == b[i].similarity);
    }
    free(a);
    free(b);
}

/* A graph search re-ranks in fp32 only the candidates the int8 bounds cannot rule out (below
 * the threshold, or below k others). With a breadth that makes every face a candidate, its
 * answer must be the exact scan's: the same faces, order and scores, for any threshold and k. */
static void test_graph_bounds_exact(void **state)
{
    (void)state;
    const size_t n = 3000;
    float *v = make_vectors(n, 150, 6);
    vindex *x = index_of(v, n);
    vindex_set_graph_min(x, 1000);
    assert_int_equal(vindex_build_graph(x, 2, NULL), FS_OK);
    vindex_set_graph_params(x, 0, 0, (int)n);
    float thresholds[10] = {-1.0f, 0.2f, 0.5f, 0.8f, 0.95f};
    const size_t ks[] = {1, 10, 50};
    for (int qi = 0; qi < 20; qi++) {
        float *q = make_vectors(1, 0, 2000 + (uint64_t)qi);
        for (int d = 0; d < DIM; d++) /* near a face of identity qi */
            q[d] = v[(size_t)qi * 13 * DIM + (size_t)d] + 0.05f * q[d];
        normalise(q);
        /* and thresholds at the very scores of some hits: a face scoring exactly the threshold
         * is in, however its int8 score falls */
        store_hit *top;
        size_t ntop;
        assert_int_equal(vindex_search(x, q, 50, -1.0f, NULL, 1, 1, &top, &ntop, NULL), FS_OK);
        assert_int_equal(ntop, 50);
        for (int j = 0; j < 5; j++)
            thresholds[5 + j] = top[(size_t)(j * 12)].similarity;
        free(top);
        for (size_t t = 0; t < sizeof thresholds / sizeof thresholds[0]; t++)
            for (size_t kk = 0; kk < sizeof ks / sizeof ks[0]; kk++) {
                store_hit *e, *g;
                size_t ne, ng;
                assert_int_equal(vindex_search(x, q, ks[kk], thresholds[t], NULL, 1, 1, &e, &ne,
                                               NULL),
                                 FS_OK);
                assert_int_equal(vindex_search(x, q, ks[kk], thresholds[t], NULL, 0, 1, &g, &ng,
                                               NULL),
                                 FS_OK);
                assert_int_equal(ne, ng);
                for (size_t i = 0; i < ne; i++) {
                    assert_int_equal(e[i].face_id, g[i].face_id);
                    assert_true(e[i].similarity == g[i].similarity);
                }
                free(e);
                free(g);
            }
        free(q);
    }
    vindex_free(x);
    free(v);
}

static void test_graph_recall_and_file(void **state)
{
    (void)state;
    const size_t n = 6000;
    float *v = make_vectors(n, 300, 4);
    vindex *x = index_of(v, n);
    vindex_set_graph_min(x, 1000);
    assert_int_equal(vindex_build_graph(x, 2, NULL), FS_OK);
    assert_int_equal(vindex_graph_count(x), n);
    /* Faces added after the graph was built are found too (scanned). */
    float *extra = make_vectors(30, 0, 5);
    for (size_t i = 0; i < 30; i++)
        assert_int_equal(vindex_add(x, (int64_t)(n + i + 1), 9999, extra + i * DIM, NULL), FS_OK);
    store_hit *h;
    size_t nh, found = 0, total = 0;
    for (int qi = 0; qi < 50; qi++) {
        float *q = make_vectors(1, 0, 1000 + (uint64_t)qi);
        for (int d = 0; d < DIM; d++) /* near identity qi */
            q[d] = v[(size_t)qi * 7 * DIM + (size_t)d] + 0.02f * q[d];
        normalise(q);
        store_hit *e;
        size_t ne;
        assert_int_equal(vindex_search(x, q, 10, -1.0f, NULL, 1, 1, &e, &ne, NULL), FS_OK);
        assert_int_equal(vindex_search(x, q, 10, -1.0f, NULL, 0, 1, &h, &nh, NULL), FS_OK);
        for (size_t i = 0; i < ne; i++)
            for (size_t j = 0; j < nh; j++)
                found += e[i].face_id == h[j].face_id;
        total += ne;
        free(e);
        free(h);
        free(q);
    }
    assert_true((double)found / (double)total >= 0.98);
    /* The extra faces: a query equal to one of them finds it first. */
    assert_int_equal(vindex_search(x, extra + 3 * DIM, 1, -1.0f, NULL, 0, 1, &h, &nh, NULL), FS_OK);
    assert_int_equal(h[0].face_id, (int64_t)(n + 4));
    free(h);
    /* Save with the graph, load, same answers. */
    char dir[] = "/tmp/fs_vindex_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char vp[64], gp[64];
    snprintf(vp, sizeof vp, "%s/vectors.bin", dir);
    snprintf(gp, sizeof gp, "%s/vectors.hnsw", dir);
    assert_int_equal(vindex_save(x, vp, gp, 42, NULL), FS_OK);
    vindex *y;
    uint64_t gen;
    assert_int_equal(vindex_load(vp, gp, DIM, &y, &gen, NULL), FS_OK);
    assert_int_equal(gen, 42);
    assert_int_equal(vindex_graph_count(y), n);
    assert_int_equal(vindex_live(y), n + 30);
    expect_same_hits(x, y, v + 11 * DIM, 0);
    vindex_free(y);
    /* Mapped, as readers open it: the same answers (graph and exact), then it takes removals in
     * place and, on the first addition, copies itself into its own memory. */
    assert_int_equal(vindex_map(vp, gp, DIM, &y, &gen, NULL), FS_OK);
    assert_int_equal(gen, 42);
    assert_int_equal(vindex_graph_count(y), n);
    assert_int_equal(vindex_live(y), n + 30);
    expect_same_hits(x, y, v + 11 * DIM, 0);
    expect_same_hits(x, y, v + 11 * DIM, 1);
    for (int qi = 0; qi < 20; qi++) /* the mapped graph answers as the loaded one */
        expect_same_hits(x, y, v + (size_t)qi * 97 * DIM, 0);
    /* its graph is the file's, read-only: extending it is refused, and it is dropped */
    fs_error gerr;
    assert_int_equal(vindex_build_graph(y, 1, &gerr), FS_ERR_ARG);
    assert_non_null(strstr(gerr.message, "mapped for searches only"));
    assert_int_equal(vindex_graph_count(y), 0);
    expect_same_hits(x, y, v + 11 * DIM, 1);
    store_hit *h2;
    size_t nh2;
    assert_int_equal(vindex_remove(y, 13), 1); /* face 13 is v + 12 * DIM */
    assert_int_equal(vindex_add(y, (int64_t)(n + 100), 1, v + 12 * DIM, NULL), FS_OK);
    assert_int_equal(vindex_live(y), n + 30);
    assert_int_equal(vindex_search(y, v + 12 * DIM, 1, -1.0f, NULL, 1, 1, &h2, &nh2, NULL), FS_OK);
    assert_int_equal(h2[0].face_id, (int64_t)(n + 100));
    free(h2);
    vindex_free(y);
    /* the file itself was not touched by the reader's changes */
    assert_int_equal(vindex_load(vp, gp, DIM, &y, &gen, NULL), FS_OK);
    assert_int_equal(vindex_live(y), n + 30);
    assert_int_equal(vindex_max_id(y), (int64_t)(n + 30));
    vindex_free(y);
    assert_int_equal(vindex_map("/nonexistent/vectors.bin", gp, DIM, &y, &gen, NULL),
                     FS_ERR_NOT_FOUND);
    assert_int_equal(vindex_map(vp, gp, DIM + 1, &y, &gen, NULL), FS_ERR_FORMAT);
    /* A corrupt graph file is ignored (no graph), the vectors still load. */
    FILE *f = fopen(gp, "r+b");
    assert_non_null(f);
    fseek(f, 200, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    assert_int_equal(vindex_load(vp, gp, DIM, &y, &gen, NULL), FS_OK);
    assert_int_equal(vindex_graph_count(y), 0);
    vindex_free(y);
    assert_int_equal(vindex_map(vp, gp, DIM, &y, &gen, NULL), FS_OK); /* checked as mapped */
    assert_int_equal(vindex_graph_count(y), 0);
    vindex_free(y);
    /* An empty one (nothing to map) too. */
    assert_int_equal(truncate(gp, 0), 0);
    for (int mapped = 0; mapped < 2; mapped++) {
        assert_int_equal(mapped ? vindex_map(vp, gp, DIM, &y, &gen, NULL)
                                : vindex_load(vp, gp, DIM, &y, &gen, NULL), FS_OK);
        assert_int_equal(vindex_graph_count(y), 0);
        vindex_free(y);
    }
    /* Compaction drops the graph and the dead slots. */
    vindex_remove(x, 1);
    assert_int_equal(vindex_compact(x, NULL), FS_OK);
    assert_int_equal(vindex_graph_count(x), 0);
    assert_int_equal(vindex_slots(x), n + 29);
    unlink(vp);
    unlink(gp);
    rmdir(dir);
    free(extra);
    free(v);
    vindex_free(x);
}

/* ---- Files that pass their checksums but hold wrong values -------------------------------------
 * The checksums catch damage, not forgery (or a writer's bug): a file whose checksums were
 * recomputed over wrong values must be refused, never followed out of bounds. */

#define GRAPH_SEED 0x67726170ull   /* vindex.c: a graph file's checksum */
#define HEADER_SEED 0x68647200ull  /* vindex.c: the vector file's header checksum */
#define HNSW_HEADER 96             /* hnswlib's file header (hnsw_bridge.cpp: file_header) */

/* The whole content of a file (malloc'd), its size in *n. */
static char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    *n = (size_t)size;
    return buf;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* Header fields of vectors.bin (vindex.c: vfile_header): offsets. */
enum { H_SLOTS = 16, H_GRAPH_CHECKSUM = 40, H_HEADER_CHECKSUM = 56 };

static void reseal_header(char *h)
{
    uint64_t sum = vindex_checksum(h, H_HEADER_CHECKSUM, HEADER_SEED);
    memcpy(h + H_HEADER_CHECKSUM, &sum, 8);
}

/* Rewrites the graph file with one 4-byte value changed at offset `at`, and the vector file's
 * header with the new graph checksum, both resealed. */
static void forge_graph(const char *vp, const char *gp, const char *graph, size_t gsize,
                        size_t at, uint32_t value)
{
    char *g = malloc(gsize);
    assert_non_null(g);
    memcpy(g, graph, gsize);
    memcpy(g + at, &value, 4);
    write_file(gp, g, gsize);
    uint64_t gsum = vindex_checksum(g, gsize, GRAPH_SEED);
    size_t vn;
    char *vec = slurp(vp, &vn);
    memcpy(vec + H_GRAPH_CHECKSUM, &gsum, 8);
    reseal_header(vec);
    write_file(vp, vec, vn);
    free(vec);
    free(g);
}

static void test_forged_files_are_refused(void **state)
{
    (void)state;
    const size_t n = 1500;
    float *v = make_vectors(n, 100, 21);
    vindex *x = index_of(v, n);
    vindex_set_graph_min(x, 1000);
    assert_int_equal(vindex_build_graph(x, 2, NULL), FS_OK);
    char dir[] = "/tmp/fs_vforge_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char vp[64], gp[64];
    snprintf(vp, sizeof vp, "%s/vectors.bin", dir);
    snprintf(gp, sizeof gp, "%s/vectors.hnsw", dir);
    assert_int_equal(vindex_save(x, vp, gp, 7, NULL), FS_OK);
    size_t vn, gn;
    char *vec = slurp(vp, &vn), *graph = slurp(gp, &gn);
    vindex *y;
    uint64_t gen;
    assert_int_equal(vindex_map(vp, gp, DIM, &y, &gen, NULL), FS_OK);
    assert_int_equal(vindex_graph_count(y), n); /* the untouched pair: graph in use */
    vindex_free(y);

    /* A layer-0 record: hnswlib's link count (4 bytes), maxM0 = 2 M links, then the slot. Node
     * 0's first neighbour out of range, then node 5's slot past the vector file's slots: the
     * graph is dropped (searches scan), the vectors still serve, exactly. */
    size_t links0 = 4 + 4 * (2 * 24), record = links0 + 8 + 8;
    const struct {
        size_t at;
        uint32_t value;
    } forgeries[] = {{HNSW_HEADER + 4, 0x40000000u},
                     {HNSW_HEADER + 5 * record + links0 + 4, 1u}, /* slot 2^32 + its own */
                     {HNSW_HEADER + 3 * record, 2 * 24 + 1}};     /* a list longer than maxM0 */
    for (size_t i = 0; i < sizeof forgeries / sizeof forgeries[0]; i++) {
        write_file(vp, vec, vn);
        forge_graph(vp, gp, graph, gn, forgeries[i].at, forgeries[i].value);
        for (int mapped = 0; mapped < 2; mapped++) {
            fs_status rc = mapped ? vindex_map(vp, gp, DIM, &y, &gen, NULL)
                                  : vindex_load(vp, gp, DIM, &y, &gen, NULL);
            assert_int_equal(rc, FS_OK);
            assert_int_equal(vindex_graph_count(y), 0);
            expect_same_hits(x, y, v + 17 * DIM, 1);
            vindex_free(y);
        }
    }

    /* A slot count whose size wraps around 2^64 to a small file's: refused, not mapped. */
    const uint64_t slot_bytes = 8 + 8 + 1 + 12 + 5 * (uint64_t)DIM;
    uint64_t slots = UINT64_MAX / slot_bytes + 1;
    uint64_t wrapped = 64 + slots * slot_bytes + (8 - slots % 8) % 8; /* mod 2^64, by design */
    assert_true(wrapped < 1u << 20);
    char *forged = calloc(1, (size_t)wrapped);
    assert_non_null(forged);
    memcpy(forged, vec, 64);
    memcpy(forged + H_SLOTS, &slots, 8);
    reseal_header(forged);
    write_file(vp, forged, (size_t)wrapped);
    assert_int_equal(vindex_map(vp, gp, DIM, &y, &gen, NULL), FS_ERR_FORMAT);
    assert_int_equal(vindex_load(vp, gp, DIM, &y, &gen, NULL), FS_ERR_FORMAT);
    free(forged);

    /* A reader's save never replaces a vector file another process saved after the reader found
     * it missing or unusable; it does write one where it is still missing, and replaces one that
     * is still the same unusable file. */
    fs_error err;
    vindex *small = index_of(v, 10);
    vindex_file_id was;
    unlink(vp);
    vindex_identify(vp, &was); /* missing ... */
    write_file(vp, vec, vn);   /* ... then saved by the writer */
    assert_int_equal(vindex_save_rebuilt(small, vp, 3, &was, &err), FS_ERR_IO);
    assert_non_null(strstr(err.message, "saved by another process meanwhile"));
    write_file(vp, "junk", 4);
    vindex_identify(vp, &was); /* unusable ... */
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%s.new", vp);
    write_file(tmp, vec, vn);
    assert_int_equal(rename(tmp, vp), 0); /* ... then replaced by the writer's save */
    assert_int_equal(vindex_save_rebuilt(small, vp, 3, &was, &err), FS_ERR_IO);
    size_t now_n;
    char *now = slurp(vp, &now_n);
    assert_int_equal(now_n, vn);
    assert_memory_equal(now, vec, vn);
    free(now);
    write_file(vp, "junk", 4); /* unusable, and still so at the save: replaced */
    vindex_identify(vp, &was);
    assert_int_equal(vindex_save_rebuilt(small, vp, 3, &was, &err), FS_OK);
    assert_int_equal(vindex_load(vp, gp, DIM, &y, &gen, NULL), FS_OK);
    assert_int_equal(gen, 3);
    assert_int_equal(vindex_live(y), 10);
    vindex_free(y);
    unlink(vp);
    vindex_identify(vp, &was); /* missing, and still so: created */
    assert_int_equal(vindex_save_rebuilt(small, vp, 4, &was, &err), FS_OK);
    assert_int_equal(vindex_load(vp, gp, DIM, &y, &gen, NULL), FS_OK);
    assert_int_equal(gen, 4);
    vindex_free(y);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", vp, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary file left */
    vindex_free(small);

    unlink(vp);
    unlink(gp);
    rmdir(dir);
    free(vec);
    free(graph);
    free(v);
    vindex_free(x);
}

/* hnswlib writes its file through an unchecked ofstream: a graph saved where the disk is full
 * (/dev/full: every write fails with ENOSPC) must be reported as not saved. */
static void test_graph_save_on_full_disk(void **state)
{
    (void)state;
    enum { N = 200, D = 16 };
    static int8_t codes_data[N * D];
    static float scales_data[N];
    uint64_t seed = 5;
    for (size_t i = 0; i < N * D; i++)
        codes_data[i] = (int8_t)(next_u64(&seed) % 255 - 127);
    for (size_t i = 0; i < N; i++)
        scales_data[i] = 1.0f / 4000;
    int8_t *codes = codes_data;
    float *scales = scales_data;
    hnsw_codes src = {&codes, &scales, D};
    hnsw_graph *g = hnsw_new(&src, N, 8, 40);
    assert_non_null(g);
    assert_int_equal(hnsw_add_range(g, 0, N, 1), 0);
    struct stat full;
    if (stat("/dev/full", &full) == 0 && S_ISCHR(full.st_mode)) /* (a container may lack it) */
        assert_int_equal(hnsw_save(g, "/dev/full"), -1);
    else
        print_message("no /dev/full here: the full-disk case is not checked\n");
    char dir[] = "/tmp/fs_hsave_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/g.hnsw", dir);
    assert_int_equal(hnsw_save(g, path), 0); /* and where there is room, it is */
    hnsw_graph *back = hnsw_load(&src, path, N);
    assert_non_null(back);
    assert_int_equal(hnsw_count(back), N);
    hnsw_free(back);
    assert_null(hnsw_load(&src, path, N - 1)); /* slots beyond the vectors: refused */
    unlink(path);
    rmdir(dir);
    hnsw_free(g);
}

/* ---- Through the store: deletions, rebuilds ----------------------------------------------------
 */

static const char *const NAMES[] = {"rec.onnx"};
static const char *const SHAS[] = {"00"};

typedef struct fixture {
    char root[64];
    char dir[96];
    char vec[128];
    float *v;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/fs_store_vec_XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/idx", f->root);
    snprintf(f->vec, sizeof f->vec, "%s/vectors.bin", f->dir);
    f->v = make_vectors(700, 50, 7);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    if (system(cmd) != 0)
        return -1;
    free(f->v);
    free(f);
    return 0;
}

static store_db *open_store(fixture *f, unsigned flags)
{
    store_pack_id p = {"default", 1, NAMES, SHAS, DIM, NULL};
    store_db *store;
    fs_error err;
    if (store_open(f->dir, &p, flags, &store, &err) != FS_OK)
        fail_msg("%s", err.message);
    return store;
}

/* 200 files of 3 faces: file i holds vectors 3i..3i+2, under /lib/<i%4>/. */
static void fill(fixture *f, store_db *store, size_t from, size_t to)
{
    fs_error err;
    assert_int_equal(store_begin(store, &err), FS_OK);
    for (size_t i = from; i < to; i++) {
        store_face faces[3];
        memset(faces, 0, sizeof faces);
        for (int k = 0; k < 3; k++) {
            faces[k].face_index = k;
            faces[k].embedding = f->v + (i * 3 + (size_t)k) * DIM;
        }
        char path[64];
        snprintf(path, sizeof path, "/lib/%zu/%zu.jpg", i % 4, i);
        assert_int_equal(store_put_file(store, path, 1, 1, "", faces, 3, NULL, &err), FS_OK);
    }
    assert_int_equal(store_commit(store, &err), FS_OK);
}

static size_t search(store_db *store, const float *q, size_t k, const char *folder, store_hit **h)
{
    const char *folders[1] = {folder};
    store_query query = {q, k, -1.0f, folder ? folders : NULL, folder ? 1 : 0, 0, 1};
    size_t n;
    fs_error err;
    if (store_search(store, &query, h, &n, &err) != FS_OK)
        fail_msg("%s", err.message);
    return n;
}

static void test_store_search_and_delete(void **state)
{
    fixture *f = *state;
    store_db *st = open_store(f, FS_STORE_CREATE);
    fill(f, st, 0, 200);
    store_db *reader = open_store(f, FS_STORE_READ);
    store_hit *h;
    const float *q = f->v + 30 * DIM; /* face 0 of file 10 (/lib/2/10.jpg) */
    size_t n = search(reader, q, 5, NULL, &h);
    assert_int_equal(n, 5);
    int64_t best = h[0].face_id;
    assert_true(h[0].similarity > 0.999f);
    free(h);
    /* Restricted to a folder: only faces of files under it. */
    n = search(reader, q, 0, "/lib/1/", &h);
    assert_int_equal(n, 150);
    for (size_t i = 0; i < n; i++) {
        char *path;
        store_face face;
        int found;
        assert_int_equal(store_face_by_id(reader, h[i].face_id, &face, NULL, &path, &found, NULL),
                         FS_OK);
        assert_int_equal(strncmp(path, "/lib/1/", 7), 0);
        free(path);
    }
    free(h);
    /* The writer deletes the file: the reader's next search no longer finds its faces. */
    assert_int_equal(store_remove_path(st, "/lib/2/10.jpg", NULL, NULL), FS_OK);
    n = search(reader, q, 5, NULL, &h);
    for (size_t i = 0; i < n; i++)
        assert_true(h[i].face_id != best);
    free(h);
    /* And new faces appear. */
    fill(f, st, 200, 201);
    n = search(reader, f->v + 600 * DIM, 1, NULL, &h);
    assert_int_equal(n, 1);
    assert_true(h[0].similarity > 0.999f);
    store_file file;
    int found;
    assert_int_equal(store_file_by_path(reader, "/lib/0/200.jpg", &file, &found, NULL), FS_OK);
    store_face face;
    assert_int_equal(store_face_by_id(reader, h[0].face_id, &face, NULL, NULL, &found, NULL),
                     FS_OK);
    assert_int_equal(face.file_id, file.id);
    free(h);
    /* The folder filter a reader keeps between searches follows the writer: a new file under
     * the folder is found, one removed is not, another folder is another filter. */
    assert_int_equal(search(reader, q, 0, "/lib/0", &h), 153);
    free(h);
    assert_int_equal(search(reader, q, 0, "/lib/0", &h), 153);
    free(h);
    fill(f, st, 204, 205);                   /* /lib/0/204.jpg */
    assert_int_equal(search(reader, q, 0, "/lib/0", &h), 156);
    free(h);
    assert_int_equal(store_remove_path(st, "/lib/0/204.jpg", NULL, NULL), FS_OK);
    assert_int_equal(search(reader, q, 0, "/lib/0", &h), 153);
    free(h);
    assert_int_equal(search(reader, q, 0, "/lib/3", &h), 150);
    free(h);
    assert_int_equal(store_sync_vectors(st, NULL), FS_OK);
    store_close(reader);
    store_close(st);
}

/* The faces found for a few queries, from a fresh reader. */
static void expect_rebuilt(fixture *f, size_t live)
{
    store_db *store = open_store(f, FS_STORE_READ);
    store_hit *h;
    size_t n = search(store, f->v, 0, NULL, &h);
    assert_int_equal(n, live);
    free(h);
    store_close(store);
    /* The reader saved a good file again. */
    struct stat sb;
    assert_int_equal(stat(f->vec, &sb), 0);
}

static void test_vector_file_repair(void **state)
{
    fixture *f = *state;
    store_db *store = open_store(f, FS_STORE_CREATE);
    fill(f, store, 0, 100);
    assert_int_equal(store_sync_vectors(store, NULL), FS_OK);
    store_close(store);
    struct stat sb;
    assert_int_equal(stat(f->vec, &sb), 0);
    off_t full = sb.st_size;
    /* Missing. */
    unlink(f->vec);
    expect_rebuilt(f, 300);
    /* Truncated. */
    assert_int_equal(truncate(f->vec, full / 2), 0);
    expect_rebuilt(f, 300);
    /* A flipped byte in the vectors: readers map the file without verifying its payload (they
     * still find every face); the writer's next sync verifies it and writes it again. */
    int fd = open(f->vec, O_RDWR);
    assert_true(fd >= 0);
    char byte, flipped, now;
    assert_int_equal(pread(fd, &byte, 1, full - 100), 1);
    flipped = (char)(byte ^ 0x40);
    assert_int_equal(pwrite(fd, &flipped, 1, full - 100), 1);
    close(fd);
    expect_rebuilt(f, 300);
    fd = open(f->vec, O_RDONLY);
    assert_int_equal(pread(fd, &now, 1, full - 100), 1);
    close(fd);
    assert_int_equal(now, flipped); /* a reader does not rewrite a file whose header is current */
    store = open_store(f, FS_STORE_WRITE);
    assert_int_equal(store_sync_vectors(store, NULL), FS_OK);
    store_close(store);
    fd = open(f->vec, O_RDONLY);
    assert_int_equal(pread(fd, &now, 1, full - 100), 1);
    close(fd);
    assert_int_equal(now, byte);
    /* Garbage header. */
    fd = open(f->vec, O_RDWR);
    assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
    close(fd);
    expect_rebuilt(f, 300);
    /* Stale: written, then SQLite moved on (as after kill -9 before the vector write). */
    store = open_store(f, FS_STORE_WRITE);
    assert_int_equal(store_sync_vectors(store, NULL), FS_OK);
    store_close(store);
    store = open_store(f, FS_STORE_WRITE);
    fill(f, store, 100, 120);
    assert_int_equal(store_remove_folder(store, "/lib/0", NULL, NULL), FS_OK);
    store_close(store);
    expect_rebuilt(f, 360 - 30 * 3);
    /* Synced again after removals: tombstones pruned, a fresh reader still agrees. */
    store = open_store(f, FS_STORE_WRITE);
    assert_int_equal(store_remove_folder(store, "/lib/1", NULL, NULL), FS_OK);
    assert_int_equal(store_sync_vectors(store, NULL), FS_OK);
    store_close(store);
    expect_rebuilt(f, 360 - 60 * 3);
}

/* A reader whose database is older than the vector file beside it (the writer committed and
 * saved after the reader's snapshot) answers from its own database and never writes over the
 * newer file or removes the search graph beside it. Made here by giving a copy of an older
 * index the newer vector file and a graph file. */
static void test_reader_never_clobbers(void **state)
{
    fixture *f = *state;
    store_db *store = open_store(f, FS_STORE_CREATE);
    fill(f, store, 0, 100);
    assert_int_equal(store_sync_vectors(store, NULL), FS_OK);
    store_close(store);
    char old[80], cmd[700], path[400];
    snprintf(old, sizeof old, "%.60s/old", f->root);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", f->dir, old);
    assert_int_equal(system(cmd), 0);
    store = open_store(f, FS_STORE_WRITE);
    fill(f, store, 100, 150);
    assert_int_equal(store_sync_vectors(store, NULL), FS_OK);
    store_close(store);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/vectors.bin' && printf graph > '%s/vectors.hnsw'",
             f->vec, old, old);
    assert_int_equal(system(cmd), 0);
    size_t newer_size;
    char *newer = slurp(f->vec, &newer_size);

    char dir[sizeof f->dir];
    memcpy(dir, f->dir, sizeof dir);
    snprintf(f->dir, sizeof f->dir, "%s", old);
    store_db *reader = open_store(f, FS_STORE_READ);
    store_hit *h;
    assert_int_equal(search(reader, f->v, 0, NULL, &h), 300); /* its database: 100 files */
    free(h);
    store_close(reader);
    memcpy(f->dir, dir, sizeof dir);

    size_t n;
    snprintf(path, sizeof path, "%s/vectors.bin", old);
    char *now = slurp(path, &n);
    assert_int_equal(n, newer_size);
    assert_memory_equal(now, newer, n);
    free(now);
    snprintf(path, sizeof path, "%s/vectors.hnsw", old);
    now = slurp(path, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(now, "graph", 5);
    free(now);
    free(newer);
}

/* A reader that caught up with a writer's run in its own memory maps the vector file again once
 * the writer has saved it at the database's generation: its searches then share the file's pages
 * (a server's readers do not keep a private copy of every vector after an index run). */
static void test_reader_maps_the_saved_file(void **state)
{
    fixture *f = *state;
    store_db *st = open_store(f, FS_STORE_CREATE);
    fill(f, st, 0, 100);
    assert_int_equal(store_sync_vectors(st, NULL), FS_OK);
    store_db *reader = open_store(f, FS_STORE_READ);
    store_hit *h;
    assert_int_equal(search(reader, f->v, 0, NULL, &h), 300);
    free(h);
    assert_int_equal(store_vectors_mapped(reader), 1);
    fill(f, st, 100, 120); /* committed, not yet saved: caught up in the reader's own memory */
    assert_int_equal(search(reader, f->v, 0, NULL, &h), 360);
    free(h);
    assert_int_equal(store_vectors_mapped(reader), 0);
    assert_int_equal(store_sync_vectors(st, NULL), FS_OK);
    assert_int_equal(search(reader, f->v, 0, NULL, &h), 360);
    free(h);
    assert_int_equal(store_vectors_mapped(reader), 1);
    /* removals after the save: caught up in the mapping (marked in its private pages) */
    assert_int_equal(store_remove_path(st, "/lib/0/0.jpg", NULL, NULL), FS_OK);
    assert_int_equal(search(reader, f->v, 0, NULL, &h), 357);
    free(h);
    assert_int_equal(store_vectors_mapped(reader), 1);
    store_close(reader);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_exact_random),
        cmocka_unit_test(test_scan_exact_clustered),
        cmocka_unit_test(test_duplicates_tie_by_id),
        cmocka_unit_test(test_graph_bounds_exact),
        cmocka_unit_test(test_graph_recall_and_file),
        cmocka_unit_test(test_forged_files_are_refused),
        cmocka_unit_test(test_graph_save_on_full_disk),
        cmocka_unit_test_setup_teardown(test_store_search_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vector_file_repair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_never_clobbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_maps_the_saved_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
