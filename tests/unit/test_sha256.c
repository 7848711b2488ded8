/*
 * test_sha256.c — SHA-256 against the FIPS 180-4 example vectors, streaming in odd-sized pieces,
 * and the file helper's error for a missing file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/sha256.h"

static void hash_string(const char *s, size_t piece, char hex[65])
{
    fs_sha256 h;
    uint8_t d[32];
    fs_sha256_init(&h);
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i += piece)
        fs_sha256_update(&h, s + i, len - i < piece ? len - i : piece);
    fs_sha256_final(&h, d);
    fs_sha256_hex(d, hex);
}

static void test_known_vectors(void **state)
{
    (void)state;
    char hex[65];
    hash_string("", 1, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hash_string("abc", 1, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    for (size_t piece = 1; piece <= 64; piece += 7) {
        hash_string(two_blocks, piece, hex);
        assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }
}

static void test_million_a(void **state)
{
    (void)state;
    fs_sha256 h;
    uint8_t d[32];
    char hex[65], block[1000];
    memset(block, 'a', sizeof block);
    fs_sha256_init(&h);
    for (int i = 0; i < 1000; i++)
        fs_sha256_update(&h, block, sizeof block);
    fs_sha256_final(&h, d);
    fs_sha256_hex(d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_file(void **state)
{
    (void)state;
    char path[] = "/tmp/fs_sha256_XXXXXX", hex[65];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("abc", f);
    fclose(f);
    assert_int_equal(fs_sha256_file(path, hex, NULL), FS_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    remove(path);

    fs_error err;
    assert_int_equal(fs_sha256_file(path, hex, &err), FS_ERR_NOT_FOUND);
    char want[600];
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(err.message, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
