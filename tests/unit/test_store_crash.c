/*
 * test_store_crash.c — crash safety and concurrency of the index (src/store/): a child process
 * writes batches (adding and removing files, syncing the vector file now and then) and is killed
 * with SIGKILL at random moments; after each kill the index must open, pass the integrity check,
 * hold only whole batches with exact face counts, and its vector index must agree with SQLite.
 * Also: a reader searching while a writer commits never fails and only sees whole batches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store.h"

#define DIM 64
#define BATCH 8
#define TRIALS 24

static const char *const NAMES[] = {"rec.onnx"};
static const char *const SHAS[] = {"00"};

static fs_status open_store(const char *dir, unsigned flags, store_db **st, fs_error *err)
{
    store_pack_id p = {"default", 1, NAMES, SHAS, DIM, NULL};
    return store_open(dir, &p, flags, st, err);
}

/* Faces of file j of batch b: a count that depends on both, and embeddings that encode them. */
static int faces_in(int b, int j)
{
    return (b + j) % 4;
}

static void embedding(int b, int j, int k, float *e)
{
    double n = 0;
    for (int d = 0; d < DIM; d++) {
        e[d] = sinf((float)(b * 131 + j * 17 + k * 5 + d * 3) * 0.37f);
        n += e[d] * e[d];
    }
    for (int d = 0; d < DIM; d++)
        e[d] = (float)(e[d] / sqrt(n));
}

/* One batch: BATCH files in /c/<b>/, and the folder of batch b-3 removed when b is odd. */
static fs_status write_batch(store_db *store, int b, fs_error *err)
{
    fs_status rc = store_begin(store, err);
    if (rc != FS_OK)
        return rc;
    for (int j = 0; j < BATCH && rc == FS_OK; j++) {
        store_face faces[4];
        float emb[4][DIM];
        memset(faces, 0, sizeof faces);
        int n = faces_in(b, j);
        for (int k = 0; k < n; k++) {
            faces[k].face_index = k;
            embedding(b, j, k, emb[k]);
            faces[k].embedding = emb[k];
        }
        char path[64];
        snprintf(path, sizeof path, "/c/%d/%d.jpg", b, j);
        rc = store_put_file(store, path, b, j, "", faces, (size_t)n, NULL, err);
    }
    if (rc == FS_OK && b % 2 == 1 && b >= 3) {
        char folder[32];
        snprintf(folder, sizeof folder, "/c/%d", b - 3);
        rc = store_remove_folder(store, folder, NULL, err);
    }
    if (rc == FS_OK)
        rc = store_commit(store, err);
    else
        store_rollback(store);
    return rc;
}

/* The writer child: batches from `first` on, forever (until killed), or `count` of them. */
static void writer(const char *dir, int first, int count)
{
    store_db *store;
    fs_error err;
    if (open_store(dir, FS_STORE_CREATE, &store, &err) != FS_OK)
        _exit(3);
    for (int b = first; count < 0 || b < first + count; b++) {
        if (write_batch(store, b, &err) != FS_OK)
            _exit(4);
        if (b % 3 == 0 && store_sync_vectors(store, &err) != FS_OK)
            _exit(5);
    }
    store_close(store);
    _exit(0);
}

typedef struct tally {
    int64_t *ids;
    size_t n, cap;
    int bad;
} tally;

static int collect_face(const store_face *face, const char *path, void *ctx)
{
    tally *t = ctx;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->ids = realloc(t->ids, t->cap * sizeof *t->ids);
        if (!t->ids)
            return 1;
    }
    t->ids[t->n++] = face->id;
    int b, j;
    float e[DIM];
    if (sscanf(path, "/c/%d/%d.jpg", &b, &j) != 2 || face->face_index >= faces_in(b, j))
        t->bad++;
    else {
        embedding(b, j, face->face_index, e);
        if (memcmp(e, face->embedding, sizeof e) != 0)
            t->bad++;
    }
    return 0;
}

typedef struct folders {
    int files[4096];
} folders;

static int count_file(const char *path, const store_file *file, void *ctx)
{
    folders *f = ctx;
    int b, j;
    if (sscanf(path, "/c/%d/%d.jpg", &b, &j) == 2 && b >= 0 && b < 4096) {
        f->files[b]++;
        if (file->face_count != faces_in(b, j))
            f->files[b] = -10000;
    }
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Everything a reopened index must satisfy. Returns the number of faces. */
static size_t verify(const char *dir)
{
    store_db *store;
    fs_error err;
    /* CREATE, as the indexer resumes: a kill before the first commit leaves no index yet. */
    if (open_store(dir, FS_STORE_CREATE, &store, &err) != FS_OK)
        fail_msg("reopen: %s", err.message);
    if (store_check(store, &err) != FS_OK)
        fail_msg("check: %s", err.message);
    /* Whole batches only, exact face counts per file. */
    folders *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(store_list_folder(store, "/c", count_file, f, &err), FS_OK);
    for (int b = 0; b < 4096; b++)
        if (f->files[b] != 0 && f->files[b] != BATCH)
            fail_msg("batch %d holds %d files", b, f->files[b]);
    free(f);
    tally t = {0};
    assert_int_equal(store_each_face(store, collect_face, &t, &err), FS_OK);
    assert_int_equal(t.bad, 0);
    store_stats stats;
    assert_int_equal(store_stats_get(store, &stats, &err), FS_OK);
    assert_int_equal((size_t)stats.faces, t.n);
    /* The vector index (loaded from the file, caught up or rebuilt) holds exactly those faces. */
    float q[DIM];
    embedding(0, 1, 0, q);
    store_query query = {q, 0, -1.0f, NULL, 0, 1, 1};
    store_hit *hits;
    size_t nh;
    if (store_search(store, &query, &hits, &nh, &err) != FS_OK)
        fail_msg("search: %s", err.message);
    assert_int_equal(nh, t.n);
    int64_t *got = malloc((nh + 1) * sizeof *got);
    assert_non_null(got);
    for (size_t i = 0; i < nh; i++)
        got[i] = hits[i].face_id;
    if (nh) {
        qsort(got, nh, sizeof *got, cmp_id);
        qsort(t.ids, t.n, sizeof *t.ids, cmp_id);
        assert_memory_equal(got, t.ids, nh * sizeof *got);
    }
    free(got);
    free(hits);
    free(t.ids);
    store_close(store);
    return nh;
}

static void remove_tree(const char *root)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
}

static void test_sigkill_trials(void **state)
{
    (void)state;
    char root[] = "/tmp/fs_store_crash_XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[64];
    snprintf(dir, sizeof dir, "%s/idx", root);
    srand((unsigned)time(NULL));
    for (int trial = 0; trial < TRIALS; trial++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            writer(dir, trial * 100, -1);
        /* 1..60 ms: covers opening, mid-batch, commit and vector-file writes. */
        struct timespec ts = {0, (long)(1 + rand() % 60) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
            fail_msg("writer exited with %d before the kill", WEXITSTATUS(status));
        verify(dir);
    }
    /* And the index resumes: a clean run on top works and verifies. */
    pid_t pid = fork();
    if (pid == 0)
        writer(dir, 9000, 5);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(verify(dir) > 0);
    remove_tree(root);
}

static void test_reader_during_writer(void **state)
{
    (void)state;
    char root[] = "/tmp/fs_store_conc_XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[64];
    snprintf(dir, sizeof dir, "%s/idx", root);
    store_db *store;
    fs_error err;
    assert_int_equal(open_store(dir, FS_STORE_CREATE, &store, &err), FS_OK);
    assert_int_equal(write_batch(store, 0, &err), FS_OK);
    store_close(store);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        writer(dir, 1, 60);
    assert_int_equal(open_store(dir, FS_STORE_READ, &store, &err), FS_OK);
    int status = 0, done = 0, searches = 0;
    size_t last = 0;
    float q[DIM];
    embedding(0, 1, 0, q);
    while (!done) {
        done = waitpid(pid, &status, WNOHANG) == pid;
        store_query query = {q, 5, -1.0f, NULL, 0, 0, 1};
        store_hit *hits;
        size_t nh;
        if (store_search(store, &query, &hits, &nh, &err) != FS_OK)
            fail_msg("search during writes: %s", err.message);
        free(hits);
        store_stats stats;
        if (store_stats_get(store, &stats, &err) != FS_OK)
            fail_msg("stats during writes: %s", err.message);
        assert_int_equal(stats.files % BATCH, 0);
        (void)last;
        last = (size_t)stats.files;
        searches++;
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(searches > 1);
    store_close(store);
    verify(dir);
    remove_tree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_trials),
        cmocka_unit_test(test_reader_during_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
