/*
 * fault_shim.c — a failing disk for the fault tests (tests/cli/test_e2e_faults.sh), preloaded
 * with LD_PRELOAD into facesearch: writes to files whose path contains FS_FAULT_PATH succeed
 * FS_FAULT_AFTER times (default 0), then every later one fails with FS_FAULT_ERRNO (EIO or
 * ENOSPC), as a dying disk or a full one would. write, pwrite, pwrite64, fsync and fdatasync are
 * intercepted; reads are left alone. Without FS_FAULT_PATH the shim changes nothing.
 * Test-only: it is never linked into facesearch.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static atomic_long writes_seen;

/* Whether this call on fd is to fail; sets errno when it is. */
static int should_fail(int fd)
{
    const char *want = getenv("FS_FAULT_PATH");
    if (!want || !*want)
        return 0;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0)
        return 0;
    path[n] = '\0';
    if (!strstr(path, want))
        return 0;
    const char *after = getenv("FS_FAULT_AFTER");
    long ok_count = after ? strtol(after, NULL, 10) : 0;
    if (atomic_fetch_add(&writes_seen, 1) < ok_count)
        return 0;
    const char *which = getenv("FS_FAULT_ERRNO");
    errno = which && strcmp(which, "ENOSPC") == 0 ? ENOSPC : EIO;
    return 1;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef int (*sync_fn)(int);

/* The next definition of `name` (libc's), looked up once. */
#define REAL(type, name)                                                                          \
    static type real_fn = NULL;                                                                   \
    if (!real_fn)                                                                                 \
        real_fn = (type)dlsym(RTLD_NEXT, name);

ssize_t write(int fd, const void *buf, size_t count)
{
    REAL(write_fn, "write")
    return should_fail(fd) ? -1 : real_fn(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
    REAL(pwrite_fn, "pwrite")
    return should_fail(fd) ? -1 : real_fn(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset)
{
    REAL(pwrite_fn, "pwrite64")
    return should_fail(fd) ? -1 : real_fn(fd, buf, count, offset);
}

int fsync(int fd)
{
    REAL(sync_fn, "fsync")
    return should_fail(fd) ? -1 : real_fn(fd);
}

int fdatasync(int fd)
{
    REAL(sync_fn, "fdatasync")
    return should_fail(fd) ? -1 : real_fn(fd);
}
