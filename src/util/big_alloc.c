/*
 * big_alloc.c — large aligned buffers, on transparent huge pages when large enough (big_alloc.h).
 */
#include "util/big_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_FROM ((size_t)2 << 20)

void *util_big_alloc(size_t size)
{
    if (size > SIZE_MAX - HUGE_PAGE)
        return NULL;
    if (size < HUGE_FROM)
        return aligned_alloc(64, size ? (size + 63) / 64 * 64 : 64);
    size = (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = aligned_alloc(HUGE_PAGE, size);
    if (p)
        (void)madvise(p, size, MADV_HUGEPAGE); /* advice only: 4 KiB pages if refused */
    return p;
}
