/*
 * quality.c — a face's quality score for grouping, from what the index already holds (no pixel
 * is read again): the detector's confidence, the face's size, and the geometry of its five
 * landmarks. Faces scoring below PEOPLE_MIN_QUALITY are "unsure" and left out of automatic
 * grouping: tiny faces and low-confidence detections give poor embeddings that chain different
 * people together, and non-faces (an eye or the glasses of a tight close-up detected as a face)
 * have landmarks that do not sit like a face's (eyes not above the mouth, eyes too close, points
 * outside the box).
 *
 * Each factor maps to [0, 1]; the score is their minimum, so any one bad trait makes a face unsure.
 */
#include <math.h>

#include "people/people.h"

static float ramp(float x, float lo, float hi)
{
    if (x <= lo)
        return 0.0f;
    if (x >= hi)
        return 1.0f;
    return (x - lo) / (hi - lo);
}

static float min2(float a, float b)
{
    return a < b ? a : b;
}

float people_quality(float score, const float box[4], const float landmarks[10])
{
    float w = box[2] - box[0], h = box[3] - box[1];
    if (!(w > 0) || !(h > 0))
        return 0.0f;
    /* below 24 px the recognizer sees a blur (its input is 112 px); from 48 px it is fine */
    float q = ramp(min2(w, h), 24.0f, 48.0f);
    /* detector confidence: packs keep detections from ~0.5; doubtful ones stay below 0.7 */
    q = min2(q, ramp(score, 0.6f, 0.8f));
    /* landmarks: left eye, right eye, nose, left and right mouth corners */
    const float *le = landmarks, *re = landmarks + 2, *mo_l = landmarks + 6,
                *mo_r = landmarks + 8;
    for (int i = 0; i < 5; i++) {
        float x = landmarks[2 * i], y = landmarks[2 * i + 1];
        /* a point far outside the box: not a face's layout */
        if (x < box[0] - 0.25f * w || x > box[2] + 0.25f * w || y < box[1] - 0.25f * h ||
            y > box[3] + 0.25f * h)
            return 0.0f;
    }
    float eye_dx = re[0] - le[0], eye_dy = re[1] - le[1];
    float eye_dist = sqrtf(eye_dx * eye_dx + eye_dy * eye_dy);
    float eye_y = 0.5f * (le[1] + re[1]), mouth_y = 0.5f * (mo_l[1] + mo_r[1]);
    float eye_x = 0.5f * (le[0] + re[0]), mouth_x = 0.5f * (mo_l[0] + mo_r[0]);
    /* eye-to-mouth distance along the face's vertical, whatever its roll */
    float vx = mouth_x - eye_x, vy = mouth_y - eye_y;
    float eye_mouth = sqrtf(vx * vx + vy * vy);
    /* frontal to three-quarter faces: eyes 0.25-0.5 of the box width apart; strong profiles and
     * non-faces lower */
    q = min2(q, ramp(eye_dist / w, 0.12f, 0.22f));
    /* the mouth is below the eyes, at about the eye distance */
    q = min2(q, ramp(eye_mouth / w, 0.12f, 0.22f));
    return q;
}
