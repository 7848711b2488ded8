/*
 * scrfd.c — decoding insightface's SCRFD detector (det_10g, det_500m, det_2.5g, scrfd_*_bnkps):
 * for each stride s of 8, 16 and 32, an (H/s) x (W/s) grid with two anchors per cell, centres at
 * (column * s, row * s); per anchor a score, four distances to the box sides and, with keypoints,
 * five (dx, dy) offsets — distances and offsets in units of the stride.
 * Outputs come in the order insightface relies on: the three score maps, then the three box maps,
 * then the three keypoint maps.
 */
#include "face/face.h"
#include "util/error.h"

static const int strides[3] = {8, 16, 32};
#define ANCHORS 2

fs_status face_scrfd_decode(const float *const scores[3], const float *const boxes[3],
                            const float *const kps[3], const size_t counts[3], int in_w, int in_h,
                            float threshold, float scale, face_dets *out, fs_error *err)
{
    for (int s = 0; s < 3; s++) {
        int stride = strides[s], fw = in_w / stride, fh = in_h / stride;
        size_t n = (size_t)fw * (size_t)fh * ANCHORS;
        if (counts[s] != n)
            return util_fail(err, FS_ERR_FORMAT,
                             "SCRFD stride %d gave %zu anchors, expected %zu for %dx%d", stride,
                             counts[s], n, in_w, in_h);
        for (size_t k = 0; k < n; k++) {
            if (!(scores[s][k] >= threshold)) /* NaN scores are no faces */
                continue;
            size_t cell = k / ANCHORS;
            float cx = (float)(cell % (size_t)fw) * stride,
                  cy = (float)(cell / (size_t)fw) * stride;
            const float *d = boxes[s] + 4 * k;
            face_det det = {.score = scores[s][k]};
            det.box[0] = (cx - d[0] * stride) * scale;
            det.box[1] = (cy - d[1] * stride) * scale;
            det.box[2] = (cx + d[2] * stride) * scale;
            det.box[3] = (cy + d[3] * stride) * scale;
            if (kps) {
                const float *p = kps[s] + 10 * k;
                for (int i = 0; i < 5; i++) {
                    det.landmarks[2 * i] = (cx + p[2 * i] * stride) * scale;
                    det.landmarks[2 * i + 1] = (cy + p[2 * i + 1] * stride) * scale;
                }
                det.has_landmarks = 1;
            }
            fs_status rc = face_dets_push(out, &det, err);
            if (rc)
                return rc;
        }
    }
    return FS_OK;
}
