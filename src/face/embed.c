/*
 * embed.c — the face embedding: the face aligned to the 112 x 112 ArcFace template (align.c),
 * the recognizer run on it, the result L2-normalised.
 */
#include <math.h>

#include "face/pipeline.h"
#include "util/error.h"


fs_status face_embed(fs_worker *w, const img_rgb *img, const float landmarks[10],
                     float embedding[FS_EMBEDDING_DIM], fs_error *err)
{
    img_rgb face = {0};
    double t0 = util_now();
    fs_status rc = face_align(img, landmarks, &face, err);
    if (rc)
        return rc;
    float *input = face_worker_tensor(w, 3 * FS_ALIGNED_SIZE * FS_ALIGNED_SIZE, err);
    if (!input) {
        img_free(&face);
        return FS_ERR_NOMEM;
    }
    /* default pack: (v - 127) / 128; insightface recognizers: (v - 127.5) / 127.5 */
    if (w->engine->kind == FS_PACK_DEFAULT)
        face_image_to_tensor(&face, 127.0f, 128.0f, input);
    else
        face_image_to_tensor(&face, 127.5f, 127.5f, input);
    img_free(&face);
    double t1 = util_now();
    w->times.align += t1 - t0;

    if (!w->embed_plan) {
        const int64_t shape[4] = {1, 3, FS_ALIGNED_SIZE, FS_ALIGNED_SIZE};
        rc = nn_plan_create(w->engine->recognizer, shape, 4, w->threads, &w->embed_plan, err);
        if (rc)
            return rc;
    }
    rc = nn_plan_run(w->embed_plan, input, err);
    if (rc)
        return rc;
    int64_t shape[NN_MAX_DIMS];
    int nd;
    const float *out = nn_plan_output(w->embed_plan, 0, shape, &nd);
    if (nd != 2 || shape[1] != FS_EMBEDDING_DIM)
        return util_fail(err, FS_ERR_FORMAT, "%s: recognizer must output %d values",
                         fs_pack_name(w->engine->pack), FS_EMBEDDING_DIM);
    double norm = 0;
    for (int i = 0; i < FS_EMBEDDING_DIM; i++)
        norm += (double)out[i] * out[i];
    if (!(norm > 0) || !isfinite(norm))
        return util_fail(err, FS_ERR_INTERNAL, "recognizer returned a zero or invalid embedding");
    float inv_norm = (float)(1.0 / sqrt(norm));
    for (int i = 0; i < FS_EMBEDDING_DIM; i++)
        embedding[i] = out[i] * inv_norm;
    w->times.embed += util_now() - t1;
    return FS_OK;
}
