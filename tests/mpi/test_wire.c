/*
 * test_wire.c — the bytes that go between the ranks of a sharded library (src/mpi/wire.c),
 * without MPI: matches, people's units (with their renames), the units the library knows and a
 * person's faces read back as written, and every
 * malformed message (cut at any byte, counts beyond the bytes, units of another length) refused
 * with FS_ERR_INTERNAL, leaving nothing half-made (the sanitizer build checks the leaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mpi/mpi_internal.h"

static void two_matches(fs_matches *mt)
{
    memset(mt, 0, sizeof *mt);
    mt->items = calloc(2, sizeof *mt->items);
    assert_non_null(mt->items);
    mt->count = 2;
    mt->files = 7;
    mt->faces = 9;
    for (int i = 0; i < 2; i++) {
        fs_match *x = &mt->items[i];
        x->similarity = 0.5f + (float)i / 4;
        x->face_number = i + 1;
        x->photo_id = 10 + i;
        x->face_id = 20 + i;
        x->face.box[2] = 30.0f + (float)i;
        x->face.score = 0.9f;
        x->path = strdup(i ? "/photos/b é.jpg" : "/photos/a.jpg");
    }
}

static void test_matches(void **state)
{
    (void)state;
    fs_matches mt;
    two_matches(&mt);
    wbuf w = {0};
    wire_put_matches(&w, &mt);
    assert_false(w.nomem);
    fs_error err;
    fs_matches back;
    rbuf r = {.p = w.data, .left = w.len};
    assert_int_equal(wire_get_matches(&r, &back, &err), FS_OK);
    assert_int_equal(r.left, 0);
    assert_int_equal(back.count, 2);
    assert_int_equal(back.files, 7);
    assert_int_equal(back.faces, 9);
    assert_int_equal(back.items[1].face_id, 21);
    assert_true(back.items[1].face.box[2] == 31.0f);
    assert_string_equal(back.items[1].path, "/photos/b é.jpg");
    fs_matches_free(&back);
    /* cut anywhere: refused, nothing left */
    for (size_t len = 0; len < w.len; len++) {
        rbuf cut = {.p = w.data, .left = len};
        assert_int_equal(wire_get_matches(&cut, &back, &err), FS_ERR_INTERNAL);
        assert_string_equal(err.message, "malformed search results");
        assert_int_equal(back.count, 0);
        assert_null(back.items);
    }
    /* a count beyond the bytes */
    uint64_t huge = UINT64_MAX / 2;
    memcpy(w.data, &huge, sizeof huge);
    rbuf bad = {.p = w.data, .left = w.len};
    assert_int_equal(wire_get_matches(&bad, &back, &err), FS_ERR_INTERNAL);
    free(w.data);
    fs_matches_free(&mt);
}

static void make_units(fs_people_units *u, int dim)
{
    memset(u, 0, sizeof *u);
    u->count = 2;
    u->dim = dim;
    u->items = calloc(2, sizeof *u->items);
    u->codes = calloc(2 * (size_t)dim, sizeof *u->codes);
    u->scales = calloc(2, sizeof *u->scales);
    assert_true(u->items && u->codes && u->scales);
    u->items[0] = (fs_people_unit){.shard = 2, .person_id = 5, .face_id = 50, .faces = 4,
                                   .photos = 3, .name = strdup("Ann"), .path = strdup("/a.jpg")};
    u->items[1] = (fs_people_unit){.shard = 1, .face_id = 7, .faces = 1, .photos = 1,
                                   .path = strdup("/b.jpg")};
    for (int d = 0; d < 2 * dim; d++)
        u->codes[d] = (int8_t)d;
    u->scales[1] = 0.25f;
    u->unsure = 6;
    u->unseen = 2;
    u->renames = calloc(2, sizeof *u->renames);
    assert_non_null(u->renames);
    u->n_renames = 2;
    u->renames[0] = (fs_unit_rename){{2, 0, 12}, {2, 5, 0}};
    u->renames[1] = (fs_unit_rename){{1, 8, 0}, {1, 0, 7}};
}

static void test_units(void **state)
{
    (void)state;
    fs_people_units u;
    make_units(&u, 8);
    wbuf w = {0};
    wire_put_units(&w, &u);
    assert_false(w.nomem);
    fs_error err;
    /* read twice into one list: appended */
    fs_people_units back = {0};
    for (int round = 0; round < 2; round++) {
        rbuf r = {.p = w.data, .left = w.len};
        assert_int_equal(wire_get_units(&r, &back, &err), FS_OK);
        assert_int_equal(r.left, 0);
    }
    assert_int_equal(back.count, 4);
    assert_int_equal(back.dim, 8);
    assert_string_equal(back.items[2].name, "Ann");
    assert_null(back.items[3].name); /* unnamed stays unnamed */
    assert_string_equal(back.items[3].path, "/b.jpg");
    assert_int_equal(back.items[2].shard, 2);
    assert_int_equal(back.items[2].person_id, 5);
    assert_int_equal(back.items[2].faces, 4);
    assert_int_equal(back.items[2].photos, 3);
    assert_int_equal(back.codes[3 * 8 + 7], 15);
    assert_true(back.scales[3] == 0.25f);
    assert_int_equal(back.unsure, 12); /* summed */
    assert_int_equal(back.unseen, 4);
    assert_int_equal(back.n_renames, 4); /* appended */
    assert_int_equal(back.renames[2].from.face_id, 12);
    assert_int_equal(back.renames[2].to.person_id, 5);
    assert_int_equal(back.renames[3].from.shard, 1);
    assert_int_equal(back.renames[3].to.face_id, 7);
    /* units of another length than those already read: refused */
    fs_people_units other;
    make_units(&other, 4);
    wbuf w4 = {0};
    wire_put_units(&w4, &other);
    rbuf r4 = {.p = w4.data, .left = w4.len};
    assert_int_equal(wire_get_units(&r4, &back, &err), FS_ERR_INTERNAL);
    assert_int_equal(back.count, 4);
    fs_people_units_free(&back);
    /* cut anywhere: refused; what came before the cut is whole */
    for (size_t len = 0; len < w.len; len++) {
        fs_people_units part = {0};
        rbuf cut = {.p = w.data, .left = len};
        assert_int_equal(wire_get_units(&cut, &part, &err), FS_ERR_INTERNAL);
        assert_string_equal(err.message, "malformed people units");
        assert_true(part.count <= 2 && part.n_renames == 0);
        fs_people_units_free(&part);
    }
    free(w.data);
    free(w4.data);
    fs_people_units_free(&u);
    fs_people_units_free(&other);
}

static void test_known(void **state)
{
    (void)state;
    const fs_library_known known[] = {{{0, 3, 0}, 31, 1}, {{2, 0, 12}, 12, 0}};
    wbuf w = {0};
    wire_put_known(&w, known, 2);
    assert_false(w.nomem);
    fs_error err;
    fs_library_known *back;
    size_t n;
    rbuf r = {.p = w.data, .left = w.len};
    assert_int_equal(wire_get_known(&r, &back, &n, &err), FS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(r.left, 0);
    assert_memory_equal(back, known, sizeof known);
    free(back);
    for (size_t len = 0; len < w.len; len++) {
        rbuf cut = {.p = w.data, .left = len};
        assert_int_equal(wire_get_known(&cut, &back, &n, &err), FS_ERR_INTERNAL);
        assert_string_equal(err.message, "malformed units of the library's people");
        assert_null(back);
        assert_int_equal(n, 0);
    }
    /* none */
    wbuf empty = {0};
    wire_put_known(&empty, NULL, 0);
    r = (rbuf){.p = empty.data, .left = empty.len};
    assert_int_equal(wire_get_known(&r, &back, &n, &err), FS_OK);
    assert_int_equal(n, 0);
    assert_null(back);
    free(empty.data);
    free(w.data);
}

static void test_person_faces(void **state)
{
    (void)state;
    fs_person_faces f = {0};
    f.items = calloc(2, sizeof *f.items);
    assert_non_null(f.items);
    f.count = 2;
    f.items[0] = (fs_person_face){.face_id = 3, .photo_id = 4, .path = strdup("/x.jpg"),
                                  .face_number = 2, .landmarks = {[9] = 41.5f},
                                  .quality = 0.75f, .pinned = 1, .person_id = 9};
    f.items[1] = (fs_person_face){.face_id = 5, .photo_id = 6, .path = strdup("/y.jpg")};
    wbuf w = {0};
    wire_put_person_faces(&w, &f);
    fs_error err;
    fs_person_faces back = {0};
    rbuf r = {.p = w.data, .left = w.len};
    assert_int_equal(wire_get_person_faces(&r, &back, &err), FS_OK);
    assert_int_equal(back.count, 2);
    assert_int_equal(back.items[0].face_number, 2);
    assert_int_equal(back.items[0].pinned, 1);
    assert_int_equal(back.items[0].person_id, 9); /* the unit a library edit moves */
    assert_int_equal(back.items[1].person_id, 0);
    assert_true(back.items[0].quality == 0.75f);
    assert_true(back.items[0].landmarks[9] == 41.5f);
    assert_string_equal(back.items[1].path, "/y.jpg");
    fs_person_faces_free(&back);
    for (size_t len = 0; len < w.len; len++) {
        fs_person_faces part = {0};
        rbuf cut = {.p = w.data, .left = len};
        assert_int_equal(wire_get_person_faces(&cut, &part, &err), FS_ERR_INTERNAL);
        assert_string_equal(err.message, "malformed person's faces");
        assert_true(part.count <= 1);
        fs_person_faces_free(&part);
    }
    free(w.data);
    fs_person_faces_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_person_faces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
