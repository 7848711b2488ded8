/*
 * landmarks.c — five facial landmarks for each detected face.
 *
 * Default pack: fr_landmark.onnx takes the face box resized to 64 x 64 gray (values / 256) and
 * returns 68 points as fractions of the box; we keep the five ArcFace points (align.c).
 * insightface packs: SCRFD already returns five keypoints, nothing to do here.
 */
#include "face/pipeline.h"
#include "util/error.h"

#define LANDMARK_SIZE 64

static fs_status run_landmark_model(fs_worker *w, const img_rgb *img, const float box[4],
                                    float pts68[136], fs_error *err)
{
    float bw = box[2] - box[0], bh = box[3] - box[1];
    if (!(bw > 1 && bh > 1))
        return util_fail(err, FS_ERR_INTERNAL, "degenerate face box");
    img_rgb crop = {0};
    fs_status rc = img_new(LANDMARK_SIZE, LANDMARK_SIZE, &crop, err);
    if (rc)
        return rc;
    /* output pixel (x, y) samples the box at the centre-aligned position, like a plain resize */
    float sx = bw / LANDMARK_SIZE, sy = bh / LANDMARK_SIZE;
    const float m[6] = {sx, 0, box[0] + 0.5f * sx - 0.5f, 0, sy, box[1] + 0.5f * sy - 0.5f};
    img_warp_affine(img, m, &crop);

    float *input = face_worker_tensor(w, LANDMARK_SIZE * LANDMARK_SIZE, err);
    if (!input) {
        img_free(&crop);
        return FS_ERR_NOMEM;
    }
    for (int i = 0; i < LANDMARK_SIZE * LANDMARK_SIZE; i++) {
        const uint8_t *p = crop.rgb + 3 * i;
        input[i] = (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) / 256.0f;
    }
    img_free(&crop);

    if (!w->landmark_plan) {
        const int64_t shape[4] = {1, 1, LANDMARK_SIZE, LANDMARK_SIZE};
        rc = nn_plan_create(w->engine->landmarks, shape, 4, w->threads, &w->landmark_plan, err);
        if (rc)
            return rc;
    }
    rc = nn_plan_run(w->landmark_plan, input, err);
    if (rc)
        return rc;
    int64_t shape[NN_MAX_DIMS];
    int nd;
    const float *out = nn_plan_output(w->landmark_plan, 0, shape, &nd);
    if (nd != 2 || shape[1] != 136)
        return util_fail(err, FS_ERR_FORMAT, "%s: landmark model must output 136 values",
                         fs_pack_name(w->engine->pack));
    for (int i = 0; i < 68; i++) {
        pts68[2 * i] = box[0] + out[2 * i] * bw;
        pts68[2 * i + 1] = box[1] + out[2 * i + 1] * bh;
    }
    return FS_OK;
}

fs_status face_find_landmarks(fs_worker *w, const img_rgb *img, face_det *det, fs_error *err)
{
    if (det->has_landmarks)
        return FS_OK;
    if (!w->engine->landmarks)
        return util_fail(
            err, FS_ERR_UNSUPPORTED,
            "model pack '%s': its detector gives no keypoints and it has no landmark model",
            fs_pack_name(w->engine->pack));
    float pts68[136];
    fs_status rc = run_landmark_model(w, img, det->box, pts68, err);
    if (rc)
        return rc;
    face_landmarks68_to_5(pts68, det->landmarks);
    det->has_landmarks = 1;
    return FS_OK;
}
