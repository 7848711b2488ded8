/*
 * search_all.c — indexed search that returns everything (`search --top 0 --threshold -1`) on a
 * large index: the merge of hits, the batched row fetches and the ranking must stay linear in
 * the number of faces. An index of N synthetic faces (4 per photo, random unit embeddings, one
 * folder per 1,000 photos) is written through the store, then fs_index_search runs with top 0 and
 * threshold -1 (every face comes back) on N and on N/2 faces, and with top 50 on N faces.
 * The peer is SQLite itself reading the same rows (faces joined with their file's path): the
 * least any search that returns every face with its path must do.
 *
 * Usage: search_all [N] [RUNS] [CACHE_DIR]   (defaults 100000, 5; needs the default model pack)
 * CACHE_DIR keeps the two indexes for later runs (they take minutes to write); without it they
 * are written in a temp folder and removed.
 * Prints:
 *   RESULT search_all faces=N top0_ms=.. top0_first_ms=.. half_top0_ms=.. scaling=.. top50_ms=..
 *          sqlite_ms=.. vs_sqlite=..
 * Each search is timed as the second one on an open index (the first, top0_first_ms, also loads
 * the vector file and, from 100,000 faces on, the graph). scaling is top0_ms / half_top0_ms (2.0
 * for linear work, 4.0 for quadratic); vs_sqlite is top0_ms / sqlite_ms. Times are medians of
 * RUNS interleaved runs.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facesearch.h"
#include "index/index_internal.h"
#include "util/clock.h"
#include "synth.h"

#define FACES_PER_PHOTO 4
#define PHOTOS_PER_FOLDER 1000

/* A random unit vector, uniform on the sphere. */
static void random_unit(float *v, int dim, uint64_t *seed)
{
    for (int d = 0; d < dim; d++)
        v[d] = synth_gauss(seed);
    synth_normalise(v, dim);
}

static int fail(const char *what, const fs_error *err)
{
    fprintf(stderr, "search_all: %s: %s\n", what, err ? err->message : "failed");
    return 2;
}

/* Writes an index of `faces` faces into dir. */
static int build_index(const char *dir, fs_engine *engine, size_t faces)
{
    fs_index *ix;
    fs_error err;
    if (fs_index_open(dir, engine, FS_INDEX_WRITE, &ix, &err) != FS_OK)
        return fail(dir, &err);
    const int dim = fs_engine_embedding_dim(engine); /* the pack's, which the index takes */
    float *emb = malloc(sizeof(float) * (size_t)dim * FACES_PER_PHOTO);
    if (!emb) {
        fs_index_close(ix);
        return fail("out of memory", NULL);
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int status = 0;
    if (store_begin(ix->store, &err) != FS_OK)
        status = fail("begin", &err);
    for (size_t photo = 0; status == 0 && photo * FACES_PER_PHOTO < faces; photo++) {
        store_face f[FACES_PER_PHOTO];
        for (int k = 0; k < FACES_PER_PHOTO; k++) {
            random_unit(emb + (size_t)k * dim, dim, &seed);
            f[k] = (store_face){.face_index = k, .box = {10.0f + 60 * k, 10, 60.0f + 60 * k, 70},
                                .score = 0.9f, .quality = 0.9f,
                                .embedding = emb + (size_t)k * dim};
        }
        char path[256], hex[65];
        snprintf(path, sizeof path, "/bench/photos/d%05zu/p%08zu.jpg", photo / PHOTOS_PER_FOLDER,
                 photo);
        snprintf(hex, sizeof hex, "%064zx", photo + 1);
        if (store_put_file(ix->store, path, 1000, 1, hex, f, FACES_PER_PHOTO, NULL, &err) != FS_OK)
            status = fail(path, &err);
    }
    if (status == 0 && store_commit(ix->store, &err) != FS_OK)
        status = fail("commit", &err);
    if (status == 0 && store_sync_vectors(ix->store, &err) != FS_OK)
        status = fail("vectors", &err);
    free(emb);
    fs_index_close(ix);
    return status;
}

/* Milliseconds of fs_index_search on a freshly opened index: *cold_ms for the first search (it
 * loads the vector file and graph), *ms for a second one on the same handle; *count gets the
 * number of matches. */
static int time_search(const char *dir, fs_engine *engine, const fs_face *query, float threshold,
                       size_t top, double *cold_ms, double *ms, size_t *count)
{
    fs_index *ix;
    fs_error err;
    if (fs_index_open(dir, engine, FS_INDEX_READ, &ix, &err) != FS_OK)
        return fail(dir, &err);
    fs_status rc = FS_OK;
    for (int pass = 0; pass < 2 && rc == FS_OK; pass++) {
        fs_matches m;
        double t0 = util_now();
        rc = fs_index_search(ix, query, 1, NULL, 0, threshold, top, 0, &m, &err);
        *(pass ? ms : cold_ms) = 1000 * (util_now() - t0);
        if (rc == FS_OK) {
            *count = m.count;
            fs_matches_free(&m);
        }
    }
    fs_index_close(ix);
    return rc == FS_OK ? 0 : fail("search", &err);
}

/* Milliseconds SQLite takes to read every face's box and embedding with its file's path. */
static int time_sqlite(const char *dir, double *ms, size_t *count)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/index.db", dir);
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return fail(path, NULL);
    }
    sqlite3_stmt *st;
    double t0 = util_now();
    int rc = sqlite3_prepare_v2(db, "SELECT f.path, x.face_index, x.x1, x.y1, x.x2, x.y2,"
                                    " x.embedding FROM faces x JOIN files f ON f.id = x.file_id",
                                -1, &st, NULL);
    size_t n = 0;
    double sum = 0;
    while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const float *e = sqlite3_column_blob(st, 6);
        sum += (double)sqlite3_column_double(st, 2) + (e ? e[0] : 0) +
               (double)sqlite3_column_bytes(st, 0);
        n++;
    }
    *ms = 1000 * (util_now() - t0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    *count = sum > -1e30 ? n : 0; /* keeps the reads from being optimised away */
    return rc == SQLITE_OK ? 0 : fail("sqlite query", NULL);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (n < 2 * FACES_PER_PHOTO || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: search_all [N >= 8] [RUNS 1..100]\n");
        return 2;
    }
    n -= n % (2 * FACES_PER_PHOTO);
    fs_engine *engine;
    fs_error err;
    if (fs_engine_open("default", NULL, &engine, &err) != FS_OK)
        return fail("model pack", &err);
    char tmp[] = "/tmp/search_all.XXXXXX";
    const char *root = argc > 3 ? argv[3] : mkdtemp(tmp);
    if (!root || (argc > 3 && mkdir(root, 0755) != 0 && errno != EEXIST)) {
        fs_engine_close(engine);
        return fail(argc > 3 ? argv[3] : "mkdtemp", NULL);
    }
    char full[PATH_MAX], half[PATH_MAX];
    snprintf(full, sizeof full, "%s/full%zu", root, n);
    snprintf(half, sizeof half, "%s/full%zu", root, n / 2);
    int status = 0;
    if (access(full, F_OK) != 0)
        status = build_index(full, engine, n);
    if (status == 0 && access(half, F_OK) != 0)
        status = build_index(half, engine, n / 2);

    fs_face query = {0};
    uint64_t seed = 42;
    random_unit(query.embedding, fs_engine_embedding_dim(engine), &seed);
    double t_cold[100], t_all[100], t_half[100], t_top[100], t_sql[100], unused;
    size_t c_all = 0, c_half = 0, c_top = 0, c_sql = 0;
    for (int r = 0; r < runs && status == 0; r++) {
        status = time_search(full, engine, &query, -1.0f, 0, &t_cold[r], &t_all[r], &c_all);
        if (status == 0)
            status = time_search(half, engine, &query, -1.0f, 0, &unused, &t_half[r], &c_half);
        if (status == 0)
            status = time_search(full, engine, &query, -1.0f, 50, &unused, &t_top[r], &c_top);
        if (status == 0)
            status = time_sqlite(full, &t_sql[r], &c_sql);
    }
    if (status == 0 && (c_all != n || c_half != n / 2 || c_top != 50 || c_sql != n)) {
        fprintf(stderr, "search_all: got %zu, %zu, %zu and %zu rows, expected %zu, %zu, 50, %zu\n",
                c_all, c_half, c_top, c_sql, n, n / 2, n);
        status = 1;
    }
    if (status == 0) {
        double all = median(t_all, runs), hlf = median(t_half, runs);
        double top = median(t_top, runs), sql = median(t_sql, runs);
        printf("RESULT search_all faces=%zu top0_ms=%.1f top0_first_ms=%.1f half_top0_ms=%.1f "
               "scaling=%.2f top50_ms=%.1f sqlite_ms=%.1f vs_sqlite=%.2f runs=%d\n",
               n, all, median(t_cold, runs), hlf, all / hlf, top, sql, all / sql, runs);
    }
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (argc <= 3 && system(cmd) != 0)
        fprintf(stderr, "search_all: could not remove %s\n", root);
    fs_engine_close(engine);
    return status;
}
