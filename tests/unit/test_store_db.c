/*
 * test_store_db.c — the SQLite side of the index (src/store/db.c): schema creation and reopening,
 * migrations and the version check, refusal of another model pack, file and face writes and
 * lookups (non-UTF-8 paths, folder-prefix edge cases, content hashes), batches, stats and the
 * integrity check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"

#define DIM 8

static const char *const FILE_NAMES[] = {"det.onnx", "rec.onnx"};
static const char *const FILE_SHAS[] = {"aa", "bb"};
static const char *const OTHER_SHAS[] = {"aa", "cc"};

static store_pack_id pack_named(const char *name)
{
    store_pack_id p = {name, 2, FILE_NAMES, FILE_SHAS, DIM, "p1"};
    return p;
}

static void remove_tree(const char *root)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
}

typedef struct fixture {
    char root[64];
    char dir[96];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/fs_store_db_XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/idx", f->root);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    remove_tree(f->root);
    free(f);
    return 0;
}

static store_db *open_new(fixture *f)
{
    store_pack_id p = pack_named("buffalo_l");
    store_db *store = NULL;
    fs_error err;
    fs_status rc = store_open(f->dir, &p, FS_STORE_CREATE, &store, &err);
    if (rc != FS_OK)
        fail_msg("open: %s", err.message);
    return store;
}

static void make_faces(store_face *faces, float (*emb)[DIM], size_t n, int seed)
{
    for (size_t i = 0; i < n; i++) {
        memset(&faces[i], 0, sizeof faces[i]);
        faces[i].face_index = (int)i;
        faces[i].box[0] = (float)i;
        faces[i].box[2] = 10.0f + (float)i;
        faces[i].landmarks[9] = 0.5f * (float)seed;
        faces[i].score = 0.9f;
        /* a measured quality, and face 2 one not measured (stored as NULL) */
        faces[i].quality = i == 2 ? -1.0f : 0.25f * (float)(i + 1);
        double norm = 0;
        for (int d = 0; d < DIM; d++) {
            emb[i][d] = sinf((float)(seed * 31 + (int)i * 7 + d));
            norm += emb[i][d] * emb[i][d];
        }
        for (int d = 0; d < DIM; d++)
            emb[i][d] /= (float)sqrt(norm);
        faces[i].embedding = emb[i];
    }
}

static void put(store_db *store, const char *path, size_t nfaces, int seed, const char *sha)
{
    store_face faces[8];
    float emb[8][DIM];
    make_faces(faces, emb, nfaces, seed);
    fs_error err;
    if (store_put_file(store, path, 100 + seed, 1000 + seed, sha, faces, nfaces, NULL, &err) !=
        FS_OK)
        fail_msg("put %s: %s", path, err.message);
}

/* The faces of a file as store_faces_of_file visits them, copied out (at most 4). */
typedef struct file_faces {
    store_face faces[4];
    float emb[4][DIM];
    char path[64];
    size_t n;
} file_faces;

static int copy_out(const store_face *face, const char *path, void *ctx)
{
    file_faces *ff = ctx;
    assert_true(ff->n < 4);
    memcpy(ff->emb[ff->n], face->embedding, sizeof ff->emb[0]);
    ff->faces[ff->n] = *face;
    ff->faces[ff->n].embedding = ff->emb[ff->n];
    snprintf(ff->path, sizeof ff->path, "%s", path);
    ff->n++;
    return 0;
}

static int has(store_db *store, const char *path)
{
    store_file file;
    int found = -1;
    assert_int_equal(store_file_by_path(store, path, &file, &found, NULL), FS_OK);
    return found;
}

static void test_create_reopen(void **state)
{
    fixture *f = *state;
    fs_error err;
    store_db *store = NULL;
    /* Reading an index that does not exist. */
    assert_int_equal(store_open(f->dir, NULL, FS_STORE_READ, &store, &err), FS_ERR_NOT_FOUND);
    assert_null(store);
    store = open_new(f);
    assert_string_equal(store_pack_name(store), "buffalo_l");
    assert_int_equal(store_dim(store), DIM);
    put(store, "/p/a.jpg", 2, 1, "h1");
    store_close(store);
    /* Reopen for reading without a pack, and with the right one. */
    assert_int_equal(store_open(f->dir, NULL, FS_STORE_READ, &store, &err), FS_OK);
    assert_int_equal(has(store, "/p/a.jpg"), 1);
    store_stats stats;
    assert_int_equal(store_stats_get(store, &stats, &err), FS_OK);
    assert_int_equal(stats.files, 1);
    assert_int_equal(stats.faces, 2);
    assert_int_equal(stats.schema_version, FS_STORE_SCHEMA_VERSION);
    assert_string_equal(stats.pack, "buffalo_l");
    assert_true(stats.db_bytes > 0);
    /* A reader cannot write. */
    assert_int_equal(store_begin(store, &err), FS_ERR_ARG);
    store_close(store);
    store_pack_id p = pack_named("buffalo_l");
    assert_int_equal(store_open(f->dir, &p, FS_STORE_WRITE, &store, &err), FS_OK);
    assert_int_equal(store_check(store, &err), FS_OK);
    store_close(store);
}

static void test_wrong_pack_refused(void **state)
{
    fixture *f = *state;
    store_close(open_new(f));
    store_pack_id other = pack_named("antelopev2");
    store_db *store = NULL;
    fs_error err;
    assert_int_equal(store_open(f->dir, &other, FS_STORE_READ, &store, &err), FS_ERR_ARG);
    assert_null(store);
    char want[512];
    snprintf(want, sizeof want,
             "%s: built with model pack 'buffalo_l'; use --models buffalo_l or another --db",
             f->dir);
    assert_string_equal(err.message, want);
    /* Same name, other file contents. */
    store_pack_id changed = pack_named("buffalo_l");
    changed.file_sha256 = OTHER_SHAS;
    assert_int_equal(store_open(f->dir, &changed, FS_STORE_WRITE, &store, &err), FS_ERR_ARG);
    assert_non_null(strstr(err.message, "other files of model pack 'buffalo_l'"));
    store_pack_id dim = pack_named("buffalo_l");
    dim.embedding_dim = 16;
    assert_int_equal(store_open(f->dir, &dim, FS_STORE_WRITE, &store, &err), FS_ERR_ARG);
    /* Same pack, another version of the face pipeline: refused for reading and writing. */
    store_pack_id newer = pack_named("buffalo_l");
    newer.pipeline = "p2";
    snprintf(want, sizeof want,
             "%s: built by another version of the face pipeline ('p1'; this facesearch uses 'p2'), "
             "so its faces are not comparable; index into another --db, or delete the folder to "
             "rebuild it", f->dir);
    assert_int_equal(store_open(f->dir, &newer, FS_STORE_READ, &store, &err), FS_ERR_ARG);
    assert_string_equal(err.message, want);
    assert_int_equal(store_open(f->dir, &newer, FS_STORE_WRITE, &store, &err), FS_ERR_ARG);
    assert_string_equal(err.message, want);
    assert_null(store);
    /* Not checked when the caller gives none. */
    newer.pipeline = NULL;
    assert_int_equal(store_open(f->dir, &newer, FS_STORE_READ, &store, &err), FS_OK);
    store_close(store);
}

static void test_schema_version(void **state)
{
    fixture *f = *state;
    store_close(open_new(f));
    char path[160];
    snprintf(path, sizeof path, "%s/index.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*), max(version) FROM migrations", -1, &s, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), FS_STORE_SCHEMA_VERSION);
    assert_int_equal(sqlite3_column_int(s, 1), FS_STORE_SCHEMA_VERSION);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE key = 'schema_version'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    store_db *store = NULL;
    fs_error err;
    store_pack_id p = pack_named("buffalo_l");
    assert_int_equal(store_open(f->dir, &p, FS_STORE_WRITE, &store, &err), FS_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "schema version 99 is newer"));
    assert_null(store);
}

static void test_put_lookup_replace(void **state)
{
    fixture *f = *state;
    store_db *store = open_new(f);
    fs_error err;
    put(store, "/p/a.jpg", 3, 1, "h1");
    store_file file;
    int found;
    assert_int_equal(store_file_by_path(store, "/p/a.jpg", &file, &found, &err), FS_OK);
    assert_int_equal(found, 1);
    assert_int_equal(file.size, 101);
    assert_int_equal(file.mtime_ns, 1001);
    assert_string_equal(file.sha256, "h1");
    assert_int_equal(file.status, FS_FILE_OK);
    assert_int_equal(file.face_count, 3);
    file_faces got = {.n = 0};
    assert_int_equal(store_faces_of_file(store, file.id, copy_out, &got, &err), FS_OK);
    assert_int_equal(got.n, 3);
    assert_string_equal(got.path, "/p/a.jpg");
    store_face *faces = got.faces;
    store_face want[3];
    float emb[3][DIM];
    make_faces(want, emb, 3, 1);
    for (size_t i = 0; i < got.n; i++) {
        assert_int_equal(faces[i].face_index, (int)i);
        assert_true(faces[i].box[2] == want[i].box[2]);
        assert_true(faces[i].landmarks[9] == want[i].landmarks[9]);
        assert_true(faces[i].quality == want[i].quality);
        assert_memory_equal(faces[i].embedding, emb[i], sizeof emb[i]);
    }
    int64_t face0 = faces[0].id;
    /* Face by id, with its path. */
    store_face one;
    float e1[DIM];
    char *path;
    assert_int_equal(store_face_by_id(store, face0, &one, e1, &path, &found, &err), FS_OK);
    assert_int_equal(found, 1);
    assert_string_equal(path, "/p/a.jpg");
    assert_memory_equal(e1, emb[0], sizeof e1);
    assert_true(one.quality == 0.25f);
    free(path);
    /* Replace: one face, new size; then failed, with a reason and no faces. */
    put(store, "/p/a.jpg", 1, 2, "h2");
    assert_int_equal(store_file_by_path(store, "/p/a.jpg", &file, &found, &err), FS_OK);
    assert_int_equal(file.face_count, 1);
    assert_int_equal(file.size, 102);
    assert_int_equal(store_face_by_id(store, face0, &one, NULL, NULL, &found, &err), FS_OK);
    assert_int_equal(found, 0);
    assert_int_equal(store_put_failed(store, "/p/a.jpg", 5, 6, "h3", "truncated JPEG", &err),
                     FS_OK);
    assert_int_equal(store_file_by_path(store, "/p/a.jpg", &file, &found, &err), FS_OK);
    assert_int_equal(file.status, FS_FILE_FAILED);
    assert_int_equal(file.face_count, 0);
    char reason[64];
    assert_int_equal(store_file_error(store, file.id, reason, sizeof reason, &err), FS_OK);
    assert_string_equal(reason, "truncated JPEG");
    /* A face without embedding is refused and nothing changes. */
    store_face bad[1];
    float be[1][DIM];
    make_faces(bad, be, 1, 3);
    bad[0].embedding = NULL;
    assert_int_equal(store_put_file(store, "/p/a.jpg", 1, 1, "x", bad, 1, NULL, &err), FS_ERR_ARG);
    assert_int_equal(store_file_by_path(store, "/p/a.jpg", &file, &found, &err), FS_OK);
    assert_int_equal(file.status, FS_FILE_FAILED);
    store_stats stats;
    assert_int_equal(store_stats_get(store, &stats, &err), FS_OK);
    assert_int_equal(stats.failed, 1);
    assert_int_equal(stats.faces, 0);
    store_close(store);
}

static int collect(const char *path, const store_file *file, void *ctx)
{
    (void)file;
    char *buf = ctx;
    strcat(buf, path);
    strcat(buf, "|");
    return 0;
}

static void test_prefix_edges_and_bytes(void **state)
{
    fixture *f = *state;
    store_db *store = open_new(f);
    fs_error err;
    /* Non-UTF-8 bytes, a byte below '/', the prefix's neighbours. */
    const char *paths[] = {"/a/b/x.jpg", "/a/b/c/y.jpg", "/a/bc/z.jpg", "/a/b.jpg", "/a/b",
                           "/a/b\x01.jpg", "/a/b/\xff\xfe.jpg", "/a/b/caf\xe9.jpg", "/a/b0/w.jpg",
                           "/a/b-/v.jpg"};
    size_t np = sizeof paths / sizeof paths[0];
    for (size_t i = 0; i < np; i++)
        put(store, paths[i], 1, (int)i, "");
    assert_int_equal(has(store, "/a/b/\xff\xfe.jpg"), 1);
    assert_int_equal(has(store, "/a/b/\xff.jpg"), 0);
    char listed[512] = "";
    assert_int_equal(store_list_folder(store, "/a/b/", collect, listed, &err), FS_OK);
    assert_string_equal(listed, "/a/b/c/y.jpg|/a/b/caf\xe9.jpg|/a/b/x.jpg|/a/b/\xff\xfe.jpg|");
    int64_t removed = -1;
    assert_int_equal(store_remove_folder(store, "/a/b", &removed, &err), FS_OK);
    assert_int_equal(removed, 4);
    for (size_t i = 0; i < np; i++) {
        int under = strncmp(paths[i], "/a/b/", 5) == 0;
        assert_int_equal(has(store, paths[i]), !under);
    }
    assert_int_equal(store_remove_path(store, "/a/b", &removed, &err), FS_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(has(store, "/a/b.jpg"), 1);
    assert_int_equal(has(store, "/a/b\x01.jpg"), 1);
    assert_int_equal(store_remove_path(store, "/a/b", &removed, &err), FS_OK);
    assert_int_equal(removed, 0);
    assert_int_equal(store_remove_folder(store, "", &removed, &err), FS_ERR_ARG);
    /* The root folder covers everything. */
    assert_int_equal(store_remove_folder(store, "/", &removed, &err), FS_OK);
    assert_int_equal(removed, 5);
    store_stats stats;
    assert_int_equal(store_stats_get(store, &stats, &err), FS_OK);
    assert_int_equal(stats.files, 0);
    assert_int_equal(stats.faces, 0);
    assert_int_equal(store_check(store, &err), FS_OK);
    store_close(store);
}

typedef struct hash_list {
    char (*items)[65];
    size_t *n;
} hash_list;

static int collect_hashes(const char *sha256, void *ctx)
{
    hash_list *l = ctx;
    if (*l->n < 8)
        snprintf(l->items[(*l->n)++], 65, "%s", sha256);
    return 0;
}

static int cmp_hash(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* A file by its id: the photo a server names by id, never by a path. */
static void test_file_by_id(void **state)
{
    fixture *f = *state;
    store_db *store = open_new(f);
    fs_error err;
    put(store, "/p/a.jpg", 3, 5, "cafe");
    store_file by_path, by_id;
    int found;
    char *path = NULL;
    assert_int_equal(store_file_by_path(store, "/p/a.jpg", &by_path, &found, &err), FS_OK);
    assert_int_equal(store_file_by_id(store, by_path.id, &by_id, &path, &found, &err), FS_OK);
    assert_int_equal(found, 1);
    assert_string_equal(path, "/p/a.jpg");
    assert_int_equal(by_id.face_count, 3);
    assert_int_equal(by_id.size, by_path.size);
    assert_string_equal(by_id.sha256, "cafe");
    free(path);
    assert_int_equal(store_file_by_id(store, by_path.id, &by_id, NULL, &found, &err), FS_OK);
    assert_int_equal(found, 1);
    path = (char *)"untouched";
    assert_int_equal(store_file_by_id(store, by_path.id + 100, &by_id, &path, &found, &err), FS_OK);
    assert_int_equal(found, 0);
    assert_null(path);
    store_close(store);
}

static void test_hash_and_copy(void **state)
{
    fixture *f = *state;
    store_db *store = open_new(f);
    fs_error err;
    put(store, "/old/a.jpg", 2, 5, "cafe");
    store_file file;
    char *path = NULL;
    int found;
    assert_int_equal(store_file_by_hash(store, "beef", &file, &path, &found, &err), FS_OK);
    assert_int_equal(found, 0);
    assert_int_equal(store_file_by_hash(store, "cafe", &file, &path, &found, &err), FS_OK);
    assert_int_equal(found, 1);
    assert_string_equal(path, "/old/a.jpg");
    free(path);
    /* Moved: copy its faces, then drop the old path. */
    assert_int_equal(store_copy_file(store, file.id, "/new/a.jpg", 7, 8, "cafe", &err), FS_OK);
    assert_int_equal(store_remove_path(store, "/old/a.jpg", NULL, &err), FS_OK);
    store_file moved;
    assert_int_equal(store_file_by_path(store, "/new/a.jpg", &moved, &found, &err), FS_OK);
    assert_int_equal(moved.face_count, 2);
    file_faces got = {.n = 0};
    assert_int_equal(store_faces_of_file(store, moved.id, copy_out, &got, &err), FS_OK);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.path, "/new/a.jpg");
    store_face want[2];
    float emb[2][DIM];
    make_faces(want, emb, 2, 5);
    assert_memory_equal(got.faces[1].embedding, emb[1], sizeof emb[1]);
    got.n = 0; /* a file with no faces, or no such file, visits nothing */
    assert_int_equal(store_faces_of_file(store, 9999, copy_out, &got, &err), FS_OK);
    assert_int_equal(got.n, 0);
    assert_int_equal(store_copy_file(store, 9999, "/x.jpg", 1, 1, "", &err), FS_ERR_NOT_FOUND);
    /* Failed files are not offered as copies. */
    assert_int_equal(store_put_failed(store, "/bad.jpg", 1, 1, "dead", "bad", &err), FS_OK);
    assert_int_equal(store_file_by_hash(store, "dead", &file, NULL, &found, &err), FS_OK);
    assert_int_equal(found, 0);
    /* The content hashes an index run starts from: distinct, indexed files only. */
    put(store, "/copy/a.jpg", 2, 5, "cafe");
    put(store, "/b.jpg", 1, 6, "f00d");
    put(store, "/c.jpg", 1, 7, "");
    char seen[8][65];
    size_t n_seen = 0;
    assert_int_equal(store_each_hash(store, collect_hashes, &(hash_list){seen, &n_seen}, &err),
                     FS_OK);
    qsort(seen, n_seen, sizeof seen[0], cmp_hash);
    assert_int_equal(n_seen, 2);
    assert_string_equal(seen[0], "cafe");
    assert_string_equal(seen[1], "f00d");
    store_close(store);
}

static int count_faces(const store_face *face, const char *path, void *ctx)
{
    (void)face; (void)path;
    (*(int *)ctx)++;
    return 0;
}

static void test_batches(void **state)
{
    fixture *f = *state;
    store_db *st = open_new(f);
    fs_error err;
    store_db *reader = NULL;
    assert_int_equal(store_open(f->dir, NULL, FS_STORE_READ, &reader, &err), FS_OK);
    assert_int_equal(store_begin(st, &err), FS_OK);
    assert_int_equal(store_begin(st, &err), FS_ERR_ARG);
    put(st, "/b/1.jpg", 1, 1, "");
    put(st, "/b/2.jpg", 2, 2, "");
    /* Not yet visible to another connection; visible to the writer. */
    assert_int_equal(has(reader, "/b/1.jpg"), 0);
    assert_int_equal(has(st, "/b/2.jpg"), 1);
    /* A failing write inside the batch leaves the batch as it was. */
    store_face bad[1];
    float be[1][DIM];
    make_faces(bad, be, 1, 3);
    bad[0].embedding = NULL;
    assert_int_not_equal(store_put_file(st, "/b/3.jpg", 1, 1, "", bad, 1, NULL, &err), FS_OK);
    assert_int_equal(store_commit(st, &err), FS_OK);
    assert_int_equal(has(reader, "/b/1.jpg"), 1);
    assert_int_equal(has(reader, "/b/3.jpg"), 0);
    /* Rolled back: gone. */
    assert_int_equal(store_begin(st, &err), FS_OK);
    put(st, "/b/4.jpg", 1, 4, "");
    assert_int_equal(store_remove_path(st, "/b/1.jpg", NULL, &err), FS_OK);
    store_rollback(st);
    assert_int_equal(has(st, "/b/4.jpg"), 0);
    assert_int_equal(has(st, "/b/1.jpg"), 1);
    assert_int_equal(store_commit(st, &err), FS_ERR_ARG);
    int faces = 0;
    assert_int_equal(store_each_face(reader, count_faces, &faces, &err), FS_OK);
    assert_int_equal(faces, 3);
    store_stats stats;
    put(st, "/c/d/5.jpg", 1, 5, "");
    assert_int_equal(store_stats_get(reader, &stats, &err), FS_OK);
    assert_int_equal(stats.folders, 2);
    /* An open batch is rolled back by close. */
    assert_int_equal(store_begin(st, &err), FS_OK);
    put(st, "/b/6.jpg", 1, 6, "");
    store_close(st);
    assert_int_equal(has(reader, "/b/6.jpg"), 0);
    store_close(reader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_pack_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_lookup_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_edges_and_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_and_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
