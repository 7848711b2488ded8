/*
 * test_digest_set.c — the content-digest set of index runs (src/index/digest_set.c): membership,
 * duplicates, digests that share their first bytes (same home slot), a set filled to what it was
 * sized for, and an uninitialised set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "index/digest_set.h"
#include "util/sha256.h"

static void digest_of(uint32_t i, uint8_t d[32])
{
    util_sha256 h;
    util_sha256_init(&h);
    util_sha256_update(&h, &i, sizeof i);
    util_sha256_final(&h, d);
}

static void test_membership(void **state)
{
    (void)state;
    index_digest_set s;
    const size_t n = 5000;
    assert_int_equal(index_digest_set_init(&s, n), 0);
    uint8_t d[32];
    for (uint32_t i = 0; i < n; i++) {
        digest_of(i, d);
        assert_false(index_digest_set_has(&s, d));
        assert_int_equal(index_digest_set_add(&s, d), 0);
        assert_int_equal(index_digest_set_add(&s, d), 1); /* a second time: already there */
    }
    assert_int_equal(s.count, n);
    for (uint32_t i = 0; i < 2 * n; i++) {
        digest_of(i, d);
        assert_int_equal(index_digest_set_has(&s, d), i < n);
    }
    index_digest_set_free(&s);
    assert_false(index_digest_set_has(&s, d)); /* freed: empty */
}

static void test_same_home_slot(void **state)
{
    (void)state;
    index_digest_set s;
    assert_int_equal(index_digest_set_init(&s, 3), 0);
    uint8_t a[32] = {0}, b[32] = {0}, c[32] = {0};
    b[31] = 1; /* same first 8 bytes as a: same home slot, probed past */
    c[31] = 2;
    assert_int_equal(index_digest_set_add(&s, a), 0);
    assert_int_equal(index_digest_set_add(&s, b), 0);
    assert_true(index_digest_set_has(&s, a));
    assert_true(index_digest_set_has(&s, b));
    assert_false(index_digest_set_has(&s, c));
    assert_int_equal(index_digest_set_add(&s, c), 0);
    assert_int_equal(index_digest_set_add(&s, b), 1);
    index_digest_set_free(&s);

    index_digest_set none = {0};
    assert_false(index_digest_set_has(&none, a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_same_home_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
