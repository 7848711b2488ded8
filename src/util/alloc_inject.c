/*
 * alloc_inject.c — the counters behind alloc_inject.h (test builds only; see there).
 */
#ifdef FACESEARCH_ALLOC_INJECT

#include "util/alloc_inject.h"
/* the real functions here (the build force-includes the header, macros and all, into this file) */
#undef malloc
#undef calloc
#undef realloc
#undef aligned_alloc
#undef strdup
#undef realpath

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

static atomic_long calls;
static atomic_long fail_at = -1; /* -1: not read from the environment yet; 0: never fail */

static void write_count(void)
{
    const char *path = getenv("FS_ALLOC_COUNT_FILE");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f) {
        fprintf(f, "%ld\n", atomic_load(&calls));
        fclose(f);
    }
}

/* Counts a call; true when this one is to fail. */
static bool fail_now(void)
{
    long at = atomic_load(&fail_at);
    if (at < 0) {
        const char *v = getenv("FS_FAIL_ALLOC_AT");
        long want = v ? strtol(v, NULL, 10) : 0;
        long unset = -1;
        if (atomic_compare_exchange_strong(&fail_at, &unset, want > 0 ? want : 0) &&
            getenv("FS_ALLOC_COUNT_FILE"))
            atexit(write_count);
        at = atomic_load(&fail_at);
    }
    long n = atomic_fetch_add(&calls, 1) + 1;
    if (at > 0 && n == at) {
        errno = ENOMEM;
        return true;
    }
    return false;
}

void *util_inject_malloc(size_t size)
{
    return fail_now() ? NULL : malloc(size);
}

void *util_inject_calloc(size_t count, size_t size)
{
    return fail_now() ? NULL : calloc(count, size);
}

void *util_inject_realloc(void *ptr, size_t size)
{
    return fail_now() ? NULL : realloc(ptr, size);
}

void *util_inject_aligned_alloc(size_t alignment, size_t size)
{
    return fail_now() ? NULL : aligned_alloc(alignment, size);
}

char *util_inject_strdup(const char *s)
{
    return fail_now() ? NULL : strdup(s);
}

char *util_inject_realpath(const char *path, char *resolved)
{
    if (!resolved && fail_now())
        return NULL;
    return realpath(path, resolved);
}

#else
typedef int fs_alloc_inject_unused; /* ISO C forbids an empty translation unit */
#endif
