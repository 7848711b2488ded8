/*
 * walk.h — walking folders for photos: recursive, hidden entries skipped unless asked, symbolic
 * links followed, files filtered by image extension. Used by the on-the-fly search and by the
 * indexer. Every photo is reported once, by its canonical path (SPEC.md §5): a link is replaced
 * by the real path it leads to, and a folder or file reached a second time (by a link, a bind
 * mount, another root: same device and inode) is not visited again.
 */
#ifndef FS_INDEX_WALK_H
#define FS_INDEX_WALK_H

#include <stddef.h>
#include <sys/stat.h>

#include "facesearch.h"

/* The folders and files visited so far (device and inode), shared by the walks of one run's
 * roots. Zero-initialise; release with index_walk_seen_free. */
typedef struct index_walk_seen {
    struct index_walk_key *keys;
    size_t count, capacity;
} index_walk_seen;
void index_walk_seen_free(index_walk_seen *seen);

typedef struct index_walk_callbacks {
    /* A photo: its canonical path and stat. Return non-zero to stop. NULL: folders only. */
    int (*file)(const char *path, const struct stat *st, void *ctx);
    /* A folder reached through a symbolic link, by its real path (which may lie outside the
     * root: its photos are known by paths under it). May be NULL. */
    void (*link_dir)(const char *real, void *ctx);
    /* A problem with one entry (unreadable folder, loop, broken link): a one-line message. */
    void (*problem)(const char *message, void *ctx);
    void *ctx;
    /* What was visited already (by earlier roots): skipped. NULL: this walk only. */
    index_walk_seen *seen;
    /* A folder to leave out, canonical (search -o inside a searched folder). NULL: none. */
    const char *skip;
} index_walk_callbacks;

/* Walks root (a folder, or a single file which is then reported whatever its name; root is
 * made canonical first). Entries in a folder are visited in byte order of their names, so runs
 * are reproducible. Returns FS_ERR_NOT_FOUND / FS_ERR_IO if root itself cannot be read; problems
 * below root go to the problem callback and the walk goes on. */
fs_status index_walk(const char *root, int include_hidden, const index_walk_callbacks *cb,
                     fs_error *err);

/* True if name ends in an extension of a photo format we read (case-insensitive). */
int index_is_image_name(const char *name);

#endif
