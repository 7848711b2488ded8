/*
 * quality.c — a face's quality score in [0, 1] (fs_face.quality), how far its embedding can be
 * trusted: people grouping (src/people/) leaves faces below its cut-off out as "unsure", since
 * tiny, blurred, turned-away faces and non-faces give embeddings that chain different people
 * together. Five factors, each mapped to [0, 1]; the score is their minimum, so any one bad trait
 * makes a face doubtful:
 *   size      the box's shorter side: below 24 px the recognizer sees a blur (its input is
 *             112 px), from 48 px it is fine;
 *   score     the detector's confidence: packs keep detections from ~0.5, doubtful ones stay
 *             below 0.7;
 *   layout    the five landmarks sit like a face's: inside (or near) the box, eyes 0.12-0.22 of
 *             the box width apart or more, the mouth below the eyes at about the eye distance
 *             (an eye or a glasses lens of a close-up found as a face does not);
 *   pose      the nose's offset from the eyes' midline, along the eye axis, in eye distances
 *             (0 frontal, ~0.5 and more in profile): a strongly turned face's embedding is
 *             far from the same person's frontal ones;
 *   sharpness the variance of the Laplacian of the face aligned to 112 x 112 (grey), divided by
 *             the variance of its grey levels: the share of the face's contrast that lies in the
 *             finest detail. The aligned face has the same size whatever the photo's, and the
 *             division removes lighting and contrast, so the value is comparable across photos;
 *             a face blurred by motion, focus or enlargement of a tiny face scores low.
 * Sharpness needs the pixels: the pipeline measures it (face_sharpness) when it finds the face.
 * Faces indexed before the index stored a quality get face_quality(..., -1): the other four
 * factors (what the index holds), until they are embedded again.
 * The ramps' ends were chosen on development data (bench/people.sh, bench/people_quality.sh).
 */
#include <math.h>

#include "face/pipeline.h"
#include "util/error.h"

/* the factors' ramps: below lo 0, above hi 1 (pose: above hi 0, below lo 1) */
#define SIZE_LO 24.0f
#define SIZE_HI 48.0f
#define SCORE_LO 0.6f
#define SCORE_HI 0.8f
#define LAYOUT_LO 0.12f
#define LAYOUT_HI 0.22f
#define POSE_LO 0.30f
#define POSE_HI 0.70f
#define SHARP_LO 0.015f
#define SHARP_HI 0.045f

static float ramp(float x, float lo, float hi)
{
    if (!(x > lo)) /* also NaN */
        return 0.0f;
    if (x >= hi)
        return 1.0f;
    return (x - lo) / (hi - lo);
}

static float min2(float a, float b)
{
    return a < b ? a : b;
}

float face_pose_offset(const float landmarks[10])
{
    const float *le = landmarks, *re = landmarks + 2, *nose = landmarks + 4;
    float ax = re[0] - le[0], ay = re[1] - le[1];
    float d2 = ax * ax + ay * ay;
    if (!(d2 > 0))
        return INFINITY;
    float mx = 0.5f * (le[0] + re[0]), my = 0.5f * (le[1] + re[1]);
    /* the nose's offset from the midpoint, projected on the eye axis, in eye distances */
    return fabsf(((nose[0] - mx) * ax + (nose[1] - my) * ay) / d2);
}

float face_quality(float score, const float box[4], const float landmarks[10], float sharpness)
{
    float w = box[2] - box[0], h = box[3] - box[1];
    if (!(w > 0) || !(h > 0))
        return 0.0f;
    float q = ramp(min2(w, h), SIZE_LO, SIZE_HI);
    q = min2(q, ramp(score, SCORE_LO, SCORE_HI));
    for (int i = 0; i < 5; i++) {
        float x = landmarks[2 * i], y = landmarks[2 * i + 1];
        /* a point far outside the box: not a face's layout */
        if (!(x >= box[0] - 0.25f * w && x <= box[2] + 0.25f * w && y >= box[1] - 0.25f * h &&
              y <= box[3] + 0.25f * h))
            return 0.0f;
    }
    const float *le = landmarks, *re = landmarks + 2, *mo_l = landmarks + 6,
                *mo_r = landmarks + 8;
    float eye_dx = re[0] - le[0], eye_dy = re[1] - le[1];
    float eye_dist = sqrtf(eye_dx * eye_dx + eye_dy * eye_dy);
    float vx = 0.5f * (mo_l[0] + mo_r[0]) - 0.5f * (le[0] + re[0]);
    float vy = 0.5f * (mo_l[1] + mo_r[1]) - 0.5f * (le[1] + re[1]);
    float eye_mouth = sqrtf(vx * vx + vy * vy); /* along the face's vertical, whatever its roll */
    q = min2(q, ramp(eye_dist / w, LAYOUT_LO, LAYOUT_HI));
    q = min2(q, ramp(eye_mouth / w, LAYOUT_LO, LAYOUT_HI));
    q = min2(q, 1.0f - ramp(face_pose_offset(landmarks), POSE_LO, POSE_HI));
    if (sharpness >= 0)
        q = min2(q, ramp(sharpness, SHARP_LO, SHARP_HI));
    return q;
}

float face_sharpness_of(const img_rgb *face)
{
    int w = face->width, h = face->height;
    if (w < 3 || h < 3)
        return 0.0f;
    /* the inner part of the aligned face (eyes, nose, mouth), not the background around it */
    int x0 = w / 8, x1 = w - w / 8, y0 = h / 8, y1 = h - h / 16;
    double s = 0, ss = 0, ls = 0, lss = 0;
    size_t n = 0, nl = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const uint8_t *p = face->rgb + 3 * ((size_t)y * (size_t)w + (size_t)x);
            double g = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            s += g;
            ss += g * g;
            n++;
            if (y == 0 || x == 0 || y == h - 1 || x == w - 1)
                continue;
            double nb = 0;
            const uint8_t *q[4] = {p - 3, p + 3, p - 3 * (size_t)w, p + 3 * (size_t)w};
            for (int k = 0; k < 4; k++)
                nb += 0.299 * q[k][0] + 0.587 * q[k][1] + 0.114 * q[k][2];
            double lap = nb - 4 * g;
            ls += lap;
            lss += lap * lap;
            nl++;
        }
    if (!n || !nl)
        return 0.0f;
    double var = ss / (double)n - (s / (double)n) * (s / (double)n);
    double lvar = lss / (double)nl - (ls / (double)nl) * (ls / (double)nl);
    /* a flat patch (var ~ 0) has no detail to judge: 0; +1 keeps 8-bit rounding noise of an
     * almost flat face from scoring as detail */
    return var > 1.0 ? (float)(lvar / (var + 1.0)) : 0.0f;
}

fs_status face_sharpness(const img_rgb *img, const float landmarks[10], float *sharpness,
                         fs_error *err)
{
    img_rgb face = {0};
    fs_status rc = face_align(img, landmarks, &face, err);
    if (rc)
        return rc;
    *sharpness = face_sharpness_of(&face);
    img_free(&face);
    return FS_OK;
}
