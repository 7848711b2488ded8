/*
 * big_alloc.h — memory for large buffers (network weights, activations): aligned, and for blocks
 * of several megabytes backed by transparent huge pages where the kernel offers them on request
 * (madvise mode, Debian's default). The first touch of a fresh 4 KiB page costs a page fault,
 * and on virtual machines a fault costs microseconds: a query search touched ~100 MB through
 * ~21,000 faults, a third of its time. A 2 MiB page is one fault.
 * Free with free(); NULL on failure, like malloc.
 */
#ifndef FS_UTIL_BIG_ALLOC_H
#define FS_UTIL_BIG_ALLOC_H

#include <stddef.h>

/* size bytes (rounded up to 64, and to whole 2 MiB pages for blocks of at least 2 MiB), 64-byte
 * aligned. */
void *util_big_alloc(size_t size);

#endif
