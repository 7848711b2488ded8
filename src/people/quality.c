/*
 * quality.c — a face's quality for grouping: the fs_face.quality the index holds (measured by
 * the pipeline: size, detector score, landmark layout, pose, sharpness; see src/face/quality.c),
 * or for a face indexed before the index kept qualities, the same without sharpness
 * (src/index/quality.c). Faces below PEOPLE_MIN_QUALITY are "unsure" and left out of automatic
 * grouping: tiny, blurred, turned-away faces and low-confidence detections give poor embeddings
 * that chain different people together, and non-faces (an eye or the glasses of a tight close-up)
 * have landmarks that do not sit like a face's.
 *
 * The cut-off was chosen on the development data (bench/people.sh): see PEOPLE_MIN_QUALITY.
 */
#include "index/index_internal.h"
#include "people/people.h"

float people_quality(const store_people_face *f)
{
    return index_face_quality(f->face_quality, f->score, f->box, f->landmarks);
}
