/*
 * engine.c — fs_engine: a verified model pack with its networks loaded, shared read-only by the
 * workers; and fs_worker: what one thread needs to run the pipeline (planned networks, buffers).
 */
#include <math.h>
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "face/pipeline.h"
#include "models/pack.h"
#include "util/big_alloc.h"
#include "util/error.h"

/* Loads role's network at the given precision, run up to the tensors the manifest names for it
 * (small: the set for small inputs, which must exist), else up to the graph's own outputs. Its
 * thread count is each worker's choice (fs_worker_new), made when the worker plans it. */
static fs_status load_net(const fs_engine *e, const char *role, int small, nn_precision precision,
                          nn_net **out, fs_error *err)
{
    const fs_pack *pack = e->pack;
    const char *path = fs_pack_role_path(pack, role);
    if (!path)
        return util_fail(err, FS_ERR_FORMAT, "model pack '%s' has no %s", fs_pack_name(pack), role);
    const model_manifest_outputs *set = model_pack_outputs(pack, role, small);
    if (small && set->count == 0)
        return util_fail(err, FS_ERR_FORMAT, "model pack '%s': its manifest names no 'outputs %s"
                         " small' (the fine levels of its detector)", fs_pack_name(pack), role);
    const char *const *outputs = set->count ? (const char *const *)set->names : NULL;
    size_t output_count = set->count;
    nn_options opt = {.backend = NN_BACKEND_FAST, .precision = precision,
                      .outputs = outputs, .output_count = output_count};
    return nn_net_load(path, &opt, out, err);
}

/* The pack's recognizers: "recognizer", and "recognizer2" fused with it when the pack has one.
 * The length of each embedding follows from its kind (dlib: 128, ArcFace-style: 512) and is
 * checked against the network's output at the first face. */
static fs_status load_recognizers(fs_engine *e, fs_error *err)
{
    static const char *const roles[FS_MAX_RECOGNIZERS] = {"recognizer", "recognizer2"};
    float fusion = model_pack_fusion(e->pack);
    for (int i = 0; i < FS_MAX_RECOGNIZERS; i++) {
        if (!fs_pack_role_path(e->pack, roles[i]))
            break;
        face_recognizer *r = &e->recognizers[i];
        const char *kind = model_pack_role_kind(e->pack, roles[i]);
        r->kind = kind && strcmp(kind, "dlib") == 0 ? FACE_REC_DLIB : FACE_REC_ARCFACE;
        r->dim = r->kind == FACE_REC_DLIB ? 128 : 512;
        r->scale = sqrtf(i == 0 ? fusion : 1.0f - fusion);
        fs_status rc = load_net(e, roles[i], 0, e->precision, &r->net, err);
        if (rc)
            return rc;
        e->recognizer_count = i + 1;
        e->embedding_dim += r->dim;
    }
    assert(e->embedding_dim <= FS_EMBEDDING_MAX);
    return FS_OK;
}

fs_status fs_engine_open(const char *pack_name, const fs_engine_options *opt, fs_engine **out,
                         fs_error *err)
{
    *out = NULL;
    fs_engine *e = calloc(1, sizeof *e);
    if (!e)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (opt)
        e->opt = *opt;
    if (e->opt.min_face <= 0)
        e->opt.min_face = 20;
    if (e->opt.max_pixels == 0)
        e->opt.max_pixels = 100000000ull;
    if (e->opt.threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        e->opt.threads = cores > 0 ? (int)cores : 1;
    }
    if (e->opt.precision == FS_PRECISION_AUTO)
        e->opt.precision = nn_cpu_bf16_pays() ? FS_PRECISION_BF16 : FS_PRECISION_FP32;
    e->precision = e->opt.precision == FS_PRECISION_BF16 ? NN_PRECISION_BF16 : NN_PRECISION_FP32;

    fs_status rc = fs_pack_open(pack_name, &e->pack, err);
    if (rc == FS_OK) {
        e->kind = fs_pack_kind_of(e->pack);
        if (e->opt.det_threshold <= 0)
            e->opt.det_threshold = e->kind == FS_PACK_DEFAULT ? FS_ULTRAFACE_THRESHOLD : 0.5f;
        /* The detector and the landmark model stay fp32 whatever the precision: in bf16 they
         * move boxes and landmarks by a fraction of a pixel, and the embeddings of the faces
         * aligned on them turn by up to cosine 0.992 from fp32's, against the 0.995 allowed
         * (tests/unit/test_precision.c); the recognizers in bf16 stay within 0.9998. */
        rc = load_net(e, "detector", 0, NN_PRECISION_FP32, &e->detector, err);
        if (rc == FS_OK && e->kind == FS_PACK_DEFAULT)
            rc = load_net(e, "detector", 1, NN_PRECISION_FP32, &e->detector_small, err);
        if (rc == FS_OK && e->kind == FS_PACK_DEFAULT)
            rc = load_net(e, "landmarks", 0, NN_PRECISION_FP32, &e->landmarks, err);
    }
    if (rc == FS_OK)
        rc = load_recognizers(e, err);
    if (rc != FS_OK) {
        fs_engine_close(e);
        return rc;
    }
    *out = e;
    return FS_OK;
}

void fs_engine_close(fs_engine *e)
{
    if (!e)
        return;
    nn_net_free(e->detector);
    nn_net_free(e->detector_small);
    nn_net_free(e->landmarks);
    for (int i = 0; i < e->recognizer_count; i++)
        nn_net_free(e->recognizers[i].net);
    fs_pack_close(e->pack);
    free(e);
}

const fs_pack *fs_engine_pack(const fs_engine *e)
{
    return e->pack;
}

const char *fs_engine_precision(const fs_engine *e)
{
    return nn_precision_name(nn_precision_effective(e->precision));
}

fs_status fs_precision_parse(const char *name, fs_precision *out, fs_error *err)
{
    static const struct {
        const char *name;
        fs_precision value;
    } names[] = {{"auto", FS_PRECISION_AUTO}, {"fp32", FS_PRECISION_FP32},
                 {"bf16", FS_PRECISION_BF16}};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].value;
            return FS_OK;
        }
    return util_fail(err, FS_ERR_ARG, "precision '%s' is not one of auto, fp32, bf16",
                     name ? name : "");
}

int fs_engine_embedding_dim(const fs_engine *e)
{
    return e->embedding_dim;
}

int face_engine_floor(const fs_engine *e)
{
    return e->opt.min_face;
}

fs_status fs_worker_new(fs_engine *engine, int threads, fs_worker **out, fs_error *err)
{
    *out = NULL;
    if (threads < 0)
        return util_fail(err, FS_ERR_ARG, "fs_worker_new: threads must be 0 or more, not %d",
                         threads);
    fs_worker *w = calloc(1, sizeof *w);
    if (!w)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    w->engine = engine;
    w->threads = threads ? threads : engine->opt.threads;
    *out = w;
    return FS_OK;
}

void fs_worker_free(fs_worker *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < FS_DETECT_PLANS; i++)
        nn_plan_free(w->detect_plans[i].plan);
    nn_plan_free(w->landmark_plan);
    for (size_t i = 0; i < FS_MAX_RECOGNIZERS; i++)
        nn_plan_free(w->embed_plans[i]);
    free(w->tensor);
    free(w);
}

/* The detector plan for an in_w x in_h input, planned on first use and kept (a few sizes recur:
 * the scales of typical photo shapes). When the cache is full the oldest entry is replaced. */
fs_status face_worker_detect_plan(fs_worker *w, nn_net *net, int in_w, int in_h,
                                  nn_plan **out, fs_error *err)
{
    for (size_t i = 0; i < FS_DETECT_PLANS; i++) {
        if (w->detect_plans[i].plan && w->detect_plans[i].net == net &&
            w->detect_plans[i].w == in_w && w->detect_plans[i].h == in_h) {
            *out = w->detect_plans[i].plan;
            return FS_OK;
        }
    }
    const int64_t shape[4] = {1, 3, in_h, in_w};
    nn_plan *plan;
    fs_status rc = nn_plan_create(net, shape, 4, w->threads, &plan, err);
    if (rc)
        return rc;
    size_t slot = w->next_detect_plan++ % FS_DETECT_PLANS;
    nn_plan_free(w->detect_plans[slot].plan);
    w->detect_plans[slot].plan = plan;
    w->detect_plans[slot].net = net;
    w->detect_plans[slot].w = in_w;
    w->detect_plans[slot].h = in_h;
    *out = plan;
    return FS_OK;
}

void fs_worker_times(const fs_worker *w, fs_stage_times *out)
{
    *out = w->times;
}

/* A float buffer of at least n elements, owned by the worker; its contents are not kept when it
 * grows (callers fill it whole). */
float *face_worker_tensor(fs_worker *w, size_t n, fs_error *err)
{
    if (n > w->tensor_size) {
        float *grown = n <= SIZE_MAX / sizeof *grown ? util_big_alloc(n * sizeof *grown) : NULL;
        if (!grown) {
            util_fail(err, FS_ERR_NOMEM, "out of memory for a %zu-element tensor", n);
            return NULL;
        }
        free(w->tensor);
        w->tensor = grown;
        w->tensor_size = n;
    }
    return w->tensor;
}
