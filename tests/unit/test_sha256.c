/*
 * test_sha256.c — SHA-256 against the FIPS 180-4 example vectors, streaming in odd-sized pieces,
 * on both block functions (the CPU's SHA instructions where it has them, and the portable code),
 * the two against each other on random messages of every length around the block edges, and the
 * file helper's error for a missing file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/sha256.h"

/* Which block function the tests below run: the one init picks, or the portable one. */
static bool g_portable;

static void start(util_sha256 *h)
{
    util_sha256_init(h);
    if (g_portable)
        h->accelerated = false;
}

static void hash_string(const char *s, size_t piece, char hex[65])
{
    util_sha256 h;
    uint8_t d[32];
    start(&h);
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i += piece)
        util_sha256_update(&h, s + i, len - i < piece ? len - i : piece);
    util_sha256_final(&h, d);
    util_sha256_hex(d, hex);
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
        assert_string_equal(hex,
                            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }
}

static void test_million_a(void **state)
{
    (void)state;
    util_sha256 h;
    uint8_t d[32];
    char hex[65], block[1000];
    memset(block, 'a', sizeof block);
    start(&h);
    for (int i = 0; i < 1000; i++)
        util_sha256_update(&h, block, sizeof block);
    util_sha256_final(&h, d);
    util_sha256_hex(d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_known_vectors_portable(void **state)
{
    g_portable = true;
    test_known_vectors(state);
    test_million_a(state);
    g_portable = false;
}

/* Hashes msg[0..len) in uneven pieces with the SHA-instruction and the portable block functions,
 * and checks that they agree. */
static void check_paths_agree(const uint8_t *msg, size_t len)
{
    uint8_t d[2][32];
    for (int k = 0; k < 2; k++) {
        util_sha256 h;
        util_sha256_init(&h);
        h.accelerated = k == 0;
        for (size_t i = 0, piece = 1; i < len; i += piece, piece = piece * 3 % 1000 + 1)
            util_sha256_update(&h, msg + i, len - i < piece ? len - i : piece);
        util_sha256_final(&h, d[k]);
    }
    assert_memory_equal(d[0], d[1], 32);
}

/* Both block functions agree on messages of 0..300 bytes and on 1 MB. */
static void test_paths_agree(void **state)
{
    (void)state;
    util_sha256 probe;
    util_sha256_init(&probe);
    if (!probe.accelerated) {
        print_message("this CPU has no SHA instructions: only the portable code runs here\n");
        return;
    }
    size_t n = 1 << 20;
    uint8_t *msg = malloc(n);
    assert_non_null(msg);
    uint32_t seed = 12345;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        msg[i] = (uint8_t)(seed >> 16);
    }
    for (size_t len = 0; len <= 300; len++)
        check_paths_agree(msg, len);
    check_paths_agree(msg, n);
    free(msg);
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
    assert_int_equal(util_sha256_file(path, hex, NULL), FS_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    remove(path);

    fs_error err;
    assert_int_equal(util_sha256_file(path, hex, &err), FS_ERR_NOT_FOUND);
    char want[600];
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(err.message, want);
}

static void test_from_hex(void **state)
{
    (void)state;
    static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    uint8_t d[32];
    char back[65];
    assert_int_equal(util_sha256_from_hex(abc, d), 0);
    util_sha256_hex(d, back);
    assert_string_equal(back, abc);
    assert_int_equal(util_sha256_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", d), 0);
    util_sha256_hex(d, back);
    assert_string_equal(back, abc);
    /* refused: short (even and odd, read no further than the end), long, not hex */
    assert_int_equal(util_sha256_from_hex("", d), -1);
    assert_int_equal(util_sha256_from_hex("ba7816bf8", d), -1);
    assert_int_equal(util_sha256_from_hex("ba7816bf", d), -1);
    char bad[70];
    snprintf(bad, sizeof bad, "%s0", abc);
    assert_int_equal(util_sha256_from_hex(bad, d), -1);
    snprintf(bad, sizeof bad, "%s", abc);
    bad[10] = 'g';
    assert_int_equal(util_sha256_from_hex(bad, d), -1);
    bad[10] = ' ';
    assert_int_equal(util_sha256_from_hex(bad, d), -1);
    bad[10] = '+';
    assert_int_equal(util_sha256_from_hex(bad, d), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_known_vectors_portable),
        cmocka_unit_test(test_paths_agree),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_from_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
