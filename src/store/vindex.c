/*
 * vindex.c — the vector index: slots of (face id, file id, fp32 vector, int8 code), exact search
 * by a compact int8 scan with provable error bounds and fp32 re-ranking, an optional HNSW graph
 * for large libraries, and the vectors.bin file format.
 *
 * Why this design (numbers from bench/search_scale on this 2-core AMD EPYC, AVX2, 300 queries):
 *   - fp32 exhaustive scan, 1M x 512: 122 ms p50 (memory bound: 2 GB per query).
 *   - int8 scan (512 B per face, 4x less memory traffic) + fp32 re-rank of the few candidates the
 *     error bounds cannot rule out: exact, ~3.4x faster; p99 on 1 thread 4.6 ms at 100k faces,
 *     10.4 at 200k, 19 at 400k, 47 at 1M (2 threads: 3.9 / 7.0 / - / 32). Below
 *     FS_VINDEX_GRAPH_MIN faces (vindex.h) the scan is used and no graph is kept.
 *   - Above that, an HNSW graph (hnswlib, M=24, efConstruction=120) over the int8 codes, searched
 *     (our own layer-0 search with prefetching, hnsw_bridge.cpp) with ef=max(600, 4k) and
 *     re-ranked in fp32. Its nodes hold slot numbers, not vectors: ~225 B/face on top of the
 *     2048 (fp32) + 512 (int8) + 29 bytes of the slot, 2813 B/face in all. At 100k: 2.4 ms p50,
 *     2.8 ms p99, recall@10 0.993 (M=16 needed ef=800 and 2.9 ms p50 for 0.991). At 1M the same
 *     graph (built in 28 min on 2 cores) reaches only recall@10 0.93 at 5.3 ms p50 / 9.1 ms p99
 *     (0.968 at ef=1600, 11 ms): the misses are, it seems, the ~12% of the exact top 10 that are
 *     other identities at cosine ~0.2 (identities with < 10 faces), not same-person matches.
 *   - The scan stays the exact path (exact = 1, unlimited k, selective folder filters), and the
 *     graph is never needed for correctness: without it every search is a scan.
 *
 * Exactness of the int8 scan: with x^ = s_x*code_x the dequantised vector and e_x = |x - x^|,
 * |q.x - q^.x^| <= e_q*|x| + |q^|*e_x (Cauchy-Schwarz). A face can be in the fp32 top k only if
 * its upper bound reaches the k-th largest lower bound, so the fp32 re-rank of exactly those
 * candidates gives the same faces, scores and order as an fp32 brute force.
 *
 * vectors.bin (little-endian): a 64-byte header {magic "FSVECT01", u32 version, u32 dim,
 * u64 slots, u64 generation, u64 graph_count, u64 graph_checksum, u64 payload_checksum,
 * u64 header_checksum} then the arrays ids[i64], file_ids[i64], dead[u8, padded to 8],
 * scales[f32], qerr[f32], norms[f32], codes[i8 x dim], vectors[f32 x dim].
 */
#include "store/vindex.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/hnsw_bridge.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/vec.h"

#define VFILE_MAGIC "FSVECT01"
#define VFILE_VERSION 1u
#define VFILE_HEADER 64
#define GRAPH_M 24
#define GRAPH_EF_CONSTRUCTION 120
/* The search breadth for k <= 50 (larger k: 4 k). Measured at 1M faces (bench/search_scale.sh,
 * 300 queries, M 24, efC 120) on identities spread like the default pack's embeddings (impostor
 * sd 0.09: --subspace 64): ef 100 recall@10 0.998, p99 1.3 ms; ef 200 0.999, p99 2.2 ms; ef 400
 * 0.9997, p99 5.1 ms. On the worst case of identities uniform on the sphere, ef 200 finds 0.96 of
 * the neighbours above cosine 0.3 (ef 400: 0.986, p99 6.2 ms). */
#define GRAPH_EF_SEARCH 200
#define GRAPH_K_MAX 1000
/* fp32 rounding of the scores themselves, on top of the quantisation bounds. */
#define SCORE_SLACK 2e-4f

struct vindex {
    int dim;
    size_t n, cap, live;
    int64_t *ids;
    int64_t *file_ids;
    uint8_t *dead;
    float *scales;   /* code -> vector: x^ = scale * code */
    float *qerr;     /* |x - x^| */
    float *norms;    /* |x| */
    int8_t *codes;
    float *vecs;
    size_t graph_min;        /* build a graph from this many live faces */
    int graph_m, graph_efc;  /* GRAPH_M, GRAPH_EF_CONSTRUCTION unless overridden */
    size_t graph_ef;         /* GRAPH_EF_SEARCH unless overridden */
    hnsw_graph *graph;
    hnsw_codes graph_src; /* points at codes / scales above */
    /* vindex_map: the arrays above point into this private mapping of the vector file until
     * the index first grows (then they are copied into memory of its own, see own_arrays). */
    void *map;
    size_t map_size;
};

/* ---- Arithmetic --------------------------------------------------------------------------------
 */

static inline int32_t code_dot(const int8_t *a, const int8_t *b, size_t dim)
{
    return util_code_dot(a, b, dim);
}

/* Symmetric int8 quantisation of x: code, scale, |x - x^| and |x|. */
static void quantise(const float *x, size_t dim, int8_t *code, float *scale, float *qerr,
                     float *norm)
{
    float m = 0.0f;
    for (size_t i = 0; i < dim; i++)
        m = fmaxf(m, fabsf(x[i]));
    float s = m > 0.0f ? m / 127.0f : 1.0f;
    double e = 0.0, nn = 0.0;
    for (size_t i = 0; i < dim; i++) {
        float c = nearbyintf(x[i] / s);
        c = fminf(127.0f, fmaxf(-127.0f, c));
        code[i] = (int8_t)c;
        double d = (double)x[i] - (double)s * c;
        e += d * d;
        nn += (double)x[i] * x[i];
    }
    *scale = s;
    /* Rounded up a little so that the bound stays a bound after float rounding. */
    *qerr = (float)sqrt(e) * 1.0001f + 1e-7f;
    *norm = (float)sqrt(nn) * 1.0001f;
}

/* ---- Life cycle -------------------------------------------------------------------------------
 */

vindex *vindex_new(int dim)
{
    if (dim < 1 || dim > FS_STORE_DIM_MAX)
        return NULL;
    vindex *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->dim = dim;
    v->graph_min = FS_VINDEX_GRAPH_MIN;
    v->graph_m = GRAPH_M;
    v->graph_efc = GRAPH_EF_CONSTRUCTION;
    v->graph_ef = GRAPH_EF_SEARCH;
    v->graph_src.codes = &v->codes;
    v->graph_src.scales = &v->scales;
    v->graph_src.dim = dim;
    return v;
}

void vindex_free(vindex *v)
{
    if (!v)
        return;
    if (v->graph)
        hnsw_free(v->graph);
    if (v->map) {
        munmap(v->map, v->map_size);
        free(v);
        return;
    }
    free(v->ids);
    free(v->file_ids);
    free(v->dead);
    free(v->scales);
    free(v->qerr);
    free(v->norms);
    free(v->codes);
    free(v->vecs);
    free(v);
}

/* Grows one array to cap elements of size bytes; 0 or -1 (array untouched). */
static int grow(void **p, size_t cap, size_t size)
{
    if (cap > SIZE_MAX / size)
        return -1;
    void *q = realloc(*p, cap * size);
    if (!q)
        return -1;
    *p = q;
    return 0;
}

/* A mapped index (vindex_map) gets arrays of its own for cap slots, holding its n slots. */
static fs_status own_arrays(vindex *v, size_t cap, fs_error *err)
{
    size_t d = (size_t)v->dim;
    vindex o = *v;
    o.ids = NULL, o.file_ids = NULL, o.dead = NULL, o.scales = NULL, o.qerr = NULL;
    o.norms = NULL, o.codes = NULL, o.vecs = NULL;
    if (cap < v->n)
        cap = v->n;
    if (cap == 0)
        cap = 1;
    if (grow((void **)&o.ids, cap, sizeof *o.ids) || grow((void **)&o.file_ids, cap, 8) ||
        grow((void **)&o.dead, cap, 1) || grow((void **)&o.scales, cap, sizeof(float)) ||
        grow((void **)&o.qerr, cap, sizeof(float)) || grow((void **)&o.norms, cap, sizeof(float)) ||
        cap > SIZE_MAX / d || grow((void **)&o.codes, cap * d, 1) ||
        grow((void **)&o.vecs, cap * d, sizeof(float))) {
        free(o.ids), free(o.file_ids), free(o.dead), free(o.scales), free(o.qerr);
        free(o.norms), free(o.codes), free(o.vecs);
        return util_fail(err, FS_ERR_NOMEM, "out of memory for %zu face vectors", cap);
    }
    size_t n = v->n;
    memcpy(o.ids, v->ids, n * 8);
    memcpy(o.file_ids, v->file_ids, n * 8);
    memcpy(o.dead, v->dead, n);
    memcpy(o.scales, v->scales, n * sizeof(float));
    memcpy(o.qerr, v->qerr, n * sizeof(float));
    memcpy(o.norms, v->norms, n * sizeof(float));
    memcpy(o.codes, v->codes, n * d);
    memcpy(o.vecs, v->vecs, n * d * sizeof(float));
    munmap(v->map, v->map_size);
    v->ids = o.ids, v->file_ids = o.file_ids, v->dead = o.dead, v->scales = o.scales;
    v->qerr = o.qerr, v->norms = o.norms, v->codes = o.codes, v->vecs = o.vecs;
    v->map = NULL;
    v->map_size = 0;
    v->cap = cap;
    return FS_OK;
}

fs_status vindex_reserve(vindex *v, size_t n, fs_error *err)
{
    if (v->map)
        return own_arrays(v, n, err);
    if (n <= v->cap)
        return FS_OK;
    size_t d = (size_t)v->dim;
    /* Each array grows independently; a failure leaves the grown ones larger, which is harmless
     * (cap is only raised once all succeeded). */
    if (grow((void **)&v->ids, n, sizeof *v->ids) ||
        grow((void **)&v->file_ids, n, sizeof *v->file_ids) || grow((void **)&v->dead, n, 1) ||
        grow((void **)&v->scales, n, sizeof(float)) || grow((void **)&v->qerr, n, sizeof(float)) ||
        grow((void **)&v->norms, n, sizeof(float)) || n > SIZE_MAX / d ||
        grow((void **)&v->codes, n * d, 1) || grow((void **)&v->vecs, n * d, sizeof(float)))
        return util_fail(err, FS_ERR_NOMEM, "out of memory for %zu face vectors", n);
    v->cap = n;
    return FS_OK;
}

fs_status vindex_add(vindex *v, int64_t face_id, int64_t file_id, const float *vec,
                     fs_error *err)
{
    if (v->n > 0 && face_id <= v->ids[v->n - 1])
        return util_fail(err, FS_ERR_ARG, "face id %lld added out of order", (long long)face_id);
    if (v->n == v->cap) {
        fs_status rc = vindex_reserve(v, v->cap < 1024 ? 1024 : v->cap + v->cap / 2, err);
        if (rc != FS_OK)
            return rc;
    }
    assert(v->n < v->cap && v->live <= v->n);
    size_t i = v->n, d = (size_t)v->dim;
    v->ids[i] = face_id;
    v->file_ids[i] = file_id;
    v->dead[i] = 0;
    memcpy(v->vecs + i * d, vec, d * sizeof(float));
    quantise(vec, d, v->codes + i * d, &v->scales[i], &v->qerr[i], &v->norms[i]);
    v->n++;
    v->live++;
    return FS_OK;
}

static size_t find_slot(const vindex *v, int64_t face_id)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->ids[mid] < face_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->n && v->ids[lo] == face_id ? lo : SIZE_MAX;
}

int vindex_remove(vindex *v, int64_t face_id)
{
    size_t i = find_slot(v, face_id);
    if (i == SIZE_MAX || v->dead[i])
        return 0;
    v->dead[i] = 1;
    v->live--;
    return 1;
}

size_t vindex_live(const vindex *v) { return v->live; }
void vindex_set_graph_min(vindex *v, size_t n) { v->graph_min = n; }

void vindex_set_graph_params(vindex *v, int m, int ef_construction, int ef_search)
{
    v->graph_m = m > 0 ? m : GRAPH_M;
    v->graph_efc = ef_construction > 0 ? ef_construction : GRAPH_EF_CONSTRUCTION;
    v->graph_ef = ef_search > 0 ? (size_t)ef_search : GRAPH_EF_SEARCH;
}

void vindex_graph_params(const vindex *v, int *m, int *ef_construction, int *ef_search)
{
    *m = v->graph_m;
    *ef_construction = v->graph_efc;
    *ef_search = (int)v->graph_ef;
}

size_t vindex_memory(const vindex *v)
{
    size_t per_slot = 8 + 8 + 1 + 3 * sizeof(float) + (size_t)v->dim * (1 + sizeof(float));
    return v->cap * per_slot + (v->graph ? hnsw_memory(v->graph) : 0);
}
int vindex_mapped(const vindex *v) { return v->map != NULL; }
size_t vindex_slots(const vindex *v) { return v->n; }
size_t vindex_graph_count(const vindex *v) { return v->graph ? hnsw_count(v->graph) : 0; }
int64_t vindex_max_id(const vindex *v) { return v->n ? v->ids[v->n - 1] : 0; }

void vindex_each(const vindex *v,
                 int (*visit)(int64_t face_id, int64_t file_id, const float *vec, void *ctx),
                 void *ctx)
{
    for (size_t i = 0; i < v->n; i++)
        if (!v->dead[i] && visit(v->ids[i], v->file_ids[i], v->vecs + i * (size_t)v->dim, ctx))
            return;
}

fs_status vindex_compact(vindex *v, fs_error *err)
{
    (void)err; /* compaction moves slots down in place: it cannot fail */
    size_t d = (size_t)v->dim, o = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (v->dead[i])
            continue;
        if (o != i) {
            v->ids[o] = v->ids[i];
            v->file_ids[o] = v->file_ids[i];
            v->dead[o] = 0;
            v->scales[o] = v->scales[i];
            v->qerr[o] = v->qerr[i];
            v->norms[o] = v->norms[i];
            memmove(v->codes + o * d, v->codes + i * d, d);
            memmove(v->vecs + o * d, v->vecs + i * d, d * sizeof(float));
        }
        o++;
    }
    if (o != v->n && v->graph) {
        hnsw_free(v->graph);
        v->graph = NULL;
    }
    v->n = o;
    v->live = o;
    return FS_OK;
}

fs_status vindex_build_graph(vindex *v, int threads, fs_error *err)
{
    if (v->graph && hnsw_mapped(v->graph)) {
        hnsw_free(v->graph);
        v->graph = NULL;
        return util_fail(err, FS_ERR_ARG,
                         "the search graph is mapped for searches only (load the index to extend"
                         " it)");
    }
    if (!v->graph) {
        if (v->live < v->graph_min || v->live == 0)
            return FS_OK;
        if (!(v->graph = hnsw_new(&v->graph_src, v->n, v->graph_m, v->graph_efc)))
            return util_fail(err, FS_ERR_NOMEM, "out of memory for the search graph");
    }
    size_t have = hnsw_count(v->graph);
    if (hnsw_add_range(v->graph, have, v->n, threads) != 0) {
        hnsw_free(v->graph);
        v->graph = NULL;
        return util_fail(err, FS_ERR_NOMEM, "out of memory while building the search graph");
    }
    return FS_OK;
}

/* ---- Search -------------------------------------------------------------------------------------
 */

static inline int allowed(const vindex *v, const vindex_filter *f, size_t i)
{
    if (v->dead[i])
        return 0;
    if (!f)
        return 1;
    int64_t id = v->file_ids[i];
    return id >= 0 && id < f->nbits && (f->file_bits[id / 8] >> (id % 8)) & 1;
}

size_t vindex_filter_count(const vindex *v, const vindex_filter *filter)
{
    size_t kept = 0;
    for (size_t i = 0; i < v->n; i++)
        kept += (size_t)allowed(v, filter, i);
    return kept;
}

static int hit_order(const void *pa, const void *pb)
{
    const store_hit *a = pa, *b = pb;
    if (a->similarity != b->similarity)
        return a->similarity > b->similarity ? -1 : 1;
    return a->face_id < b->face_id ? -1 : a->face_id > b->face_id;
}

/* Min-heap of floats (the k largest values seen; heap[0] is the smallest of them). */
static void heap_push(float *h, size_t *n, size_t k, float x)
{
    size_t i;
    if (*n < k) {
        i = (*n)++;
        while (i > 0 && h[(i - 1) / 2] > x) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = x;
        return;
    }
    if (x <= h[0])
        return;
    i = 0; /* replace the root and sift down */
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= k)
            break;
        if (c + 1 < k && h[c + 1] < h[c])
            c++;
        if (h[c] >= x)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

/* Scores the candidate slots in fp32, keeps those >= threshold, sorts, truncates to k. Takes
 * ownership of nothing; *hits is malloc'd. */
static fs_status rerank(const vindex *v, const float *q, const size_t *cand, size_t nc,
                        size_t k, float threshold, store_hit **hits, size_t *n, fs_error *err)
{
    size_t d = (size_t)v->dim, m = 0;
    store_hit *h = nc ? malloc(nc * sizeof *h) : NULL;
    if (nc && !h)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < nc; c++) {
        size_t i = cand[c];
        float s = util_vec_dot(q, v->vecs + i * d, d);
        if (s >= threshold) {
            h[m].face_id = v->ids[i];
            h[m].similarity = s;
            m++;
        }
    }
    if (m > 1)
        qsort(h, m, sizeof *h, hit_order);
    if (k && m > k)
        m = k;
    if (m == 0) {
        free(h);
        h = NULL;
    }
    *hits = h;
    *n = m;
    return FS_OK;
}

/* The exact path: int8 scan with bounds, then fp32 re-rank of the candidates. */
static fs_status search_scan(const vindex *v, const float *q, const int8_t *qcode, float qscale,
                             float qerr, float qnorm_hat, size_t k, float threshold,
                             const vindex_filter *f, int threads, store_hit **hits,
                             size_t *n, fs_error *err)
{
    size_t d = (size_t)v->dim, nn = v->n;
    float *approx = malloc((nn ? nn : 1) * sizeof *approx);
    float *heap = k ? malloc(k * sizeof *heap) : NULL;
    size_t *cand = NULL;
    fs_status rc = FS_OK;
    if (!approx || (k && !heap)) {
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        goto done;
    }
    (void)threads;
#pragma omp parallel for num_threads(threads > 1 ? threads : 1) schedule(static)
    for (size_t i = 0; i < nn; i++) {
        if (allowed(v, f, i))
            approx[i] = qscale * v->scales[i] * (float)code_dot(qcode, v->codes + i * d, d);
        else
            approx[i] = -INFINITY;
    }
    /* bound_i = e_q*|x_i| + |q^|*e_x_i + slack */
    float cut = threshold;
    if (k) {
        size_t hn = 0;
        for (size_t i = 0; i < nn; i++)
            if (approx[i] != -INFINITY)
                heap_push(heap, &hn, k,
                          approx[i] - (qerr * v->norms[i] + qnorm_hat * v->qerr[i] + SCORE_SLACK));
        if (hn == k && heap[0] > cut)
            cut = heap[0];
    }
    size_t nc = 0, cc = 0;
    for (size_t i = 0; i < nn; i++) {
        if (approx[i] == -INFINITY ||
            approx[i] + qerr * v->norms[i] + qnorm_hat * v->qerr[i] + SCORE_SLACK < cut)
            continue;
        size_t *grown = util_grow(cand, &cc, nc + 1, sizeof *grown, 256);
        if (!grown) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            goto done;
        }
        cand = grown;
        cand[nc++] = i;
    }
    rc = rerank(v, q, cand, nc, k, threshold, hits, n, err);
done:
    free(approx);
    free(heap);
    free(cand);
    return rc;
}

/* The query's int8 code and its error bounds (vindex_search). */
typedef struct qcoded {
    const int8_t *code;
    float scale, err, norm_hat; /* e_q, |q^| */
} qcoded;

/* Drops the candidates whose fp32 score cannot make the result of rerank(k, threshold): those
 * whose upper bound (int8 score + error bounds, as the scan's) is below the threshold, or below
 * the k-th largest lower bound of the candidates (k others score above them). What is left
 * re-ranks to the same hits, without reading the fp32 vectors of the rest (2 KB each, most of
 * them far below any threshold). cand is compacted in place. */
static fs_status bound_candidates(const vindex *v, const qcoded *qc, size_t k, float threshold,
                                  size_t *cand, size_t *nc, fs_error *err)
{
    size_t d = (size_t)v->dim, m = *nc;
    float *score = malloc((m ? m : 1) * sizeof *score);
    float *heap = k ? malloc(k * sizeof *heap) : NULL;
    if (!score || (k && !heap)) {
        free(score);
        free(heap);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    size_t hn = 0;
    for (size_t c = 0; c < m; c++) {
        size_t i = cand[c];
        score[c] = qc->scale * v->scales[i] * (float)code_dot(qc->code, v->codes + i * d, d);
        if (k)
            heap_push(heap, &hn, k,
                      score[c] - (qc->err * v->norms[i] + qc->norm_hat * v->qerr[i] +
                                  SCORE_SLACK));
    }
    float cut = threshold;
    if (k && hn == k && heap[0] > cut)
        cut = heap[0];
    size_t kept = 0;
    for (size_t c = 0; c < m; c++) {
        size_t i = cand[c];
        if (score[c] + qc->err * v->norms[i] + qc->norm_hat * v->qerr[i] + SCORE_SLACK >= cut)
            cand[kept++] = i;
    }
    *nc = kept;
    free(score);
    free(heap);
    return FS_OK;
}

/* The graph path: HNSW over the codes for the first graph_count slots, an exact look at the
 * slots added since, fp32 re-rank of those found that the bounds do not rule out. */
static fs_status search_graph(const vindex *v, const float *q, const qcoded *qc, size_t k,
                              float threshold, const vindex_filter *f, double keep_fraction,
                              store_hit **hits, size_t *n, fs_error *err)
{
    const int8_t *qcode = qc->code;
    float qscale = qc->scale;
    size_t gc = hnsw_count(v->graph);
    size_t want = (size_t)((double)(k * 4 > v->graph_ef ? k * 4 : v->graph_ef) / keep_fraction);
    if (want > gc)
        want = gc;
    size_t extra = v->n - gc;
    uint64_t *slots = malloc((want + 1) * sizeof *slots);
    size_t *cand = malloc((want + extra + 1) * sizeof *cand);
    fs_status rc = FS_OK;
    if (!slots || !cand) {
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t got = 0, nc = 0;
    if (hnsw_search(v->graph, qcode, qscale, want, want, slots, &got) != 0) {
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory in the search graph");
        goto done;
    }
    for (size_t i = 0; i < got; i++)
        if (slots[i] < v->n && allowed(v, f, (size_t)slots[i]))
            cand[nc++] = (size_t)slots[i];
    for (size_t i = gc; i < v->n; i++)
        if (allowed(v, f, i))
            cand[nc++] = i;
    rc = bound_candidates(v, qc, k, threshold, cand, &nc, err);
    if (rc == FS_OK)
        rc = rerank(v, q, cand, nc, k, threshold, hits, n, err);
done:
    free(slots);
    free(cand);
    return rc;
}

fs_status vindex_search(const vindex *v, const float *q, size_t k, float threshold,
                        const vindex_filter *filter, int exact, int threads,
                        store_hit **hits, size_t *n, fs_error *err)
{
    *hits = NULL;
    *n = 0;
    size_t d = (size_t)v->dim;
    if (v->live == 0)
        return FS_OK;
    int8_t *qcode = malloc(d);
    if (!qcode)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    float qscale, qerr, qnorm;
    quantise(q, d, qcode, &qscale, &qerr, &qnorm);
    /* |q^| <= |q| + e_q */
    float qnorm_hat = qnorm + qerr;

    double keep = 1.0;
    int use_graph = !exact && v->graph && k > 0 && k <= GRAPH_K_MAX;
    if (use_graph && filter) {
        size_t kept = filter->kept ? filter->kept : vindex_filter_count(v, filter);
        keep = (double)kept / (double)v->n;
        /* A selective filter leaves too few faces for the graph to find: scan them exactly. */
        if (keep < 0.3)
            use_graph = 0;
    }
    qcoded qc = {qcode, qscale, qerr, qnorm_hat};
    fs_status rc = use_graph
        ? search_graph(v, q, &qc, k, threshold, filter, keep, hits, n, err)
        : search_scan(v, q, qcode, qscale, qerr, qnorm_hat, k, threshold, filter, threads, hits,
                      n, err);
    free(qcode);
    return rc;
}

/* ---- File --------------------------------------------------------------------------------------
 */

static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* vindex_checksum in steps: checksum_start, checksum_blocks over whole 32-byte blocks (any
 * number of calls), checksum_end over the last size % 32 bytes. */
static const uint64_t CK_P1 = 0x9E3779B185EBCA87ull, CK_P2 = 0xC2B2AE3D27D4EB4Full;

static void checksum_start(uint64_t h[4], uint64_t seed)
{
    h[0] = seed + CK_P1, h[1] = seed ^ CK_P2, h[2] = seed - CK_P1, h[3] = ~seed;
}

static void checksum_blocks(uint64_t h[4], const unsigned char *p, size_t blocks)
{
    for (size_t i = 0; i < blocks * 32; i += 32)
        for (int l = 0; l < 4; l++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * l, 8);
            h[l] = rotl64(h[l] + w * CK_P2, 31) * CK_P1;
        }
}

static uint64_t checksum_end(const uint64_t h[4], const unsigned char *tail, uint64_t size)
{
    uint64_t t = size * CK_P1;
    for (size_t i = 0; i < size % 32; i++)
        t = rotl64(t ^ tail[i], 11) * CK_P2;
    uint64_t r = rotl64(h[0], 1) + rotl64(h[1], 7) + rotl64(h[2], 12) + rotl64(h[3], 18) + t;
    r ^= r >> 33;
    r *= CK_P2;
    r ^= r >> 29;
    return r;
}

uint64_t vindex_checksum(const void *data, size_t size, uint64_t seed)
{
    /* Four independent multiply-rotate lanes over 32-byte blocks (fast, memory bound); a wrong
     * bit anywhere changes the result with overwhelming probability. Not cryptographic. */
    uint64_t h[4];
    checksum_start(h, seed);
    checksum_blocks(h, data, size / 32);
    return checksum_end(h, (const unsigned char *)data + size / 32 * 32, size);
}

typedef struct vfile_header {
    char magic[8];
    uint32_t version, dim;
    uint64_t slots, generation, graph_count, graph_checksum, payload_checksum, header_checksum;
} vfile_header;
_Static_assert(sizeof(vfile_header) == VFILE_HEADER, "vectors.bin header is 64 bytes");

/* The arrays of the payload, in file order. */
typedef struct vfile_part {
    void *data;
    size_t size;
} vfile_part;

static size_t vfile_parts(const vindex *v, size_t n, vfile_part parts[9])
{
    size_t d = (size_t)v->dim;
    static const uint8_t zeros[8];
    parts[0] = (vfile_part){v->ids, n * 8};
    parts[1] = (vfile_part){v->file_ids, n * 8};
    parts[2] = (vfile_part){v->dead, n};
    parts[3] = (vfile_part){(void *)zeros, (8 - n % 8) % 8};
    parts[4] = (vfile_part){v->scales, n * 4};
    parts[5] = (vfile_part){v->qerr, n * 4};
    parts[6] = (vfile_part){v->norms, n * 4};
    parts[7] = (vfile_part){v->codes, n * d};
    parts[8] = (vfile_part){v->vecs, n * d * 4};
    return 9;
}

static int write_all(int fd, const void *data, size_t size)
{
    const char *p = data;
    while (size > 0) {
        ssize_t w = write(fd, p, size > (1u << 30) ? (1u << 30) : size);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        size -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *data, size_t size)
{
    char *p = data;
    while (size > 0) {
        ssize_t r = read(fd, p, size > (1u << 30) ? (1u << 30) : size);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            errno = 0;
            return -1;
        }
        p += r;
        size -= (size_t)r;
    }
    return 0;
}

/* "path.tmp.PID": unique per process, so that two writers never share a temporary file. */
static char *temp_name(const char *path)
{
    size_t n = strlen(path) + 32;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%s.tmp.%ld", path, (long)getpid());
    return t;
}

static void fsync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    char *dir = malloc(n + 1);
    if (!dir)
        return;
    if (slash)
        memcpy(dir, path, n);
    else
        dir[0] = '.';
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

#define CHECKSUM_CHUNK (1u << 20) /* a file is checksummed a MiB at a time (32-byte blocks) */
#define GRAPH_SEED 0x67726170ull  /* "grap": the seed of a graph file's checksum */

/* vindex_checksum of a whole open file (seed "grap"), read a chunk at a time from its start;
 * 0 or -1. */
static int fd_checksum(int fd, uint64_t *sum, uint64_t *size)
{
    struct stat sb;
    unsigned char *buf = malloc(CHECKSUM_CHUNK);
    int rc = buf && fstat(fd, &sb) == 0 && lseek(fd, 0, SEEK_SET) == 0 ? 0 : -1;
    uint64_t h[4], left = rc == 0 ? (uint64_t)sb.st_size : 0;
    checksum_start(h, GRAPH_SEED);
    while (rc == 0 && left > 0) {
        size_t n = left < CHECKSUM_CHUNK ? (size_t)left : CHECKSUM_CHUNK;
        if (read_all(fd, buf, n) != 0) {
            rc = -1;
            break;
        }
        checksum_blocks(h, buf, n / 32); /* only the last chunk has a tail */
        left -= n;
        if (left == 0) {
            *sum = checksum_end(h, buf + n / 32 * 32, (uint64_t)sb.st_size);
            *size = (uint64_t)sb.st_size;
        }
    }
    if (rc == 0 && sb.st_size == 0) {
        *sum = checksum_end(h, buf, 0);
        *size = 0;
    }
    free(buf);
    return rc;
}

static int file_checksum(const char *path, uint64_t *sum, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fd_checksum(fd, sum, size);
    close(fd);
    return rc;
}

/* Writes and syncs the graph's temporary file, its checksum into h; 0 or -1 (errno set). */
static int write_graph(const vindex *v, const char *gtmp, vfile_header *h)
{
    uint64_t gsize;
    int gfd;
    if (hnsw_save(v->graph, gtmp) != 0 || (gfd = open(gtmp, O_RDONLY | O_CLOEXEC)) < 0) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    int synced = fsync(gfd) == 0;
    close(gfd);
    if (!synced || file_checksum(gtmp, &h->graph_checksum, &gsize) != 0)
        return -1;
    h->graph_count = hnsw_count(v->graph);
    return 0;
}

void vindex_identify(const char *vec_path, vindex_file_id *id)
{
    struct stat sb;
    memset(id, 0, sizeof *id);
    if (stat(vec_path, &sb) != 0)
        return; /* absent (or unreadable: then no file can be created there either) */
    id->exists = 1;
    id->dev = (uint64_t)sb.st_dev;
    id->ino = (uint64_t)sb.st_ino;
    id->size = (uint64_t)sb.st_size;
    id->mtime_sec = (int64_t)sb.st_mtim.tv_sec;
    id->mtime_nsec = (int64_t)sb.st_mtim.tv_nsec;
}

/* Puts the finished temporary vector file in place: by rename (was NULL: the writer), or as
 * vindex_save_rebuilt says (a reader). 0, or -1 with errno (EEXIST: another process saved). */
static int install_vectors(const char *vtmp, const char *vec_path, const vindex_file_id *was)
{
    if (!was)
        return rename(vtmp, vec_path);
    if (!was->exists) {
        int r = link(vtmp, vec_path);
        int saved = errno;
        unlink(vtmp);
        errno = saved;
        return r;
    }
    vindex_file_id now;
    vindex_identify(vec_path, &now);
    if (!now.exists || now.dev != was->dev || now.ino != was->ino || now.size != was->size ||
        now.mtime_sec != was->mtime_sec || now.mtime_nsec != was->mtime_nsec) {
        errno = EEXIST;
        return -1;
    }
    return rename(vtmp, vec_path);
}

/* Both files are written whole to temporary files first, then put in place, the graph first: a
 * failure before that leaves the previous pair as it was, and a crash in between leaves a graph
 * whose checksum the old vector file does not hold (ignored: searches scan until the writer
 * rebuilds it). was: a reader's save (no graph), see vindex_save_rebuilt. */
static fs_status save_files(const vindex *v, const char *vec_path, const char *graph_path,
                            uint64_t gen, const vindex_file_id *was, fs_error *err)
{
    vfile_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, VFILE_MAGIC, 8);
    h.version = VFILE_VERSION;
    h.dim = (uint32_t)v->dim;
    h.slots = v->n;
    h.generation = gen;
    char *vtmp = temp_name(vec_path), *gtmp = graph_path ? temp_name(graph_path) : NULL;
    int fd = -1, graph_written = 0;
    fs_status rc = FS_OK;
    if (!vtmp || (graph_path && !gtmp)) {
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (v->graph && graph_path) {
        errno = 0;
        if (write_graph(v, gtmp, &h) != 0) {
            rc = util_fail(err, FS_ERR_IO, "%s: cannot write the search graph: %s", graph_path,
                           strerror(errno));
            goto done;
        }
        graph_written = 1;
    }
    vfile_part parts[9];
    size_t np = vfile_parts(v, v->n, parts);
    uint64_t sum = 0x76656374ull;
    for (size_t i = 0; i < np; i++)
        sum = vindex_checksum(parts[i].data, parts[i].size, sum);
    h.payload_checksum = sum;
    h.header_checksum = vindex_checksum(&h, offsetof(vfile_header, header_checksum), 0x68647200ull);

    if ((fd = open(vtmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        rc = util_fail(err, FS_ERR_IO, "%s: %s", vtmp, strerror(errno));
        goto done;
    }
    errno = 0;
    int ok = write_all(fd, &h, sizeof h) == 0;
    for (size_t i = 0; ok && i < np; i++)
        ok = write_all(fd, parts[i].data, parts[i].size) == 0;
    ok = ok && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    fd = -1;
    if (!ok) {
        rc = util_fail(err, FS_ERR_IO, "%s: cannot write the vector file: %s", vec_path,
                       strerror(errno ? errno : EIO));
        goto done;
    }
    if (graph_written && rename(gtmp, graph_path) != 0) {
        rc = util_fail(err, FS_ERR_IO, "%s: cannot write the search graph: %s", graph_path,
                       strerror(errno));
        goto done;
    }
    if (install_vectors(vtmp, vec_path, was) != 0) {
        rc = util_fail(err, FS_ERR_IO, "%s: %s", vec_path,
                       errno == EEXIST ? "saved by another process meanwhile" : strerror(errno));
        goto done;
    }
    if (!v->graph && graph_path)
        unlink(graph_path);
    fsync_parent(vec_path);
done:
    if (fd >= 0)
        close(fd);
    if (rc != FS_OK) { /* what is left of the temporary files (a renamed one is gone) */
        if (vtmp)
            unlink(vtmp);
        if (gtmp)
            unlink(gtmp);
    }
    free(vtmp);
    free(gtmp);
    return rc;
}

fs_status vindex_save(const vindex *v, const char *vec_path, const char *graph_path,
                      uint64_t gen, fs_error *err)
{
    return save_files(v, vec_path, graph_path, gen, NULL, err);
}

fs_status vindex_save_rebuilt(const vindex *v, const char *vec_path, uint64_t gen,
                              const vindex_file_id *was, fs_error *err)
{
    return save_files(v, vec_path, NULL, gen, was, err);
}

/* Reads and checks the header of an open vector file; *file_size gets its size. */
static fs_status read_header(int fd, const char *vec_path, int dim, vfile_header *h,
                             uint64_t *file_size, fs_error *err)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0 || read_all(fd, h, sizeof *h) != 0)
        return util_fail(err, FS_ERR_FORMAT, "%s: truncated header", vec_path);
    if (memcmp(h->magic, VFILE_MAGIC, 8) != 0 || h->version != VFILE_VERSION ||
        h->header_checksum !=
            vindex_checksum(h, offsetof(vfile_header, header_checksum), 0x68647200ull))
        return util_fail(err, FS_ERR_FORMAT, "%s: not a vector file of this version", vec_path);
    if ((int)h->dim != dim)
        return util_fail(err, FS_ERR_FORMAT, "%s: vectors of dimension %u, expected %d", vec_path,
                         h->dim, dim);
    size_t d = (size_t)dim, slot_bytes = 8 + 8 + 1 + 12 + d * 5; /* vfile_parts' layout */
    /* the bound first: a forged slot count must not wrap the size around to the file's */
    if (h->slots > ((uint64_t)SIZE_MAX - VFILE_HEADER - 8) / slot_bytes ||
        (uint64_t)sb.st_size != VFILE_HEADER + h->slots * slot_bytes + (8 - h->slots % 8) % 8)
        return util_fail(err, FS_ERR_FORMAT, "%s: truncated or wrong size", vec_path);
    *file_size = (uint64_t)sb.st_size;
    return FS_OK;
}

/* With v's slots in place: counts the live ones, checks ids ascend and dead flags are 0/1, and
 * loads the graph when its file matches the header (else v has no graph: searches scan until
 * the writer rebuilds it); map_graph: maps it instead, for searches only. */
static fs_status finish_load(vindex *v, const vfile_header *h, const char *vec_path,
                             const char *graph_path, int map_graph, fs_error *err)
{
    for (size_t i = 0; i < v->n; i++) {
        if (v->dead[i] > 1 || (i > 0 && v->ids[i] <= v->ids[i - 1]))
            return util_fail(err, FS_ERR_FORMAT, "%s: inconsistent slots", vec_path);
        v->live += !v->dead[i];
    }
    if (h->graph_count > 0 && h->graph_count <= v->n) {
        /* checked and mapped through one descriptor: the file checked is the file used, even if
         * the writer renames a new graph into place meanwhile. hnsw_load reads by path (the
         * writer loads under its lock, so nobody replaces the graph then; a reader that could not
         * map may meet a newer graph: its links and slots are still checked against v's slots). */
        uint64_t gsum, gsize;
        int gfd = open(graph_path, O_RDONLY | O_CLOEXEC);
        if (gfd >= 0 && map_graph) {
            /* checked through the mapping the searches use: no copy of the file, and its pages
             * are mapped by the time the first search walks them */
            struct stat sb;
            void *gm = fstat(gfd, &sb) == 0 && sb.st_size > 0
                ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, gfd, 0) : MAP_FAILED;
            if (gm != MAP_FAILED) {
                if (vindex_checksum(gm, (size_t)sb.st_size, GRAPH_SEED) == h->graph_checksum)
                    v->graph = hnsw_map(&v->graph_src, gm, (size_t)sb.st_size, v->n);
                else
                    munmap(gm, (size_t)sb.st_size);
            }
        } else if (gfd >= 0 && fd_checksum(gfd, &gsum, &gsize) == 0 && gsum == h->graph_checksum) {
            v->graph = hnsw_load(&v->graph_src, graph_path, v->n);
        }
        if (v->graph && hnsw_count(v->graph) != h->graph_count) {
            hnsw_free(v->graph);
            v->graph = NULL;
        }
        if (gfd >= 0)
            close(gfd);
    }
    return FS_OK;
}

static fs_status open_vec_file(const char *vec_path, int *fd, fs_error *err)
{
    *fd = open(vec_path, O_RDONLY | O_CLOEXEC);
    if (*fd >= 0)
        return FS_OK;
    if (errno == ENOENT)
        return util_fail(err, FS_ERR_NOT_FOUND, "%s: no vector file", vec_path);
    return util_fail(err, FS_ERR_IO, "%s: %s", vec_path, strerror(errno));
}

/* Opens vec_path, checks its header and makes an empty index of its dim: the start of both
 * vindex_load and vindex_map. On failure nothing is left open. */
static fs_status open_checked(const char *vec_path, int dim, int *fd, vfile_header *h,
                              uint64_t *file_size, vindex **v, fs_error *err)
{
    *v = NULL;
    fs_status rc = open_vec_file(vec_path, fd, err);
    if (rc != FS_OK)
        return rc;
    rc = read_header(*fd, vec_path, dim, h, file_size, err);
    if (rc == FS_OK && !(*v = vindex_new(dim)))
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc != FS_OK)
        close(*fd);
    return rc;
}

fs_status vindex_load(const char *vec_path, const char *graph_path, int dim, vindex **out,
                      uint64_t *gen, fs_error *err)
{
    *out = NULL;
    int fd;
    vindex *v;
    vfile_header h;
    uint64_t file_size;
    fs_status rc = open_checked(vec_path, dim, &fd, &h, &file_size, &v, err);
    if (rc != FS_OK)
        return rc;
    if ((rc = vindex_reserve(v, h.slots ? (size_t)h.slots : 1, err)) != FS_OK)
        goto done;
    vfile_part parts[9];
    uint8_t pad[8];
    size_t np = vfile_parts(v, (size_t)h.slots, parts);
    parts[3].data = pad;
    uint64_t sum = 0x76656374ull;
    for (size_t i = 0; i < np; i++) {
        if (read_all(fd, parts[i].data, parts[i].size) != 0) {
            rc = util_fail(err, FS_ERR_FORMAT, "%s: truncated", vec_path);
            goto done;
        }
        sum = vindex_checksum(parts[i].data, parts[i].size, sum);
    }
    if (sum != h.payload_checksum) {
        rc = util_fail(err, FS_ERR_INTEGRITY, "%s: checksum mismatch", vec_path);
        goto done;
    }
    v->n = (size_t)h.slots;
    if ((rc = finish_load(v, &h, vec_path, graph_path, 0, err)) != FS_OK)
        goto done;
    *gen = h.generation;
done:
    close(fd);
    if (rc != FS_OK) {
        vindex_free(v);
        return rc;
    }
    *out = v;
    return FS_OK;
}

fs_status vindex_map(const char *vec_path, const char *graph_path, int dim, vindex **out,
                     uint64_t *gen, fs_error *err)
{
    *out = NULL;
    int fd;
    vindex *v;
    vfile_header h;
    uint64_t file_size;
    fs_status rc = open_checked(vec_path, dim, &fd, &h, &file_size, &v, err);
    if (rc != FS_OK)
        return rc;
    /* private and writable: a reader catching up marks removed faces in its own copy of a page */
    void *m = mmap(NULL, (size_t)file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        rc = util_fail(err, FS_ERR_IO, "%s: cannot map: %s", vec_path, strerror(errno));
        goto done;
    }
    v->map = m;
    v->map_size = (size_t)file_size;
    size_t n = (size_t)h.slots, d = (size_t)dim;
    uint8_t *p = (uint8_t *)m + VFILE_HEADER; /* the layout of vfile_parts; every array aligned */
    v->ids = (int64_t *)(void *)p;
    p += n * 8;
    v->file_ids = (int64_t *)(void *)p;
    p += n * 8;
    v->dead = p;
    p += n + (8 - n % 8) % 8;
    v->scales = (float *)(void *)p;
    p += n * 4;
    v->qerr = (float *)(void *)p;
    p += n * 4;
    v->norms = (float *)(void *)p;
    p += n * 4;
    v->codes = (int8_t *)p;
    p += n * d;
    v->vecs = (float *)(void *)p;
    v->n = v->cap = n;
    if ((rc = finish_load(v, &h, vec_path, graph_path, 1, err)) != FS_OK)
        goto done;
    *gen = h.generation;
done:
    close(fd);
    if (rc != FS_OK) {
        vindex_free(v);
        return rc;
    }
    *out = v;
    return FS_OK;
}

fs_status vindex_peek(const char *vec_path, int dim, uint64_t *gen, uint64_t *graph_count)
{
    int fd = open(vec_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? FS_ERR_NOT_FOUND : FS_ERR_IO;
    vfile_header h;
    int ok = read_all(fd, &h, sizeof h) == 0;
    close(fd);
    if (!ok || memcmp(h.magic, VFILE_MAGIC, 8) != 0 || h.version != VFILE_VERSION ||
        (int)h.dim != dim ||
        h.header_checksum !=
            vindex_checksum(&h, offsetof(vfile_header, header_checksum), 0x68647200ull))
        return FS_ERR_FORMAT;
    *gen = h.generation;
    *graph_count = h.graph_count;
    return FS_OK;
}
