/*
 * test_index_records.c — photos and faces of the index by id (index/records.c): what the server
 * reads back by id. An index written through the store, read through the public API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "facesearch.h"
#include "store/store.h"

static const char *const FILE_NAMES[] = {"det.onnx", "rec.onnx"};
static const char *const FILE_SHAS[] = {"aa", "bb"};

typedef struct fixture {
    char root[64];
    char dir[96];
    int64_t photo, failed, face2;
} fixture;

static void face_at(store_face *f, float *emb, int k)
{
    memset(f, 0, sizeof *f);
    memset(emb, 0, FS_EMBEDDING_MAX * sizeof *emb);
    emb[k] = 1.0f;
    f->face_index = k;
    f->box[0] = 10.0f * (float)k, f->box[1] = 20, f->box[2] = f->box[0] + 30, f->box[3] = 60;
    for (int i = 0; i < 10; i++)
        f->landmarks[i] = (float)(k * 100 + i);
    f->score = 0.9f;
    f->embedding = emb;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/fs_records_XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/idx", f->root);
    store_pack_id p = {"buffalo_l", 2, FILE_NAMES, FILE_SHAS, FS_EMBEDDING_MAX, "p1"};
    store_db *st;
    fs_error err;
    if (store_open(f->dir, &p, FS_STORE_CREATE, &st, &err) != FS_OK)
        return -1;
    static float emb[2][FS_EMBEDDING_MAX];
    store_face faces[2];
    face_at(&faces[0], emb[0], 0);
    face_at(&faces[1], emb[1], 1);
    store_file file;
    int found;
    if (store_put_file(st, "/photos/a.jpg", 10, 20, "cafe", faces, 2, &f->photo, &err) ||
        store_put_failed(st, "/photos/bad.jpg", 1, 2, "", "truncated", &err) ||
        store_file_by_path(st, "/photos/bad.jpg", &file, &found, &err))
        return -1;
    f->failed = file.id;
    *state = f;
    store_close(st);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void test_photo_by_id(void **state)
{
    fixture *f = *state;
    fs_index *ix;
    fs_error err;
    assert_int_equal(fs_index_open(f->dir, NULL, FS_INDEX_READ, &ix, &err), FS_OK);
    fs_photo p;
    assert_int_equal(fs_index_photo(ix, f->photo, &p, &err), FS_OK);
    assert_int_equal(p.id, f->photo);
    assert_string_equal(p.path, "/photos/a.jpg");
    assert_int_equal(p.size, 10);
    assert_int_equal(p.mtime_ns, 20);
    assert_int_equal(p.failed, 0);
    assert_int_equal(p.faces.count, 2);
    for (size_t i = 0; i < 2; i++) {
        const fs_match *m = &p.faces.items[i];
        assert_int_equal(m->face_number, (int)i + 1);
        assert_int_equal(m->photo_id, f->photo);
        assert_true(m->face_id > 0);
        assert_true(m->face.box[0] == 10.0f * (float)i);
        assert_true(m->face.landmarks[9] == (float)(i * 100 + 9));
        assert_true(m->face.embedding[i] == 1.0f);
    }
    int64_t face2 = p.faces.items[1].face_id;
    fs_photo_free(&p);
    assert_null(p.path);
    /* a failed photo: no faces */
    assert_int_equal(fs_index_photo(ix, f->failed, &p, &err), FS_OK);
    assert_int_equal(p.failed, 1);
    assert_int_equal(p.faces.count, 0);
    fs_photo_free(&p);
    assert_int_equal(fs_index_photo(ix, 999, &p, &err), FS_ERR_NOT_FOUND);
    assert_string_equal(err.message, "photo 999: not in the index");
    assert_null(p.path);
    /* a face by id */
    fs_matches one;
    assert_int_equal(fs_index_face(ix, face2, &one, &err), FS_OK);
    assert_int_equal(one.count, 1);
    assert_int_equal(one.items[0].face_id, face2);
    assert_int_equal(one.items[0].photo_id, f->photo);
    assert_int_equal(one.items[0].face_number, 2);
    assert_string_equal(one.items[0].path, "/photos/a.jpg");
    assert_true(one.items[0].face.embedding[1] == 1.0f);
    assert_true(one.items[0].similarity == 1.0f);
    /* searching by it finds it first, with its ids */
    fs_matches found;
    assert_int_equal(fs_index_search(ix, &one.items[0].face, 1, NULL, 0, 0.5f, 10, 0, &found, &err),
                     FS_OK);
    assert_int_equal(found.count, 1);
    assert_int_equal(found.items[0].face_id, face2);
    assert_int_equal(found.items[0].photo_id, f->photo);
    fs_matches_free(&found);
    fs_matches_free(&one);
    assert_int_equal(fs_index_face(ix, 12345, &one, &err), FS_ERR_NOT_FOUND);
    assert_string_equal(err.message, "face 12345: not in the index");
    assert_int_equal(one.count, 0);
    fs_index_close(ix);
}

/* A size filter with a top: more faces than the top are asked for and filtered, and when too few
 * of them are left every hit is read, so the top faces are those the filter keeps. */
static void test_size_filter_with_top(void **state)
{
    fixture *f = *state;
    static float emb[71][FS_EMBEDDING_MAX];
    static store_face faces[71];
    for (int i = 0; i < 71; i++) {
        face_at(&faces[i], emb[i], 0);
        faces[i].face_index = i;
        /* 70 small faces identical to the query, then one large face a little less similar */
        emb[i][0] = i < 70 ? 1.0f : 0.96f;
        emb[i][1] = i < 70 ? 0.0f : 0.28f;
        faces[i].box[2] = faces[i].box[0] + (i < 70 ? 10.0f : 100.0f);
        faces[i].box[3] = faces[i].box[1] + (i < 70 ? 10.0f : 100.0f);
    }
    store_pack_id p = {"buffalo_l", 2, FILE_NAMES, FILE_SHAS, FS_EMBEDDING_MAX, "p1"};
    store_db *st;
    fs_error err;
    assert_int_equal(store_open(f->dir, &p, FS_STORE_WRITE, &st, &err), FS_OK);
    assert_int_equal(store_put_file(st, "/photos/crowd.jpg", 5, 6, "beef", faces, 71, NULL, &err),
                     FS_OK);
    store_close(st);
    fs_index *ix;
    assert_int_equal(fs_index_open(f->dir, NULL, FS_INDEX_READ, &ix, &err), FS_OK);
    fs_face q = {0};
    q.embedding[0] = 1.0f;
    fs_matches m;
    assert_int_equal(fs_index_search(ix, &q, 1, NULL, 0, 0.5f, 1, 50, &m, &err), FS_OK);
    assert_int_equal(m.count, 1);
    assert_int_equal(m.items[0].face_number, 71);
    assert_true(m.items[0].face.box[2] - m.items[0].face.box[0] == 100.0f);
    fs_matches_free(&m);
    /* without the filter, the top face is one of the small ones */
    assert_int_equal(fs_index_search(ix, &q, 1, NULL, 0, 0.5f, 1, 0, &m, &err), FS_OK);
    assert_int_equal(m.count, 1);
    assert_true(m.items[0].similarity > 0.999f);
    fs_matches_free(&m);
    fs_index_close(ix);
}

/* A folder with a link to a folder outside it: fs_index_search also finds the photos the link
 * leads to, fs_index_search_within only those under the folder's own path. */
static void test_search_within(void **state)
{
    fixture *f = *state;
    char lib[128], other[128], link[160], in[160], out[160];
    snprintf(lib, sizeof lib, "%s/lib", f->root);
    snprintf(other, sizeof other, "%s/other", f->root);
    snprintf(link, sizeof link, "%s/link", lib);
    snprintf(in, sizeof in, "%s/a.jpg", lib);
    snprintf(out, sizeof out, "%s/b.jpg", other);
    assert_int_equal(mkdir(lib, 0700), 0);
    assert_int_equal(mkdir(other, 0700), 0);
    assert_int_equal(symlink(other, link), 0);
    static float emb[2][FS_EMBEDDING_MAX];
    store_face faces[2];
    face_at(&faces[0], emb[0], 0);
    face_at(&faces[1], emb[1], 0);
    store_pack_id p = {"buffalo_l", 2, FILE_NAMES, FILE_SHAS, FS_EMBEDDING_MAX, "p1"};
    store_db *st;
    fs_error err;
    assert_int_equal(store_open(f->dir, &p, FS_STORE_WRITE, &st, &err), FS_OK);
    assert_int_equal(store_put_file(st, in, 5, 6, "c1", &faces[0], 1, NULL, &err), FS_OK);
    assert_int_equal(store_put_file(st, out, 5, 6, "c2", &faces[1], 1, NULL, &err), FS_OK);
    store_close(st);
    fs_index *ix;
    assert_int_equal(fs_index_open(f->dir, NULL, FS_INDEX_READ, &ix, &err), FS_OK);
    fs_face q = {0};
    q.embedding[0] = 1.0f;
    const char *folders[1] = {lib};
    fs_matches m;
    assert_int_equal(fs_index_search(ix, &q, 1, folders, 1, 0.5f, 10, 0, &m, &err), FS_OK);
    assert_int_equal(m.count, 2);
    fs_matches_free(&m);
    assert_int_equal(fs_index_search_within(ix, &q, 1, folders, 1, 0.5f, 10, 0, &m, &err), FS_OK);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.items[0].path, in);
    fs_matches_free(&m);
    /* the link itself is not a folder of photos under lib's path either */
    const char *via_link[1] = {link};
    assert_int_equal(fs_index_search_within(ix, &q, 1, via_link, 1, 0.5f, 10, 0, &m, &err),
                     FS_OK);
    assert_int_equal(m.count, 1);
    assert_string_equal(m.items[0].path, out);
    fs_matches_free(&m);
    fs_index_close(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_photo_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_filter_with_top, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_within, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
