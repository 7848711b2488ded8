/*
 * alloc_inject.h — allocation-failure injection, for tests only.
 *
 * Built in only when FACESEARCH_ALLOC_INJECT is defined (the sanitizer build, see CMakeLists.txt),
 * where the compiler force-includes this header into every C file of the library and the tool:
 * malloc, calloc, realloc, aligned_alloc, strdup and realpath then go through the counters below.
 * With FS_FAIL_ALLOC_AT=N in the environment, the N-th such call of the process (from 1) fails as
 * if memory ran out, once; every other call succeeds. With FS_ALLOC_COUNT_FILE=PATH the process
 * writes, at exit, how many calls it made. tests/cli/test_alloc_failures.sh fails each call of a
 * command in turn: the command must end with a clear error and no crash or leak (ASan).
 * Allocations made inside other libraries (libvips, SQLite, oneDNN) are not counted.
 * The counters are process-wide state: acceptable in a test build, never compiled otherwise.
 */
#ifndef FS_UTIL_ALLOC_INJECT_H
#define FS_UTIL_ALLOC_INJECT_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void *util_inject_malloc(size_t size);
void *util_inject_calloc(size_t count, size_t size);
void *util_inject_realloc(void *ptr, size_t size);
void *util_inject_aligned_alloc(size_t alignment, size_t size);
char *util_inject_strdup(const char *s);
char *util_inject_realpath(const char *path, char *resolved);

#define malloc(size) util_inject_malloc(size)
#define calloc(count, size) util_inject_calloc(count, size)
#define realloc(ptr, size) util_inject_realloc(ptr, size)
#define aligned_alloc(alignment, size) util_inject_aligned_alloc(alignment, size)
#define strdup(s) util_inject_strdup(s)
#define realpath(path, resolved) util_inject_realpath(path, resolved)

#endif
