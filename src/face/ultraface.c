/*
 * ultraface.c — decoding the Ultra-Light RFB face detector (the default pack's fr_detect.onnx) at
 * any input size. The network is run only up to its raw outputs (class logits and box regressions,
 * the tensors named by 'outputs detector' in models/default/manifest); the prior boxes, which the
 * file bakes in for 320 x 240 only, are generated here for the actual input size, exactly as the
 * detector was trained:
 * strides 8, 16, 32, 64 with prior sizes {10,16,24}, {32,48}, {64,96}, {128,192,256} pixels, a
 * feature map of ceil(size / stride) cells, centres at (cell + 0.5) * stride, priors clamped to
 * [0, 1] in normalised coordinates, and centre/size variances 0.1 / 0.2. The outputs list the
 * priors level by level (stride 8 first), each level row by row, prior sizes innermost; a level
 * can also be decoded on its own (the fine pass runs the network only up to levels 0 and 1).
 */
#include <math.h>

#include "face/face.h"
#include "util/error.h"

static const int strides[FS_ULTRAFACE_LEVELS] = {8, 16, 32, 64};
static const int prior_sizes[4][3] = {{10, 16, 24}, {32, 48, 0}, {64, 96, 0}, {128, 192, 256}};
static const int prior_size_count[4] = {3, 2, 2, 3};

static float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

size_t face_ultraface_level_count(int in_w, int in_h, int level)
{
    if (level < 0 || level >= FS_ULTRAFACE_LEVELS)
        return 0;
    return (size_t)((in_w + strides[level] - 1) / strides[level]) *
           (size_t)((in_h + strides[level] - 1) / strides[level]) *
           (size_t)prior_size_count[level];
}

size_t face_ultraface_prior_count(int in_w, int in_h)
{
    size_t n = 0;
    for (int level = 0; level < FS_ULTRAFACE_LEVELS; level++)
        n += face_ultraface_level_count(in_w, in_h, level);
    return n;
}

fs_status face_ultraface_decode_level(const float *logits, const float *regressions, size_t n,
                                      int in_w, int in_h, int level, float threshold, float sx,
                                      float sy, face_dets *out, fs_error *err)
{
    size_t expected = face_ultraface_level_count(in_w, in_h, level);
    if (n != expected || expected == 0)
        return util_fail(err, FS_ERR_INTERNAL,
                         "detector gave %zu candidates at level %d, expected %zu for %dx%d", n,
                         level, expected, in_w, in_h);
    const int s = level;
    int fw = (in_w + strides[s] - 1) / strides[s], fh = (in_h + strides[s] - 1) / strides[s];
    size_t k = 0;
    for (int row = 0; row < fh; row++) {
        for (int col = 0; col < fw; col++) {
            for (int p = 0; p < prior_size_count[s]; p++, k++) {
                /* face probability = softmax over (background, face) */
                float prob = 1.0f / (1.0f + expf(logits[2 * k] - logits[2 * k + 1]));
                if (prob < threshold)
                    continue;
                float pcx = clamp01((col + 0.5f) * strides[s] / in_w);
                float pcy = clamp01((row + 0.5f) * strides[s] / in_h);
                float pw = clamp01((float)prior_sizes[s][p] / in_w);
                float ph = clamp01((float)prior_sizes[s][p] / in_h);
                const float *r = regressions + 4 * k;
                float cx = pcx + r[0] * 0.1f * pw, cy = pcy + r[1] * 0.1f * ph;
                float w = pw * expf(r[2] * 0.2f), h = ph * expf(r[3] * 0.2f);
                face_det d = {.score = prob};
                d.box[0] = (cx - w / 2) * in_w * sx;
                d.box[1] = (cy - h / 2) * in_h * sy;
                d.box[2] = (cx + w / 2) * in_w * sx;
                d.box[3] = (cy + h / 2) * in_h * sy;
                fs_status rc = face_dets_push(out, &d, err);
                if (rc)
                    return rc;
            }
        }
    }
    return FS_OK;
}

fs_status face_ultraface_decode(const float *logits, const float *regressions, size_t n, int in_w,
                                int in_h, float threshold, float sx, float sy, face_dets *out,
                                fs_error *err)
{
    if (n != face_ultraface_prior_count(in_w, in_h))
        return util_fail(err, FS_ERR_INTERNAL,
                         "detector gave %zu candidates, expected %zu for %dx%d", n,
                         face_ultraface_prior_count(in_w, in_h), in_w, in_h);
    size_t at = 0;
    for (int level = 0; level < FS_ULTRAFACE_LEVELS; level++) {
        size_t count = face_ultraface_level_count(in_w, in_h, level);
        fs_status rc = face_ultraface_decode_level(logits + 2 * at, regressions + 4 * at, count,
                                                   in_w, in_h, level, threshold, sx, sy, out, err);
        if (rc)
            return rc;
        at += count;
    }
    return FS_OK;
}
