/*
 * index_internal.h — what the files of the index share: the open index (struct fs_index of
 * facesearch.h). index.c opens, closes, removes and counts; run.c runs index runs; search.c
 * searches; scan.c searches folders on the fly without an index.
 */
#ifndef FS_INDEX_INDEX_INTERNAL_H
#define FS_INDEX_INDEX_INTERNAL_H

#include "facesearch.h"
#include "store/store.h"

struct fs_index {
    store_db *store;
    fs_engine *engine;
    int lock_fd;            /* the writer lock; -1 for a reader */
};

#endif
