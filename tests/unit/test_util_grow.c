/*
 * test_util_grow.c — the growable-array step (src/util/grow.c): the first allocation, doubling,
 * a need beyond the doubled size, no move when there is room, and failures that leave the array
 * and its capacity as they were (a byte size past SIZE_MAX; a refused realloc is covered by the
 * allocation-failure sweep of the sanitizer build, tests/cli/test_alloc_failures.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/grow.h"

static void test_first_allocation(void **state)
{
    (void)state;
    size_t cap = 0;
    int *a = util_grow(NULL, &cap, 1, sizeof *a, 16);
    assert_non_null(a);
    assert_int_equal(cap, 16);
    a[15] = 7; /* the whole capacity is usable (ASan checks it) */
    free(a);

    cap = 0;
    a = util_grow(NULL, &cap, 40, sizeof *a, 16); /* need above first: doubled until it fits */
    assert_non_null(a);
    assert_int_equal(cap, 64);
    free(a);

    cap = 0;
    a = util_grow(NULL, &cap, 1, sizeof *a, 0); /* first 0 means 1 */
    assert_non_null(a);
    assert_int_equal(cap, 1);
    free(a);
}

static void test_doubles_and_keeps_contents(void **state)
{
    (void)state;
    size_t cap = 0, n = 0;
    int *a = NULL;
    for (int i = 0; i < 1000; i++) {
        int *grown = util_grow(a, &cap, n + 1, sizeof *grown, 4);
        assert_non_null(grown);
        a = grown;
        a[n++] = i;
        assert_true(cap >= n);
        assert_true(cap < 2 * n + 4); /* never more than double what is needed */
    }
    assert_int_equal(cap, 1024);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(a[i], i);
    free(a);
}

static void test_no_move_with_room(void **state)
{
    (void)state;
    size_t cap = 8;
    int *a = malloc(cap * sizeof *a);
    assert_non_null(a);
    assert_ptr_equal(util_grow(a, &cap, 8, sizeof *a, 4), a);
    assert_int_equal(cap, 8);
    free(a);
}

static void test_failures_leave_the_array(void **state)
{
    (void)state;
    size_t cap = 4;
    int *a = malloc(cap * sizeof *a);
    assert_non_null(a);
    a[3] = 42;
    /* elements so large that the byte size passes SIZE_MAX */
    assert_null(util_grow(a, &cap, 5, SIZE_MAX / 4, 4));
    assert_int_equal(cap, 4);
    assert_int_equal(a[3], 42); /* still ours, unchanged */
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_allocation),
        cmocka_unit_test(test_doubles_and_keeps_contents),
        cmocka_unit_test(test_no_move_with_room),
        cmocka_unit_test(test_failures_leave_the_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
