/*
 * search_scale.c — scale benchmark of the vector index (src/store/vindex.c) on synthetic but
 * face-like embeddings: unit vectors around identity centroids (intra-identity cosine ~0.7,
 * ~10 faces per identity), queries being new faces of known identities. Identity centroids are
 * either uniform on the 512-d sphere ("iso": the worst case for a graph, impostor cosine sd 0.031
 * between faces) or drawn from a random K-dimensional subspace (--subspace K, "subspaceK"): the
 * default pack's embeddings of the labelled set have an impostor sd of 0.090 (genuine mean 0.67;
 * bench/eval_accuracy), which K = 64 reproduces (sd ~0.7 / sqrt(K) = 0.088).
 *
 * Usage: search_scale N QUERIES [THREADS] [--scan-only] [--m M] [--efc EF_CONSTRUCTION]
 *                     [--ef EF_SEARCH[,EF_SEARCH...]] [--cache DIR]
 * THREADS (default 2) build the graph; the exact scan is timed on 1 thread and, if THREADS > 1,
 * on THREADS threads (mode int8_scan_exact_tN). --scan-only skips the graph; --m, --efc, --ef
 * override the graph parameters of vindex.c (0 or absent: its defaults), one hnsw line per ef.
 * Prints, for the HNSW graph path, the exact int8 scan and the peer (a plain fp32 exhaustive scan):
 *   RESULT search n=N mode=M build_s=.. ram_bytes_per_face=.. p50_ms=.. p99_ms=.. recall10=..
 * vs_peer_p50=.. (hnsw lines end with the graph parameters in effect: m=.. efc=.. ef=..) recall10
 * is against the exact fp32 top 10; recall10_above0.3 only over its entries of cosine
 * >= 0.3 (see run_queries). --cache DIR keeps the built graph for later runs. Run by
 * bench/search_scale.sh.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/vindex.h"
#include "synth.h"

#define DIM 512
#define FACES_PER_ID 10
#define FLOOR 0.3f /* see run_queries */
#define NOISE 0.029f /* cosine between two faces of one identity ~ 1 / (1 + NOISE^2 * DIM) = 0.7 */

/* how identity centroids were drawn, for the RESULT lines: "iso" or "subspaceK" */
static char id_model[32] = "iso";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void face_of(const float *centroid, uint64_t *seed, float *out)
{
    for (int d = 0; d < DIM; d++)
        out[d] = centroid[d] + NOISE * synth_gauss(seed);
    synth_normalise(out, DIM);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct top {
    int64_t id;
    float s;
} top;

/* The peer: plain fp32 exhaustive scan keeping the top 10 (ties by id). */
static void fp32_scan(const float *vecs, size_t n, const float *q, top out[10])
{
    for (int i = 0; i < 10; i++)
        out[i] = (top){-1, -INFINITY};
    for (size_t i = 0; i < n; i++) {
        float s = util_vec_dot(q, vecs + i * DIM, DIM);
        if (s <= out[9].s)
            continue;
        int j = 9;
        while (j > 0 && out[j - 1].s < s) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = (top){(int64_t)i + 1, s};
    }
}

/* Copies the live vectors into one plain array (what a naive index would hold). */
typedef struct copy_ctx {
    float *dst;
    size_t at;
} copy_ctx;

static int copy_visit(int64_t id, int64_t file, const float *vec, void *ctx)
{
    (void)id;
    (void)file;
    copy_ctx *cp = ctx;
    memcpy(cp->dst + cp->at * DIM, vec, DIM * sizeof(float));
    cp->at++;
    return 0;
}

/* Prints one RESULT line (extra: appended as is, may be ""); sorts lat. */
static void report(size_t n, const char *mode, double build, double ram, double *lat, size_t nq,
                   double recall, double above, double peer_p50, const char *extra)
{
    qsort(lat, nq, sizeof *lat, cmp_double);
    double p50 = lat[nq / 2],
           p99 = lat[(size_t)((double)nq * 0.99) < nq ? (size_t)((double)nq * 0.99) : nq - 1];
    printf("RESULT search n=%zu ids=%s mode=%s build_s=%.2f ram_bytes_per_face=%.0f p50_ms=%.3f "
           "p99_ms=%.3f"
           " recall10=%.4f recall10_above%.1f=%.4f vs_peer_p50=%.2fx%s\n",
           n, id_model, mode, build, ram, p50 * 1e3, p99 * 1e3, recall, (double)FLOOR, above,
           peer_p50 > 0 ? peer_p50 / p50 : 1.0, extra);
    fflush(stdout);
}

/* Times the top-10 search of every query (exact or not, scan threads); returns recall@10 as the
 * share of the exact top 10 found (in order when in_order), and in *above the same share among
 * the exact top-10 entries of cosine >= FLOOR: the neighbours a search could ever show (the
 * packs' match thresholds are 0.34 and 0.5), leaving out the near-random tail of other people
 * (cosine ~0.2) that fills the top 10 of an identity with fewer than 10 faces. */
static double run_queries(const vindex *v, const float *queries, size_t nq, top (*exact)[10],
                          int exact_search, int threads, int in_order, double *lat, double *above)
{
    size_t hit10 = 0, above_all = 0, above_hit = 0;
    for (size_t i = 0; i < nq; i++) {
        store_hit *h;
        size_t nh;
        double a = now_s();
        vindex_search(v, queries + i * DIM, 10, -1.0f, NULL, exact_search, threads, &h, &nh,
                      NULL);
        lat[i] = now_s() - a;
        for (size_t j = 0; j < nh && j < 10; j++) {
            if (in_order)
                hit10 += h[j].face_id == exact[i][j].id;
            else
                for (size_t k = 0; k < 10; k++)
                    hit10 += h[j].face_id == exact[i][k].id;
        }
        for (size_t k = 0; k < 10; k++) {
            if (exact[i][k].s < FLOOR)
                continue;
            above_all++;
            for (size_t j = 0; j < nh && j < 10; j++)
                if (h[j].face_id == exact[i][k].id) {
                    above_hit++;
                    break;
                }
        }
        free(h);
    }
    *above = above_all ? (double)above_hit / (double)above_all : 1.0;
    return (double)hit10 / (double)(10 * nq);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s N QUERIES [THREADS] [--scan-only] [--m M] [--efc EFC]"
                        " [--ef EF[,EF...]] [--cache DIR] [--subspace K]\n", argv[0]);
        return 2;
    }
    size_t n = strtoull(argv[1], NULL, 10), nq = strtoull(argv[2], NULL, 10);
    int threads = 2, scan_only = 0, m = 0, efc = 0, subspace = 0;
    const char *ef_list = "0", *cache = NULL;
    for (int a = 3; a < argc; a++) {
        if (!strcmp(argv[a], "--scan-only"))
            scan_only = 1;
        else if (!strcmp(argv[a], "--m") && a + 1 < argc)
            m = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--efc") && a + 1 < argc)
            efc = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--ef") && a + 1 < argc)
            ef_list = argv[++a];
        else if (!strcmp(argv[a], "--cache") && a + 1 < argc)
            cache = argv[++a];
        else if (!strcmp(argv[a], "--subspace") && a + 1 < argc)
            subspace = atoi(argv[++a]);
        else if (a == 3 && argv[a][0] != '-')
            threads = atoi(argv[a]);
        else {
            fprintf(stderr, "%s: unknown argument %s\n", argv[0], argv[a]);
            return 2;
        }
    }
    if (n == 0 || nq == 0 || threads < 1) {
        fprintf(stderr, "%s: N, QUERIES and THREADS must be positive\n", argv[0]);
        return 2;
    }
    size_t ids = n / FACES_PER_ID ? n / FACES_PER_ID : 1;
    if (subspace > 0)
        snprintf(id_model, sizeof id_model, "subspace%d", subspace);
    uint64_t seed = 0x5eed;
    float *centroids = malloc(ids * DIM * sizeof(float));
    float *face = malloc(DIM * sizeof(float));
    float *queries = malloc(nq * DIM * sizeof(float));
    vindex *v = vindex_new(DIM);
    if (!centroids || !face || !queries || !v || vindex_reserve(v, n, NULL) != FS_OK) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (subspace > 0) {
        /* identity centroids in a random subspace of `subspace` dimensions */
        float *basis = malloc((size_t)subspace * DIM * sizeof *basis);
        float *z = malloc((size_t)subspace * sizeof *z);
        if (!basis || !z) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < (size_t)subspace * DIM; i++)
            basis[i] = synth_gauss(&seed);
        for (size_t i = 0; i < ids; i++) {
            float *c = centroids + i * DIM;
            for (int k = 0; k < subspace; k++)
                z[k] = synth_gauss(&seed);
            for (int d = 0; d < DIM; d++) {
                float acc = 0;
                for (int k = 0; k < subspace; k++)
                    acc += basis[(size_t)k * DIM + d] * z[k];
                c[d] = acc;
            }
            synth_normalise(c, DIM);
        }
        free(basis);
        free(z);
    } else {
        for (size_t i = 0; i < ids * DIM; i++)
            centroids[i] = synth_gauss(&seed);
        for (size_t i = 0; i < ids; i++)
            synth_normalise(centroids + i * DIM, DIM);
    }
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        face_of(centroids + (synth_next_u64(&seed) % ids) * DIM, &seed, face);
        if (vindex_add(v, (int64_t)i + 1, (int64_t)i / 4 + 1, face, NULL) != FS_OK)
            return 1;
    }
    double add_s = now_s() - t0;
    for (size_t i = 0; i < nq; i++)
        face_of(centroids + (synth_next_u64(&seed) % ids) * DIM, &seed, queries + i * DIM);
    fprintf(stderr, "generated and added %zu faces in %.1f s\n", n, add_s);

    float *plain = malloc(n * DIM * sizeof(float));
    if (!plain)
        return 1;
    copy_ctx cp = {plain, 0};
    vindex_each(v, copy_visit, &cp);

    double *lat = malloc(nq * sizeof *lat), peer_p50;
    top(*exact)[10] = malloc(nq * sizeof *exact);
    if (!lat || !exact)
        return 1;
    for (size_t i = 0; i < nq; i++) {
        double a = now_s();
        fp32_scan(plain, n, queries + i * DIM, exact[i]);
        lat[i] = now_s() - a;
    }
    report(n, "fp32_scan_peer", 0.0, (double)DIM * 4, lat, nq, 1.0, 1.0, 0.0, "");
    size_t above_n = 0;
    for (size_t i = 0; i < nq; i++)
        for (int k = 0; k < 10; k++)
            above_n += exact[i][k].s >= FLOOR;
    fprintf(stderr, "exact top-10 entries of cosine >= %.1f: %.1f%%\n", (double)FLOOR,
            100.0 * (double)above_n / (double)(10 * nq));
    peer_p50 = lat[nq / 2];

    /* Exact int8 scan (the default below FS_VINDEX_GRAPH_MIN faces): 1 thread, then THREADS. */
    double above;
    double recall = run_queries(v, queries, nq, exact, 1, 1, 1, lat, &above);
    report(n, "int8_scan_exact", 0.0, (double)vindex_memory(v) / (double)n, lat, nq, recall,
           above, peer_p50, "");
    if (threads > 1) {
        char mode[32];
        snprintf(mode, sizeof mode, "int8_scan_exact_t%d", threads);
        recall = run_queries(v, queries, nq, exact, 1, threads, 1, lat, &above);
        report(n, mode, 0.0, (double)vindex_memory(v) / (double)n, lat, nq, recall, above,
               peer_p50, "");
    }

    /* HNSW graph over the int8 codes, fp32 re-rank; one line per search breadth. With --cache
     * DIR the built index is saved there (and loaded by a later run with the same N, m, efc:
     * the data are deterministic), so that query timings can be taken on a quiet machine
     * without another build. */
    if (!scan_only) {
        vindex_set_graph_params(v, m, efc, 0);
        vindex_set_graph_min(v, 1);
        int gm, gefc, gef;
        vindex_graph_params(v, &gm, &gefc, &gef);
        char vec_path[4200] = "", graph_path[4200] = "";
        if (cache) {
            snprintf(vec_path, sizeof vec_path, "%s/scale-%zu-k%d-m%d-efc%d.vec", cache, n,
                     subspace, gm, gefc);
            snprintf(graph_path, sizeof graph_path, "%s/scale-%zu-k%d-m%d-efc%d.graph", cache, n,
                     subspace, gm, gefc);
        }
        vindex *loaded = NULL;
        uint64_t gen = 0;
        double build = 0;
        if (cache && vindex_load(vec_path, graph_path, DIM, &loaded, &gen, NULL) == FS_OK &&
            vindex_graph_count(loaded) == n) {
            vindex_free(v);
            v = loaded;
            vindex_set_graph_params(v, m, efc, 0);
            build = (double)gen / 1000.0; /* the build time was saved as the generation */
            fprintf(stderr, "graph loaded from %s\n", graph_path);
        } else {
            vindex_free(loaded);
            t0 = now_s();
            if (vindex_build_graph(v, threads, NULL) != FS_OK) {
                fprintf(stderr, "graph build failed\n");
                return 1;
            }
            build = now_s() - t0;
            if (cache && vindex_save(v, vec_path, graph_path, (uint64_t)(build * 1000), NULL))
                fprintf(stderr, "could not save the graph to %s\n", cache);
        }
        if (cache) {
            /* how long a reader (mapped) and the writer (read and verified) take to open it */
            vindex *o = NULL;
            uint64_t g;
            double a = now_s();
            fs_status ms = vindex_map(vec_path, graph_path, DIM, &o, &g, NULL);
            double map_s = now_s() - a;
            vindex_free(o);
            a = now_s();
            fs_status ls = vindex_load(vec_path, graph_path, DIM, &o, &g, NULL);
            double load_s = now_s() - a;
            vindex_free(o);
            if (ms == FS_OK && ls == FS_OK)
                printf("RESULT search_open n=%zu ids=%s reader_map_s=%.3f writer_load_s=%.3f\n", n,
                       id_model, map_s, load_s);
        }
        for (const char *p = ef_list; *p;) {
            char *end;
            int ef = (int)strtol(p, &end, 10);
            if (end == p)
                break;
            vindex_set_graph_params(v, m, efc, ef);
            recall = run_queries(v, queries, nq, exact, 0, 1, 0, lat, &above);
            char extra[64];
            vindex_graph_params(v, &gm, &gefc, &gef);
            snprintf(extra, sizeof extra, " m=%d efc=%d ef=%d", gm, gefc, gef);
            report(n, "hnsw", build, (double)vindex_memory(v) / (double)n, lat, nq, recall,
                   above, peer_p50, extra);
            p = *end == ',' ? end + 1 : end;
        }
    }
    free(exact);
    free(lat);
    free(plain);
    free(queries);
    free(face);
    free(centroids);
    vindex_free(v);
    return 0;
}
