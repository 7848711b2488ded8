/*
 * quality.c — the quality of a face as the index holds it (fs_face.quality of a search result,
 * of fs_index_photo and of people grouping): measured by the pipeline when the photo was indexed,
 * or, for faces indexed before the index kept qualities (schema 3), computed from what their
 * rows hold: size, detector score, landmark layout and pose, all but sharpness (the pixels are
 * not read again). Indexing the photo again measures it.
 */
#include "index/index_internal.h"

#include "face/pipeline.h"

float index_face_quality(float stored, float score, const float box[4], const float landmarks[10])
{
    return stored >= 0 ? stored : face_quality(score, box, landmarks, -1.0f);
}
