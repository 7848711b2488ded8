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

/* A stored face's quality: the one measured by the pipeline (stored >= 0), else, for a face
 * indexed before the index kept qualities, face_quality's factors without sharpness (quality.c). */
float index_face_quality(float stored, float score, const float box[4],
                         const float landmarks[10]);

#endif
