/*
 * writer_lock.c — the index's writer lock (see writer_lock.h). flock() is released by the kernel
 * when the holder exits, even on kill -9, so a stale lock file never blocks anyone; the file
 * itself stays (removing it would let two writers lock two different files).
 */
#include "index/writer_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"

/* The pid the holder wrote, or 0 if none yet (it writes it right after taking the lock). */
static long holder_pid(int fd)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        char buf[32] = {0};
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
        if (pid > 0)
            return pid;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

fs_status index_writer_lock(const char *dir, const char *label, int wait, int *fd, fs_error *err)
{
    *fd = -1;
    size_t len = strlen(dir) + sizeof "/writer.lock";
    char *path = malloc(len);
    if (!path)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    snprintf(path, len, "%s/writer.lock", dir);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (f < 0) {
        fs_status rc = util_fail(err, FS_ERR_IO, "%s: cannot open the writer lock: %s", label,
                                 strerror(errno));
        free(path);
        return rc;
    }
    free(path);
    int r;
    while ((r = flock(f, LOCK_EX | (wait ? 0 : LOCK_NB))) != 0 && errno == EINTR)
        ;
    if (r != 0) {
        int e = errno;
        long pid = e == EWOULDBLOCK ? holder_pid(f) : 0;
        close(f);
        if (e != EWOULDBLOCK)
            return util_fail(err, FS_ERR_IO, "%s: cannot take the writer lock: %s", label,
                             strerror(e));
        if (pid > 0)
            return util_fail(err, FS_ERR_BUSY, "%s: another index run is active (pid %ld)", label,
                             pid);
        return util_fail(err, FS_ERR_BUSY, "%s: another index run is active", label);
    }
    char text[32];
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite(f, text, (size_t)n, 0) != n) {
        fs_status rc = util_fail(err, FS_ERR_IO, "%s: cannot write the writer lock: %s", label,
                                 strerror(errno));
        close(f);
        return rc;
    }
    *fd = f;
    return FS_OK;
}

void index_writer_unlock(int fd)
{
    if (fd < 0)
        return;
    if (ftruncate(fd, 0) != 0) {
        /* the pid stays behind; harmless: the lock itself goes with the descriptor */
    }
    close(fd);
}
