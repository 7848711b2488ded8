/*
 * shards_search.c — search latency of a sharded library over MPI (include/facesearch_mpi.h), as
 * bench/shards.sh runs it: the library (made by serve_index with K/S: synthetic face-like
 * embeddings, PER_ID faces per identity, bench/synth.h) is opened once, then QUERIES searches of
 * the best TOP faces run one after another, each a new face of a known identity (its centroid
 * found by replaying serve_index's generator, plus noise). Each search is timed on rank 0 from a
 * barrier to the merged result: broadcast of the query, every rank's search of its shards,
 * gathering and merging. Built only with MPI.
 * The timed searches follow WARMUP others (default QUERIES; faces of other identities), as in a
 * long-running server: a library is mapped, not read, and its first searches fault in the pages
 * of the vectors they walk. first_ms is the first search's time (~0.1 s at a million faces, most
 * of it checking the graph file), the cold start a command line search pays.
 * COPIES (default 1): the library holds the N faces that many times (shards that are copies of
 * one shard of N faces: bench/shards.sh's weak scaling case).
 * Usage: mpirun -np R shards_search LIB N PER_ID QUERIES TOP [COPIES [WARMUP]]
 * Prints: RESULT shards_search shards=S ranks=R n=N*COPIES top=TOP p50_ms=.. p99_ms=.. queries=Q
 *         top1_same_identity=.. (the share of queries whose best match is of their identity)
 *         copies=COPIES warmup=WARMUP first_ms=..
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "facesearch_mpi.h"
#include "synth.h"

#define DIM 512 /* as serve_index */
#define PER_FILE 4
#define NOISE 0.029f

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Query q: a new face of identity ids[q] (every (N / PER_ID / Q)-th identity). */
static int make_queries(long n, long per_id, int queries, fs_face *out, long *ids)
{
    long n_ids = n / per_id, stride = n_ids / queries;
    if (stride < 1)
        return -1;
    static float centroid[DIM];
    uint64_t seed = 0x9e3779b97f4a7c15ull; /* serve_index's */
    int q = 0;
    for (long face = 0; face < n && q < queries; face++) {
        if (face % per_id == 0) {
            for (int d = 0; d < DIM; d++)
                centroid[d] = synth_gauss(&seed);
            synth_normalise(centroid, DIM);
            long id = face / per_id;
            if (id % stride == 0) {
                uint64_t noise = 0x2545f4914f6cdd1dull + (uint64_t)q;
                memset(&out[q], 0, sizeof out[q]);
                for (int d = 0; d < DIM; d++)
                    out[q].embedding[d] = centroid[d] + NOISE * synth_gauss(&noise);
                synth_normalise(out[q].embedding, DIM);
                ids[q++] = id;
            }
        }
        for (int d = 0; d < DIM; d++)
            (void)synth_gauss(&seed);
    }
    return q == queries ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 8) {
        fprintf(stderr, "usage: %s LIB N PER_ID QUERIES TOP [COPIES [WARMUP]]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    long n = atol(argv[2]), per_id = atol(argv[3]);
    int queries = atoi(argv[4]);
    size_t top = (size_t)atol(argv[5]);
    long copies = argc >= 7 ? atol(argv[6]) : 1;
    int warmup = argc == 8 ? atoi(argv[7]) : queries;
    fs_mpi *mpi;
    fs_error err;
    if (fs_mpi_open(&mpi, &err) != FS_OK) {
        fprintf(stderr, "shards_search: %s\n", err.message);
        return 2;
    }
    int rank = fs_mpi_rank(mpi), status = 0;
    int total = queries + (warmup > 0 ? warmup : 0); /* warm-up searches spread among the timed */
    fs_face *query = calloc(total > 0 ? (size_t)total : 1, sizeof *query);
    long *ids = calloc(total > 0 ? (size_t)total : 1, sizeof *ids);
    double *ms = calloc(queries > 0 ? (size_t)queries : 1, sizeof *ms);
    int ok = query && ids && ms && queries > 0 && warmup >= 0 && per_id > 0 && copies >= 1 &&
             (rank != 0 || make_queries(n, per_id, total, query, ids) == 0);
    int all_ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    fs_mpi_library *lib = NULL;
    if (!all_ok) {
        if (rank == 0)
            fprintf(stderr, "shards_search: bad arguments or out of memory\n");
        status = 2;
    } else if (fs_mpi_library_open(mpi, dir, &lib, &err) != FS_OK) {
        if (rank == 0)
            fprintf(stderr, "shards_search: %s\n", err.message);
        status = 2;
    }
    int same = 0;
    double first_ms = -1;
    /* the warm-up searches first, then the timed ones */
    for (int pass = 0, q = 0; status == 0 && pass < 2; pass++) {
        for (int i = 0; status == 0 && i < total; i++) {
            int warm = (long)(i + 1) * warmup / total > (long)i * warmup / total;
            if (warm != (pass == 0))
                continue;
            fs_matches m;
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = now_ms();
            if (fs_mpi_search(lib, &query[i], 1, -1.0f, top, 0, &m, &err) != FS_OK) {
                if (rank == 0)
                    fprintf(stderr, "shards_search: %s\n", err.message);
                status = 2;
                break;
            }
            double t = now_ms() - t0;
            if (first_ms < 0)
                first_ms = t;
            if (pass == 1) {
                ms[q++] = t;
                /* serve_index's file f holds faces 4f .. 4f+3; face i is of identity i / PER_ID */
                long file = m.count ? atol(strrchr(m.items[0].path, '/') + 2) : -1; /* ROOT/pN.jpg */
                if (m.count && (file * PER_FILE + m.items[0].face_number - 1) / per_id == ids[i])
                    same++;
            }
            fs_matches_free(&m);
        }
    }
    if (status == 0 && rank == 0) {
        qsort(ms, (size_t)queries, sizeof *ms, by_value);
        int shards = 0;
        char manifest[4096], line[256];
        snprintf(manifest, sizeof manifest, "%s/manifest", dir);
        FILE *f = fopen(manifest, "r");
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "count %d", &shards) == 1)
                break;
        if (f)
            fclose(f);
        printf("RESULT shards_search shards=%d ranks=%d n=%ld top=%zu p50_ms=%.3f p99_ms=%.3f "
               "queries=%d top1_same_identity=%.3f copies=%ld warmup=%d first_ms=%.1f\n", shards,
               fs_mpi_size(mpi), n * copies, top, ms[queries / 2], ms[(int)(queries * 0.99)],
               queries, (double)same / queries, copies, warmup, first_ms);
    }
    fs_mpi_library_close(lib);
    free(query);
    free(ids);
    free(ms);
    fs_mpi_close(mpi);
    return status;
}
