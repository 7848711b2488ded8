/*
 * test_index_share.c — an index run's photos embedded elsewhere (facesearch.h, "Sharing an index
 * run's photos"), without MPI: the test's poll plays the other process, taking photos with
 * fs_index_run_give, analysing them with fs_photo_analyse and putting the results back. The
 * shared run stores what an ordinary run stores (same summary, same search results), a twin of
 * a given photo is copied rather than embedded twice, a failure comes back with its reason; a
 * photo put back unanalysed is left for the next run; an id not given away is refused; a poll
 * that fails ends the run with its error, and the next run completes the index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "facesearch.h"

typedef struct fixture {
    char tmp[64], photos[128];
    fs_engine *engine;
    fs_worker *worker;
} fixture;

static void copy_file(const char *from, const char *to)
{
    char cmd[8500];
    assert_true(snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to) < (int)sizeof cmd);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->tmp, sizeof f->tmp, "/tmp/fs_share_XXXXXX");
    assert_non_null(mkdtemp(f->tmp));
    snprintf(f->photos, sizeof f->photos, "%s/photos", f->tmp);
    char data[4096], from[4200], to[256];
    fs_error err;
    assert_int_equal(fs_data_dir(data, sizeof data, &err), FS_OK);
    assert_int_equal(mkdir(f->photos, 0755), 0);
    for (int i = 1; i <= 6; i++) {
        snprintf(from, sizeof from, "%s/samples/sample%d.jpg", data, i);
        snprintf(to, sizeof to, "%s/sample%d.jpg", f->photos, i);
        copy_file(from, to);
    }
    snprintf(from, sizeof from, "%s/samples/sample2.jpg", data);
    snprintf(to, sizeof to, "%s/twin2.jpg", f->photos); /* the same content as sample2 */
    copy_file(from, to);
    snprintf(to, sizeof to, "%s/broken.jpg", f->photos);
    FILE *fp = fopen(to, "w");
    assert_non_null(fp);
    fputs("not a photo", fp);
    fclose(fp);
    assert_int_equal(fs_engine_open("default", &(fs_engine_options){.threads = 1}, &f->engine,
                                    &err),
                     FS_OK);
    assert_int_equal(fs_worker_new(f->engine, 1, &f->worker, &err), FS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->tmp);
    assert_int_equal(system(cmd), 0);
    fs_worker_free(f->worker);
    fs_engine_close(f->engine);
    free(f);
    return 0;
}

/* The other process, as the poll sees it. */
typedef struct other {
    fixture *f;
    int mode;               /* ANALYSE, RETURN (put back unanalysed), FAIL (the poll fails) */
    size_t given, polls;
    fs_status bogus;        /* what a put of an id never given gave */
} other;

enum { ANALYSE, RETURN, FAIL };

static fs_status poll_other(fs_index_run *run, void *ctx, fs_error *err)
{
    other *o = ctx;
    o->polls++;
    if (o->mode == FAIL)
        return snprintf(err->message, sizeof err->message, "the other side broke"),
               err->code = FS_ERR_IO;
    uint64_t ids[2];
    const char *paths[2];
    size_t n = fs_index_run_give(run, 2, ids, paths);
    if (o->polls == 1)
        o->bogus = fs_index_run_put(run, UINT64_MAX / 2, NULL, err);
    for (size_t i = 0; i < n; i++) {
        fs_photo_result res;
        fs_status rc;
        if (o->mode == RETURN) {
            rc = fs_index_run_put(run, ids[i], NULL, err);
        } else {
            fs_photo_analyse(o->f->worker, paths[i], &res);
            rc = fs_index_run_put(run, ids[i], &res, err);
            fs_faces_free(&res.faces);
        }
        if (rc)
            return rc;
        assert_int_equal(fs_index_run_put(run, ids[i], NULL, err), FS_ERR_ARG); /* not out now */
    }
    o->given += n;
    return FS_OK;
}

static fs_status run_index(fixture *f, const char *name, other *o, fs_index_progress *sum,
                           fs_error *err)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", f->tmp, name);
    fs_index *ix;
    fs_status rc = fs_index_open(dir, f->engine, FS_INDEX_WRITE, &ix, err);
    assert_int_equal(rc, FS_OK);
    fs_index_sharing sharing = {.poll = poll_other, .ctx = o};
    fs_index_options opt = {.workers = 1, .sharing = o ? &sharing : NULL};
    const char *roots[] = {f->photos};
    rc = fs_index_update(ix, roots, 1, &opt, sum, err);
    fs_index_close(ix);
    return rc;
}

/* The matches of sample 1's largest face in index name, as text. */
static void search_text(fixture *f, const char *name, char *out, size_t size)
{
    char dir[256], query[4200], data[4096];
    fs_error err;
    snprintf(dir, sizeof dir, "%s/%s", f->tmp, name);
    assert_int_equal(fs_data_dir(data, sizeof data, &err), FS_OK);
    snprintf(query, sizeof query, "%s/samples/sample1.jpg", data);
    fs_faces q;
    assert_int_equal(fs_detect_file(f->worker, query, 1, &q, &err), FS_OK);
    long big = fs_faces_largest(&q);
    assert_true(big >= 0);
    fs_index *ix;
    assert_int_equal(fs_index_open(dir, NULL, FS_INDEX_READ, &ix, &err), FS_OK);
    fs_matches m;
    assert_int_equal(fs_index_search(ix, &q.faces[big], 1, NULL, 0, -1.0f, 0, 0, &m, &err), FS_OK);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m.count && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s %d %.5f %.2f %.2f\n",
                                strrchr(m.items[i].path, '/') + 1, m.items[i].face_number,
                                m.items[i].similarity, m.items[i].face.box[0],
                                m.items[i].face.box[1]);
    assert_true(len < size);
    assert_true(m.count > 10);
    fs_matches_free(&m);
    fs_index_close(ix);
    fs_faces_free(&q);
}

static void test_shared_run_stores_what_a_run_stores(void **state)
{
    fixture *f = *state;
    fs_error err;
    fs_index_progress plain, shared;
    assert_int_equal(run_index(f, "plain", NULL, &plain, &err), FS_OK);
    other o = {.f = f, .mode = ANALYSE};
    assert_int_equal(run_index(f, "shared", &o, &shared, &err), FS_OK);
    assert_int_equal(o.bogus, FS_ERR_ARG);
    assert_true(o.given >= 2);
    assert_true(shared.shared >= 1 && shared.shared <= o.given);
    assert_int_equal(plain.shared, 0);
    assert_int_equal(shared.total, 8);
    assert_int_equal(shared.done, plain.done);
    assert_int_equal(shared.added, plain.added);
    assert_int_equal(shared.failed, 1);
    assert_int_equal(shared.failed, plain.failed);
    assert_int_equal(shared.faces, plain.faces);
    static char want[1 << 16], got[1 << 16];
    search_text(f, "plain", want, sizeof want);
    search_text(f, "shared", got, sizeof got);
    assert_string_equal(got, want);
}

static void test_returned_photos_wait_for_the_next_run(void **state)
{
    fixture *f = *state;
    fs_error err;
    fs_index_progress first, second;
    other o = {.f = f, .mode = RETURN};
    assert_int_equal(run_index(f, "returned", &o, &first, &err), FS_OK);
    assert_true(o.given >= 2);
    assert_int_equal(first.done, first.total - o.given);
    assert_int_equal(first.shared, 0);
    assert_int_equal(run_index(f, "returned", NULL, &second, &err), FS_OK);
    /* the broken photo fails again in every run (reported each time) unless it was given */
    assert_int_equal(second.added + second.failed - first.failed, o.given);
    assert_int_equal(second.unchanged, first.done - first.failed);
}

static void test_failed_poll_fails_the_run(void **state)
{
    fixture *f = *state;
    fs_error err;
    fs_index_progress sum;
    other o = {.f = f, .mode = FAIL};
    assert_int_equal(run_index(f, "failed", &o, &sum, &err), FS_ERR_IO);
    assert_string_equal(err.message, "the other side broke");
    assert_int_equal(o.polls, 1);
    assert_int_equal(run_index(f, "failed", NULL, &sum, &err), FS_OK);
    assert_int_equal(sum.done, sum.total);
    assert_int_equal(sum.failed, 1);
}

static void test_photo_analyse(void **state)
{
    fixture *f = *state;
    char path[256];
    fs_photo_result res;
    snprintf(path, sizeof path, "%s/broken.jpg", f->photos);
    fs_photo_analyse(f->worker, path, &res);
    assert_int_equal(res.status, FS_ERR_FORMAT);
    assert_non_null(strstr(res.message, "broken.jpg"));
    assert_int_equal(strlen(res.sha256), 64); /* read: its content is known */
    snprintf(path, sizeof path, "%s/gone.jpg", f->photos);
    fs_photo_analyse(f->worker, path, &res);
    assert_int_equal(res.status, FS_ERR_NOT_FOUND);
    assert_string_equal(res.sha256, "");
    snprintf(path, sizeof path, "%s/sample1.jpg", f->photos);
    fs_photo_analyse(f->worker, path, &res);
    assert_int_equal(res.status, FS_OK);
    assert_int_equal(strlen(res.sha256), 64);
    assert_true(res.faces.count >= 3);
    fs_faces_free(&res.faces);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_photo_analyse),
        cmocka_unit_test(test_shared_run_stores_what_a_run_stores),
        cmocka_unit_test(test_returned_photos_wait_for_the_next_run),
        cmocka_unit_test(test_failed_poll_fails_the_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
