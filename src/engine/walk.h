/*
 * walk.h — walking folders for photos: recursive, hidden entries skipped unless asked, symbolic
 * links followed but loops detected, files filtered by image extension. Used by the on-the-fly
 * search and by the indexer.
 */
#ifndef FS_ENGINE_WALK_H
#define FS_ENGINE_WALK_H

#include <sys/stat.h>

#include "facesearch.h"

typedef struct fs_walk_callbacks {
    /* A photo: its path (root joined with the relative path) and stat. Return non-zero to stop. */
    int (*file)(const char *path, const struct stat *st, void *ctx);
    /* A problem with one entry (unreadable folder, loop, broken link): a one-line message. */
    void (*problem)(const char *message, void *ctx);
    void *ctx;
} fs_walk_callbacks;

/* Walks root (a folder, or a single file which is then reported as is, whatever its name).
 * Entries in a folder are visited in byte order of their names, so runs are reproducible.
 * Returns FS_ERR_NOT_FOUND / FS_ERR_IO if root itself cannot be read; problems below root go to
 * the problem callback and the walk goes on. */
fs_status fs_walk(const char *root, int include_hidden, const fs_walk_callbacks *cb, fs_error *err);

/* True if name ends in an extension of a photo format we read (case-insensitive). */
int fs_is_image_name(const char *name);

#endif
