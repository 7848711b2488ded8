/*
 * embed.c — the face embedding: for each recognizer of the pack, the face aligned as it wants it
 * (align.c: ArcFace's 112 x 112 template, or dlib's 150 x 150 chip), the network run on it, the
 * result L2-normalised and scaled by the recognizer's fusion weight; the pieces one after the other.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "face/pipeline.h"
#include "util/error.h"

/* Recognizer r's input tensor for the face (size x size, NCHW); *size receives the side. */
static fs_status prepare_input(fs_worker *w, const face_recognizer *r, const img_rgb *img,
                               const float landmarks[10], float **input, int *size, fs_error *err)
{
    img_rgb face = {0};
    int dlib = r->kind == FACE_REC_DLIB;
    *size = dlib ? FS_DLIB_CHIP_SIZE : FS_ALIGNED_SIZE;
    fs_status rc = dlib ? face_align_to(img, landmarks, face_dlib_template, *size, &face, err)
                        : face_align(img, landmarks, &face, err);
    if (rc)
        return rc;
    *input = face_worker_tensor(w, 3 * (size_t)*size * (size_t)*size, err);
    if (!*input) {
        img_free(&face);
        return FS_ERR_NOMEM;
    }
    /* dlib: pixel values (its input scaling is inside the converted network); default pack:
     * (v - 127) / 128; insightface recognizers: (v - 127.5) / 127.5 */
    if (dlib)
        face_image_to_tensor(&face, 0.0f, 1.0f, *input);
    else if (w->engine->kind == FS_PACK_DEFAULT)
        face_image_to_tensor(&face, 127.0f, 128.0f, *input);
    else
        face_image_to_tensor(&face, 127.5f, 127.5f, *input);
    img_free(&face);
    return FS_OK;
}

/* Recognizer i's part of the embedding: out[0, dim). */
static fs_status embed_one(fs_worker *w, int i, const img_rgb *img, const float landmarks[10],
                           float *out, fs_error *err)
{
    const face_recognizer *r = &w->engine->recognizers[i];
    float *input;
    int size;
    double t0 = util_now();
    fs_status rc = prepare_input(w, r, img, landmarks, &input, &size, err);
    if (rc)
        return rc;
    double t1 = util_now();
    w->times.align += t1 - t0;

    if (!w->embed_plans[i]) {
        const int64_t shape[4] = {1, 3, size, size};
        rc = nn_plan_create(r->net, shape, 4, w->threads, &w->embed_plans[i], err);
        if (rc)
            return rc;
    }
    rc = nn_plan_run(w->embed_plans[i], input, err);
    if (rc)
        return rc;
    int64_t shape[NN_MAX_DIMS];
    int nd;
    const float *y = nn_plan_output(w->embed_plans[i], 0, shape, &nd);
    if (nd != 2 || shape[1] != r->dim)
        return util_fail(err, FS_ERR_FORMAT, "%s: recognizer must output %d values",
                         fs_pack_name(w->engine->pack), r->dim);
    double norm = 0;
    for (int k = 0; k < r->dim; k++)
        norm += (double)y[k] * y[k];
    if (!(norm > 0) || !isfinite(norm))
        return util_fail(err, FS_ERR_INTERNAL, "recognizer returned a zero or invalid embedding");
    float scale = (float)(r->scale / sqrt(norm));
    for (int k = 0; k < r->dim; k++)
        out[k] = y[k] * scale;
    w->times.embed += util_now() - t1;
    return FS_OK;
}

fs_status face_embed(fs_worker *w, const img_rgb *img, const float landmarks[10],
                     float embedding[FS_EMBEDDING_MAX], fs_error *err)
{
    const fs_engine *e = w->engine;
    int at = 0;
    for (int i = 0; i < e->recognizer_count; i++) {
        fs_status rc = embed_one(w, i, img, landmarks, embedding + at, err);
        if (rc)
            return rc;
        at += e->recognizers[i].dim;
    }
    assert(at == e->embedding_dim && at <= FS_EMBEDDING_MAX);
    memset(embedding + at, 0, (FS_EMBEDDING_MAX - at) * sizeof *embedding);
    return FS_OK;
}
