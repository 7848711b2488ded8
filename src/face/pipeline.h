/*
 * pipeline.h — the insides of fs_engine and fs_worker (facesearch.h), shared by engine.c and the
 * pipeline stages (detect.c, landmarks.c, embed.c).
 */
#ifndef FS_FACE_PIPELINE_H
#define FS_FACE_PIPELINE_H

#include "face/face.h"
#include "nn/nn.h"
#include "util/clock.h"

#define FS_DETECT_PLANS 8
/* Default detector score threshold of the Ultra-Light detector (probability of "face"). */
#define FS_ULTRAFACE_THRESHOLD 0.7f

struct fs_engine {
    fs_engine_options opt;
    fs_pack *pack;
    fs_pack_kind kind;
    nn_net *detector, *landmarks, *recognizer;
    /* Default pack: the detector stopped at its stride-8 and stride-16 outputs (levels 0 and 1),
     * enough for the fine pass, which keeps small faces only; about 10% less work there. */
    nn_net *detector_small;
};

struct fs_worker {
    fs_engine *engine;
    int threads;             /* of each inference (its plans'); >= 1 */
    struct {
        nn_net *net;
        int w, h;
        nn_plan *plan;
    } detect_plans[FS_DETECT_PLANS];
    size_t next_detect_plan;
    nn_plan *landmark_plan, *embed_plan;
    float *tensor;
    size_t tensor_size;
    fs_stage_times times;
};

/* The plan of detector net (the engine's detector or detector_small) for an in_w x in_h input. */
fs_status face_worker_detect_plan(fs_worker *w, nn_net *net, int in_w, int in_h,
                                  nn_plan **out, fs_error *err);
float *face_worker_tensor(fs_worker *w, size_t n, fs_error *err);

/* Stages, in pipeline order. Each works on the upright full-resolution image. */
fs_status face_detect(fs_worker *w, const img_rgb *img, face_dets *out, fs_error *err);
fs_status face_find_landmarks(fs_worker *w, const img_rgb *img, face_det *det, fs_error *err);
/* The face aligned to the 112 x 112 ArcFace template (a new image; caller frees). */
fs_status face_align(const img_rgb *img, const float landmarks[10], img_rgb *out, fs_error *err);
fs_status face_embed(fs_worker *w, const img_rgb *img, const float landmarks[10],
                     float embedding[FS_EMBEDDING_DIM], fs_error *err);

#endif
