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

/* How a recognizer wants its face: ArcFace's 112 x 112 template, or dlib's 150 x 150 chip. */
typedef enum face_rec_kind { FACE_REC_ARCFACE, FACE_REC_DLIB } face_rec_kind;

/* One recognizer of a pack: its network, input, embedding length and weight in the fusion (its
 * normalised embedding is scaled by sqrt(weight), so that a dot product of two fused embeddings
 * is the weighted sum of the recognizers' cosine similarities). */
typedef struct face_recognizer {
    nn_net *net;
    face_rec_kind kind;
    int dim;
    float scale;
} face_recognizer;

#define FS_MAX_RECOGNIZERS 2

struct fs_engine {
    fs_engine_options opt;   /* as given, defaults filled in (precision resolved: not AUTO) */
    nn_precision precision;  /* of its networks, from opt.precision */
    fs_pack *pack;
    fs_pack_kind kind;
    nn_net *detector, *landmarks;
    face_recognizer recognizers[FS_MAX_RECOGNIZERS];
    int recognizer_count;
    int embedding_dim; /* the sum of the recognizers' */
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
    nn_plan *landmark_plan, *embed_plans[FS_MAX_RECOGNIZERS];
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
/* The face aligned so that its landmarks land on tmpl, in a size x size image (caller frees). */
fs_status face_align_to(const img_rgb *img, const float landmarks[10], const float tmpl[10],
                        int size, img_rgb *out, fs_error *err);
/* The face's embedding: each recognizer's, L2-normalised and scaled by its fusion weight, one
 * after the other (engine->embedding_dim floats), zeros after that up to FS_EMBEDDING_MAX. */
fs_status face_embed(fs_worker *w, const img_rgb *img, const float landmarks[10],
                     float embedding[FS_EMBEDDING_MAX], fs_error *err);

#endif
