/*
 * test_shards.c — sharded libraries without MPI (src/shard/, facesearch.h "Sharded libraries"):
 * the manifest (made once, checked after, never replaced; malformed ones refused), shard
 * folders, the content -> shard rule (and a photo that cannot be read), merging per-shard
 * results into the ranking of one index, and the walk list of a sharded run (fs_walk_photos).
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
#include "face/face.h"

static char *temp_dir(void)
{
    char tmpl[] = "/tmp/fs_shards_XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_manifest(void **state)
{
    (void)state;
    char *tmp = temp_dir(), dir[256], path[600];
    snprintf(dir, sizeof dir, "%s/lib", tmp);
    fs_error err;
    fs_shards_info info;
    assert_int_equal(fs_shards_open(dir, &info, &err), FS_ERR_NOT_FOUND);
    char want[600];
    snprintf(want, sizeof want, "%s: not a sharded library (no %s/manifest)", dir, dir);
    assert_string_equal(err.message, want);

    assert_int_equal(fs_shards_create(dir, "default", 3, &err), FS_OK);
    assert_int_equal(fs_shards_open(dir, &info, &err), FS_OK);
    assert_string_equal(info.pack, "default");
    assert_string_equal(info.pipeline, FS_PIPELINE_VERSION);
    assert_int_equal(info.count, 3);
    /* the same parameters again: accepted; others: refused, the manifest kept */
    assert_int_equal(fs_shards_create(dir, "default", 3, &err), FS_OK);
    assert_int_equal(fs_shards_create(dir, "default", 4, &err), FS_ERR_ARG);
    snprintf(want, sizeof want, "%s: the library has 3 shards, not 4 (run with -np 3)", dir);
    assert_string_equal(err.message, want);
    assert_int_equal(fs_shards_create(dir, "dlib", 3, &err), FS_ERR_ARG);
    snprintf(want, sizeof want, "%s: the library holds faces of model pack default, not dlib", dir);
    assert_string_equal(err.message, want);
    assert_int_equal(fs_shards_open(dir, &info, &err), FS_OK);
    assert_int_equal(info.count, 3);
    assert_int_equal(fs_shards_create(dir, "default", 0, &err), FS_ERR_ARG);

    /* no temporary file is left beside it */
    snprintf(path, sizeof path, "ls -A '%s' | grep -v '^manifest$' | wc -l | grep -qx 0", dir);
    assert_int_equal(system(path), 0);

    char shard[300];
    assert_int_equal(fs_shard_dir(dir, 7, shard, sizeof shard, &err), FS_OK);
    snprintf(want, sizeof want, "%s/shard-007", dir);
    assert_string_equal(shard, want);
    assert_int_equal(fs_shard_dir(dir, -1, shard, sizeof shard, &err), FS_ERR_ARG);
    remove_tree(tmp);
    free(tmp);
}

static void test_bad_manifests(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        fs_status code;
        const char *message_end;
    } cases[] = {
        {"something else 1\n", FS_ERR_FORMAT, "not a facesearch shards manifest"},
        {"facesearch-shards 1\npack default\npipeline 4\nassign sha256-prefix-mod\n",
         FS_ERR_FORMAT, "incomplete manifest"},
        {"facesearch-shards 1\npack default\npipeline 4\ncount 0\nassign sha256-prefix-mod\n",
         FS_ERR_FORMAT, "bad count '0'"},
        {"facesearch-shards 1\npack default\npipeline 4\ncount 2\nassign round-robin\n",
         FS_ERR_UNSUPPORTED, "unknown assignment 'round-robin'"},
        {"facesearch-shards 1\npack default\npipeline 4\ncount 2\ncolour blue\n", FS_ERR_FORMAT,
         "unknown key 'colour'"},
        {"facesearch-shards 1\npack default\npipeline 1\ncount 2\nassign sha256-prefix-mod\n",
         FS_ERR_ARG, "(index into a new folder)"},
    };
    char *tmp = temp_dir(), path[300];
    snprintf(path, sizeof path, "%s/manifest", tmp);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file(path, cases[i].text);
        fs_shards_info info;
        fs_error err;
        assert_int_equal(fs_shards_open(tmp, &info, &err), cases[i].code);
        size_t n = strlen(err.message), m = strlen(cases[i].message_end);
        assert_true(n >= m);
        assert_string_equal(err.message + n - m, cases[i].message_end);
        /* nor is it replaced by a create */
        assert_int_not_equal(fs_shards_create(tmp, "default", 2, &err), FS_OK);
    }
    remove_tree(tmp);
    free(tmp);
}

static void test_assignment(void **state)
{
    (void)state;
    uint8_t d[32] = {0};
    d[7] = 10; /* prefix 10 */
    assert_int_equal(fs_shard_of(d, 3), 1);
    assert_int_equal(fs_shard_of(d, 1), 0);
    d[0] = 0x80; /* 2^63 + 10: unsigned arithmetic */
    assert_int_equal(fs_shard_of(d, 7), (int)(((uint64_t)1 << 63 | 10) % 7));
    d[8] = 0xff; /* bytes past the prefix do not count */
    assert_int_equal(fs_shard_of(d, 7), (int)(((uint64_t)1 << 63 | 10) % 7));

    /* a file's shard is its content's: the empty file's sha256 starts e3b0c44298fc1c14 */
    char *tmp = temp_dir(), a[300], b[300];
    snprintf(a, sizeof a, "%s/a.jpg", tmp);
    snprintf(b, sizeof b, "%s/b.jpg", tmp);
    write_file(a, "");
    write_file(b, "");
    assert_int_equal(fs_photo_shard(a, 5), (int)(0xe3b0c44298fc1c14ull % 5));
    assert_int_equal(fs_photo_shard(a, 5), fs_photo_shard(b, 5));
    /* unreadable: by its path, the same every time */
    snprintf(b, sizeof b, "%s/missing.jpg", tmp);
    int k = fs_photo_shard(b, 5);
    assert_true(k >= 0 && k < 5);
    assert_int_equal(fs_photo_shard(b, 5), k);
    remove_tree(tmp);
    free(tmp);
}

static void test_library_ids(void **state)
{
    (void)state;
    /* one shard: the shard's own ids */
    assert_int_equal(fs_library_id(7, 0, 1), 7);
    /* three shards: unique across them, and back */
    int seen[64] = {0};
    for (int k = 0; k < 3; k++)
        for (int64_t id = 1; id <= 20; id++) {
            int64_t lib = fs_library_id(id, k, 3);
            assert_true(lib > 0 && lib < 64);
            assert_int_equal(seen[lib]++, 0);
            int back_k;
            int64_t back_id;
            assert_int_equal(fs_library_id_split(lib, 3, &back_k, &back_id), 0);
            assert_int_equal(back_k, k);
            assert_int_equal(back_id, id);
        }
    /* out of range: no id */
    assert_int_equal(fs_library_id(0, 0, 3), 0);
    assert_int_equal(fs_library_id(-4, 0, 3), 0);
    assert_int_equal(fs_library_id(5, 3, 3), 0);
    assert_int_equal(fs_library_id(5, -1, 3), 0);
    assert_int_equal(fs_library_id(INT64_MAX / 2, 1, 3), 0);
    int k;
    int64_t id;
    assert_int_equal(fs_library_id_split(0, 3, &k, &id), -1);
    assert_int_equal(fs_library_id_split(-3, 3, &k, &id), -1);
    assert_int_equal(fs_library_id_split(2, 3, &k, &id), -1); /* shard id 0 */
    assert_int_equal(fs_library_id_split(5, 0, &k, &id), -1);
}

static fs_match match(const char *path, float similarity, int face)
{
    fs_match m = {.similarity = similarity, .face_number = face};
    m.path = strdup(path);
    assert_non_null(m.path);
    return m;
}

static void test_merge(void **state)
{
    (void)state;
    fs_matches parts[3] = {{0}};
    /* each shard's best 3, best first, as fs_index_search returns them */
    fs_match a[] = {match("/p/c.jpg", 0.9f, 1), match("/p/a.jpg", 0.5f, 2),
                    match("/p/a.jpg", 0.4f, 1)};
    fs_match b[] = {match("/p/b.jpg", 0.9f, 1), match("/p/d.jpg", 0.5f, 1)};
    parts[0] = (fs_matches){.items = malloc(sizeof a), .count = 3, .files = 4, .faces = 9};
    parts[1] = (fs_matches){.items = malloc(sizeof b), .count = 2, .files = 2, .faces = 3,
                            .files_failed = 1};
    assert_non_null(parts[0].items);
    assert_non_null(parts[1].items);
    memcpy(parts[0].items, a, sizeof a);
    memcpy(parts[1].items, b, sizeof b);
    fs_matches out;
    fs_error err;
    assert_int_equal(fs_matches_merge(parts, 3, 3, &out, &err), FS_OK);
    /* equal similarities by path, then face number; the top 3 kept */
    assert_int_equal(out.count, 3);
    assert_string_equal(out.items[0].path, "/p/b.jpg");
    assert_string_equal(out.items[1].path, "/p/c.jpg");
    assert_string_equal(out.items[2].path, "/p/a.jpg");
    assert_int_equal(out.items[2].face_number, 2);
    assert_int_equal(out.files, 6);
    assert_int_equal(out.faces, 12);
    assert_int_equal(out.files_failed, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(parts[i].count, 0);
    fs_matches_free(&out);
    /* nothing at all */
    assert_int_equal(fs_matches_merge(parts, 3, 0, &out, &err), FS_OK);
    assert_int_equal(out.count, 0);
    fs_matches_free(&out);
}

static void test_walk_list(void **state)
{
    (void)state;
    char *tmp = temp_dir(), path[300];
    const char *names[] = {"b/2.jpg", "a/1.png", "b/.hidden.jpg", "a/notes.txt", "c.jpeg"};
    snprintf(path, sizeof path, "%s/a", tmp);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/b", tmp);
    mkdir(path, 0777);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", tmp, names[i]);
        write_file(path, "x");
    }
    char a[300];
    snprintf(a, sizeof a, "%s/a", tmp);
    const char *roots[] = {tmp, a}; /* a is reached twice: listed once */
    fs_photo_list list;
    fs_error err;
    assert_int_equal(fs_walk_photos(roots, 2, 0, NULL, NULL, NULL, &list, &err), FS_OK);
    assert_int_equal(list.count, 3);
    snprintf(path, sizeof path, "%s/a/1.png", tmp);
    assert_string_equal(list.items[0].path, path);
    snprintf(path, sizeof path, "%s/b/2.jpg", tmp);
    assert_string_equal(list.items[1].path, path);
    snprintf(path, sizeof path, "%s/c.jpeg", tmp);
    assert_string_equal(list.items[2].path, path);
    assert_int_equal(list.items[0].size, 1);
    fs_photo_list_free(&list);
    assert_int_equal(fs_walk_photos(roots, 1, 1, NULL, NULL, NULL, &list, &err), FS_OK);
    assert_int_equal(list.count, 4); /* with the hidden one */
    fs_photo_list_free(&list);
    snprintf(path, sizeof path, "%s/none", tmp);
    const char *missing[] = {path};
    assert_int_not_equal(fs_walk_photos(missing, 1, 0, NULL, NULL, NULL, &list, &err), FS_OK);
    assert_int_equal(list.count, 0);
    remove_tree(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest),
        cmocka_unit_test(test_bad_manifests),
        cmocka_unit_test(test_assignment),
        cmocka_unit_test(test_library_ids),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_walk_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
