/*
 * writer_lock.h — one writer per index (SPEC.md §5): the file DIR/writer.lock, held with flock()
 * while a writer has the index open and holding that writer's pid, so that a second writer can
 * fail at once and name the running one, or wait for it. Readers never take it.
 */
#ifndef FS_INDEX_WRITER_LOCK_H
#define FS_INDEX_WRITER_LOCK_H

#include "facesearch.h"

/* Takes the writer lock of the index folder dir (which exists). With wait, blocks until the
 * running writer is done; without, fails at once with FS_ERR_BUSY "LABEL: another index run is
 * active (pid N)" (label: the index as the caller names it). On success *fd holds the lock. */
fs_status index_writer_lock(const char *dir, const char *label, int wait, int *fd, fs_error *err);

/* Releases a lock taken by index_writer_lock (fd < 0: nothing to do). */
void index_writer_unlock(int fd);

#endif
