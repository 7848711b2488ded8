/*
 * dnnl_conv.c — 2-D convolution, layout reorders and blocked per-channel helpers on oneDNN 2.6.
 *
 * See dnnl_conv.h for the contract (layouts, threads, ownership). How it works:
 *   - A conv is a oneDNN convolution primitive created with format_tag any for weights (reordered
 *     once, at create time, from ONNX OIHW into what the kernel wants) and with the caller's own
 *     layouts for src/dst, so that the kernel reads and writes the caller's buffers directly.
 *     (Left to choose, oneDNN 2.6 on AVX-512 picks NHWC brgemm kernels, and converting around every
 *     conv cost a third of the run time.) Where oneDNN has nothing but a reference kernel for
 *     those layouts because a blocked source's channel count is not a multiple of the block
 *     (the detector's heads: 8 and 12 channels on 16-channel blocks), the conv is made over the
 *     source's whole last block, with zero weights for its padding lanes. Only where that fails
 *     too is oneDNN asked with format_tag any; where the layout it then picks differs from the
 *     caller's, the conv owns a staging buffer and a reorder primitive, run inside
 *     nn_dnnl_conv_run (as it does for a bf16 conv's source, see dnnl_conv.h). With
 *     plain_direct the primitive is forced onto NCHW instead (oneDNN then uses im2col + gemm).
 *   - External buffers are bound at run time with dnnl_memory_set_data_handle on memory objects
 *     made at create time, so a run allocates nothing.
 *   - Scratchpad mode is "user": each conv owns its scratch buffer, nothing is shared between
 *     convs or threads behind our back.
 *   - Post-ops: relu, clip and sum are fused as oneDNN eltwise / sum post-ops (sum works in place
 *     on dst, which is why a residual is first copied/reordered into dst). PReLU is NOT fused when
 *     its slopes differ: oneDNN 2.6's prelu post-op (and any attr containing it) makes every
 *     convolution fall back to its reference kernel "ref:any", 50-300x slower on AVX2 (measured
 *     with bench/conv_micro), and a per-channel PReLU cannot be written as a chain of the binary/
 *     eltwise post-ops the JIT kernels do take. So the post-ops before the first PRELU are fused,
 *     and that PRELU and everything after it (the "tail") run as one threaded pass of our own over
 *     dst. A PRELU whose slopes are all equal is fused exactly as leaky relu (eltwise relu, alpha).
 */
#include "nn/dnnl_conv.h"

#include <dnnl.h>
#include <dnnl_debug.h>
#include <limits.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#define MAX_ELEMENTS ((int64_t)1 << 31)

struct nn_dnnl_ctx {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int threads;
    int block;
    bool amx;  /* oneDNN runs AMX code: bf16 convs go to its tile kernels, on NHWC */
    bool bf16; /* the user's precision note (nn_dnnl_ctx_set_bf16) */
};

struct nn_dnnl_conv {
    nn_dnnl_ctx *ctx;
    int threads;
    int64_t n, c_out, oh, ow;
    bool has_sum;
    dnnl_primitive_t prim;
    /* Caller's buffers (bound at run time) in the caller's layouts. */
    dnnl_memory_t src_ext, dst_ext;
    /* Staging buffers in the kernel's layouts, with the reorders to/from them; NULL if direct. */
    dnnl_memory_t src_int, dst_int;
    dnnl_primitive_t src_in, dst_in, dst_out; /* src_ext->src_int, dst_ext->dst_int, back */
    size_t dst_ext_floats;
    dnnl_memory_t weights, bias, scratch;
    dnnl_memory_t dw_weights, dw_bias; /* a fused depthwise conv's (d->dw), else NULL */
    /* Post-ops run by us after the kernel, on the caller's dst (layout dst_layout). */
    nn_dnnl_post_op tail[NN_DNNL_MAX_POST_OPS];
    int tail_count;
    float *tail_slopes[NN_DNNL_MAX_POST_OPS]; /* owned copies for PRELU entries of tail */
    bool tail_sum;       /* the SUM is in the tail (after a PRELU), not fused */
    float *residual_copy; /* tail_sum only: where an in-place residual is saved before the run */
    nn_dnnl_layout dst_layout;
    int block;
    bool bf16; /* computes in bfloat16 (weights and the staged source are bf16) */
    char impl[96];
};

struct nn_dnnl_reorder {
    nn_dnnl_ctx *ctx;
    int threads;
    dnnl_primitive_t prim;
    dnnl_memory_t src, dst;
};

/* ---- Small helpers -------------------------------------------------------------------------- */

/* Turns a failed oneDNN call into an fs_error; FS_OK for dnnl_success. */
static fs_status dnnl_check(dnnl_status_t s, const char *what, fs_error *err)
{
    if (s == dnnl_success)
        return FS_OK;
    fs_status rc = FS_ERR_INTERNAL;
    if (s == dnnl_out_of_memory)
        rc = FS_ERR_NOMEM;
    else if (s == dnnl_unimplemented)
        rc = FS_ERR_UNSUPPORTED;
    return util_fail(err, rc, "conv: oneDNN %s failed: %s", what, dnnl_status2str(s));
}

#define CHECK_DNNL(call, what)                                                                    \
    do {                                                                                          \
        fs_status st_ = dnnl_check((call), (what), err);                                          \
        if (st_ != FS_OK) {                                                                       \
            rc = st_;                                                                             \
            goto fail;                                                                            \
        }                                                                                         \
    } while (0)

/* Sets the calling thread's OpenMP thread count for oneDNN; returns the previous one. */
static int threads_enter(int threads)
{
    int prev = omp_get_max_threads();
    if (prev != threads)
        omp_set_num_threads(threads);
    return prev;
}

static void threads_leave(int prev, int threads)
{
    if (prev != threads)
        omp_set_num_threads(prev);
}

/* a*b*c*d if every factor is >= 1 and the product is at most MAX_ELEMENTS; else -1. */
static int64_t count4(int64_t a, int64_t b, int64_t c, int64_t d)
{
    int64_t f[4] = {a, b, c, d};
    int64_t p = 1;
    for (int i = 0; i < 4; i++) {
        if (f[i] < 1 || f[i] > MAX_ELEMENTS / p)
            return -1;
        p *= f[i];
    }
    return p;
}

static dnnl_format_tag_t layout_tag(const nn_dnnl_ctx *ctx, nn_dnnl_layout layout)
{
    if (layout == NN_DNNL_NCHW)
        return dnnl_nchw;
    return ctx->block == 16 ? dnnl_nChw16c : dnnl_nChw8c;
}

static void destroy_memory(dnnl_memory_t *m)
{
    if (*m)
        dnnl_memory_destroy(*m);
    *m = NULL;
}

static void destroy_primitive(dnnl_primitive_t *p)
{
    if (*p)
        dnnl_primitive_destroy(*p);
    *p = NULL;
}

/* Creates a reorder primitive from md `from` to md `to`. */
static fs_status make_reorder(nn_dnnl_ctx *ctx, const dnnl_memory_desc_t *from,
                              const dnnl_memory_desc_t *to, dnnl_primitive_t *out, fs_error *err)
{
    fs_status rc = FS_OK;
    dnnl_primitive_desc_t pd = NULL;
    *out = NULL;
    CHECK_DNNL(dnnl_reorder_primitive_desc_create(&pd, from, ctx->engine, to, ctx->engine, NULL),
               "reorder descriptor");
    CHECK_DNNL(dnnl_primitive_create(out, pd), "reorder creation");
fail:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return rc;
}

/* Runs a reorder from memory `from` into memory `to` on the context's stream (no wait). */
static fs_status run_reorder(nn_dnnl_ctx *ctx, dnnl_primitive_t prim, dnnl_memory_t from,
                             dnnl_memory_t to, fs_error *err)
{
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return dnnl_check(dnnl_primitive_execute(prim, ctx->stream, 2, args), "reorder", err);
}

/* ---- Context -------------------------------------------------------------------------------- */

fs_status nn_dnnl_ctx_create(int threads, nn_dnnl_ctx **out, fs_error *err)
{
    fs_status rc = FS_OK;
    if (!out)
        return util_fail(err, FS_ERR_ARG, "conv: no output pointer for the context");
    *out = NULL;
    if (threads < 0 || threads > 1024)
        return util_fail(err, FS_ERR_ARG, "conv: thread count %d is not in 0..1024", threads);
    nn_dnnl_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return util_fail(err, FS_ERR_NOMEM, "conv: out of memory for a context");
    ctx->threads = threads > 0 ? threads : omp_get_max_threads();
    if (ctx->threads < 1)
        ctx->threads = 1;
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    ctx->block = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? 16 : 8;
    ctx->amx = (isa & dnnl_cpu_isa_avx512_core_amx) == dnnl_cpu_isa_avx512_core_amx;
    CHECK_DNNL(dnnl_engine_create(&ctx->engine, dnnl_cpu, 0), "CPU engine creation");
    CHECK_DNNL(dnnl_stream_create(&ctx->stream, ctx->engine, dnnl_stream_default_flags),
               "stream creation");
    *out = ctx;
    return FS_OK;
fail:
    nn_dnnl_ctx_free(ctx);
    return rc;
}

void nn_dnnl_ctx_free(nn_dnnl_ctx *ctx)
{
    if (!ctx)
        return;
    if (ctx->stream)
        dnnl_stream_destroy(ctx->stream);
    if (ctx->engine)
        dnnl_engine_destroy(ctx->engine);
    free(ctx);
}

int nn_dnnl_ctx_threads(const nn_dnnl_ctx *ctx)
{
    return ctx->threads;
}

fs_status nn_dnnl_ctx_set_threads(nn_dnnl_ctx *ctx, int threads, fs_error *err)
{
    if (!ctx || threads < 1 || threads > 1024)
        return util_fail(err, FS_ERR_ARG, "conv: thread count %d is not in 1..1024", threads);
    ctx->threads = threads;
    return FS_OK;
}

int nn_dnnl_ctx_block(const nn_dnnl_ctx *ctx)
{
    return ctx->block;
}

void nn_dnnl_ctx_set_bf16(nn_dnnl_ctx *ctx, bool bf16)
{
    ctx->bf16 = bf16;
}

bool nn_dnnl_ctx_bf16(const nn_dnnl_ctx *ctx)
{
    return ctx->bf16;
}

size_t nn_dnnl_tensor_floats(const nn_dnnl_ctx *ctx, nn_dnnl_layout layout, int64_t n, int64_t c,
                             int64_t h, int64_t w)
{
    if (c < 1)
        return 0;
    int64_t cp = c;
    if (layout == NN_DNNL_BLOCKED)
        cp = (c + ctx->block - 1) / ctx->block * ctx->block;
    int64_t total = count4(n, cp, h, w);
    return total < 0 ? 0 : (size_t)total;
}

/* ---- Convolution ---------------------------------------------------------------------------- */

void nn_dnnl_conv_desc_init(nn_dnnl_conv_desc *d)
{
    memset(d, 0, sizeof *d);
    d->stride_h = d->stride_w = 1;
    d->dilation_h = d->dilation_w = 1;
    d->groups = 1;
    d->src_layout = d->dst_layout = NN_DNNL_NCHW;
}

fs_status nn_dnnl_conv_out_size(const nn_dnnl_conv_desc *d, int64_t *out_h, int64_t *out_w,
                                fs_error *err)
{
    if (!d)
        return util_fail(err, FS_ERR_ARG, "conv: no descriptor");
    if (d->n < 1 || d->c_in < 1 || d->h < 1 || d->w < 1)
        return util_fail(err, FS_ERR_ARG,
                         "conv: input shape %lldx%lldx%lldx%lld has a dimension < 1",
                         (long long)d->n, (long long)d->c_in, (long long)d->h, (long long)d->w);
    if (d->c_out < 1)
        return util_fail(err, FS_ERR_ARG, "conv: output channels %lld < 1", (long long)d->c_out);
    if (d->kh < 1 || d->kw < 1)
        return util_fail(err, FS_ERR_ARG, "conv: kernel %lldx%lld has a dimension < 1",
                         (long long)d->kh, (long long)d->kw);
    if (d->stride_h < 1 || d->stride_w < 1)
        return util_fail(err, FS_ERR_ARG, "conv: stride %lldx%lld has a value < 1",
                         (long long)d->stride_h, (long long)d->stride_w);
    if (d->dilation_h < 1 || d->dilation_w < 1)
        return util_fail(err, FS_ERR_ARG, "conv: dilation %lldx%lld has a value < 1",
                         (long long)d->dilation_h, (long long)d->dilation_w);
    if (d->pad_top < 0 || d->pad_left < 0 || d->pad_bottom < 0 || d->pad_right < 0)
        return util_fail(err, FS_ERR_ARG, "conv: pads %lld,%lld,%lld,%lld include a negative value",
                         (long long)d->pad_top, (long long)d->pad_left, (long long)d->pad_bottom,
                         (long long)d->pad_right);
    /* Bounded so that the arithmetic below cannot overflow; real limits are checked later. */
    const int64_t big = MAX_ELEMENTS;
    if (d->h > big || d->w > big || d->kh > big || d->kw > big || d->dilation_h > big ||
        d->dilation_w > big || d->pad_top > big || d->pad_left > big || d->pad_bottom > big ||
        d->pad_right > big)
        return util_fail(err, FS_ERR_LIMIT, "conv: a size, pad or dilation exceeds 2^31");
    int64_t ext_h = (d->kh - 1) * d->dilation_h + 1, ext_w = (d->kw - 1) * d->dilation_w + 1;
    int64_t in_h = d->h + d->pad_top + d->pad_bottom, in_w = d->w + d->pad_left + d->pad_right;
    if (ext_h > in_h || ext_w > in_w)
        return util_fail(err, FS_ERR_ARG,
                         "conv: kernel %lldx%lld (dilation %lldx%lld) does not fit input %lldx%lld "
                         "with pads %lld,%lld,%lld,%lld",
                         (long long)d->kh, (long long)d->kw, (long long)d->dilation_h,
                         (long long)d->dilation_w, (long long)d->h, (long long)d->w,
                         (long long)d->pad_top, (long long)d->pad_left, (long long)d->pad_bottom,
                         (long long)d->pad_right);
    int64_t oh = (in_h - ext_h) / d->stride_h + 1, ow = (in_w - ext_w) / d->stride_w + 1;
    if (d->dw && (d->dw_stride == 1 || d->dw_stride == 2)) { /* pads 1, kernel 3: ceil */
        oh = (oh + d->dw_stride - 1) / d->dw_stride;
        ow = (ow + d->dw_stride - 1) / d->dw_stride;
    }
    if (out_h)
        *out_h = oh;
    if (out_w)
        *out_w = ow;
    return FS_OK;
}

/* Checks everything about d that oneDNN would otherwise reject obscurely (or crash on). */
static fs_status validate(const nn_dnnl_conv_desc *d, int64_t *oh, int64_t *ow, fs_error *err)
{
    fs_status rc = nn_dnnl_conv_out_size(d, oh, ow, err);
    if (rc != FS_OK)
        return rc;
    if (d->groups < 1 || d->c_in % d->groups != 0 || d->c_out % d->groups != 0)
        return util_fail(err, FS_ERR_ARG,
                         "conv: group %lld does not divide input channels %lld and output channels "
                         "%lld",
                         (long long)d->groups, (long long)d->c_in, (long long)d->c_out);
    if (count4(d->n, d->c_in, d->h, d->w) < 0 || count4(d->n, d->c_out, *oh, *ow) < 0 ||
        count4(d->c_out, d->c_in / d->groups, d->kh, d->kw) < 0)
        return util_fail(err, FS_ERR_LIMIT, "conv: a tensor has more than 2^31 elements");
    if (!d->weights)
        return util_fail(err, FS_ERR_ARG, "conv: no weights");
    if ((d->src_layout != NN_DNNL_NCHW && d->src_layout != NN_DNNL_BLOCKED) ||
        (d->dst_layout != NN_DNNL_NCHW && d->dst_layout != NN_DNNL_BLOCKED))
        return util_fail(err, FS_ERR_ARG, "conv: unknown layout");
    if (d->plain_direct && (d->src_layout != NN_DNNL_NCHW || d->dst_layout != NN_DNNL_NCHW))
        return util_fail(err, FS_ERR_ARG, "conv: plain_direct needs NCHW source and destination");
    if (d->post_count < 0 || d->post_count > NN_DNNL_MAX_POST_OPS)
        return util_fail(err, FS_ERR_ARG, "conv: %d post-ops (at most %d)", d->post_count,
                         NN_DNNL_MAX_POST_OPS);
    if (d->dw) {
        if (d->kh != 1 || d->kw != 1 || d->stride_h != 1 || d->stride_w != 1 || d->groups != 1 ||
            d->pad_top || d->pad_left || d->pad_bottom || d->pad_right || d->dilation_h != 1 ||
            d->dilation_w != 1)
            return util_fail(err, FS_ERR_ARG,
                             "conv: a fused depthwise conv needs a plain 1x1 conv");
        if (d->dw_stride != 1 && d->dw_stride != 2)
            return util_fail(err, FS_ERR_ARG, "conv: fused depthwise stride %lld (1 or 2)",
                             (long long)d->dw_stride);
        if (!d->dw_weights)
            return util_fail(err, FS_ERR_ARG, "conv: fused depthwise conv without weights");
        if (d->dw_post_count < 0 || d->dw_post_count > 2)
            return util_fail(err, FS_ERR_ARG, "conv: %d depthwise post-ops (at most 2)",
                             d->dw_post_count);
        for (int i = 0; i < d->post_count; i++)
            if (d->post[i].kind != NN_DNNL_POST_RELU && d->post[i].kind != NN_DNNL_POST_CLIP)
                return util_fail(err, FS_ERR_ARG,
                                 "conv: with a fused depthwise conv only relu/clip post-ops");
        for (int i = 0; i < d->dw_post_count; i++)
            if ((d->dw_post[i].kind != NN_DNNL_POST_RELU &&
                 d->dw_post[i].kind != NN_DNNL_POST_CLIP) ||
                (d->dw_post[i].kind == NN_DNNL_POST_CLIP &&
                 !(d->dw_post[i].clip_min <= d->dw_post[i].clip_max)))
                return util_fail(err, FS_ERR_ARG, "conv: depthwise post-op %d: relu/clip only", i);
    }
    int sums = 0;
    for (int i = 0; i < d->post_count; i++) {
        const nn_dnnl_post_op *p = &d->post[i];
        switch (p->kind) {
        case NN_DNNL_POST_RELU:
            break;
        case NN_DNNL_POST_CLIP:
            if (!(p->clip_min <= p->clip_max))
                return util_fail(err, FS_ERR_ARG, "conv: post-op %d: clip min %g > max %g", i,
                                 (double)p->clip_min, (double)p->clip_max);
            break;
        case NN_DNNL_POST_PRELU:
            if (!p->slopes)
                return util_fail(err, FS_ERR_ARG, "conv: post-op %d: prelu without slopes", i);
            break;
        case NN_DNNL_POST_SUM:
            if (++sums > 1)
                return util_fail(err, FS_ERR_ARG, "conv: post-op %d: more than one sum", i);
            break;
        default:
            return util_fail(err, FS_ERR_ARG, "conv: post-op %d: unknown kind %d", i, (int)p->kind);
        }
    }
    return FS_OK;
}

/* Creates a memory object owned by oneDNN for md and copies `bytes` of data into it. */
static fs_status make_filled_memory(nn_dnnl_ctx *ctx, const dnnl_memory_desc_t *md,
                                    const void *data, size_t bytes, dnnl_memory_t *out,
                                    fs_error *err)
{
    fs_status rc = FS_OK;
    void *handle = NULL;
    *out = NULL;
    CHECK_DNNL(dnnl_memory_create(out, md, ctx->engine, DNNL_MEMORY_ALLOCATE), "memory allocation");
    CHECK_DNNL(dnnl_memory_get_data_handle(*out, &handle), "memory handle query");
    if (!handle || dnnl_memory_desc_get_size(md) < bytes) {
        rc = util_fail(err, FS_ERR_INTERNAL, "conv: oneDNN buffer smaller than its data");
        goto fail;
    }
    memcpy(handle, data, bytes);
    return FS_OK;
fail:
    destroy_memory(out);
    return rc;
}

/* True if the c slopes are all the same value (then PRELU == leaky relu, fusable exactly). */
static bool uniform_slopes(const float *slopes, int64_t c)
{
    for (int64_t i = 1; i < c; i++)
        if (slopes[i] != slopes[0])
            return false;
    return true;
}

/* How many leading post-ops of d oneDNN runs fused: all up to the first per-channel PRELU. */
static int fused_count(const nn_dnnl_conv_desc *d)
{
    for (int i = 0; i < d->post_count; i++)
        if (d->post[i].kind == NN_DNNL_POST_PRELU && !uniform_slopes(d->post[i].slopes, d->c_out))
            return i;
    return d->post_count;
}

/* Appends one fused post-op to ops. */
static fs_status append_post(dnnl_post_ops_t ops, const nn_dnnl_post_op *p, fs_error *err)
{
    fs_status rc = FS_OK;
    switch (p->kind) {
    case NN_DNNL_POST_RELU:
        CHECK_DNNL(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f),
                   "relu post-op");
        break;
    case NN_DNNL_POST_CLIP:
        CHECK_DNNL(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_clip_v2, p->clip_min,
                                                p->clip_max),
                   "clip post-op");
        break;
    case NN_DNNL_POST_PRELU: /* uniform slopes only, see fused_count */
        CHECK_DNNL(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, p->slopes[0], 0.0f),
                   "leaky relu post-op");
        break;
    case NN_DNNL_POST_SUM:
        CHECK_DNNL(dnnl_post_ops_append_sum(ops, 1.0f), "sum post-op");
        break;
    }
fail:
    return rc;
}

/* Builds the attribute: the fused post-ops of d and user scratchpad mode. Caller destroys *out. */
static fs_status make_attr(const nn_dnnl_conv_desc *d, dnnl_primitive_attr_t *out, fs_error *err)
{
    fs_status rc = FS_OK;
    dnnl_post_ops_t ops = NULL;
    *out = NULL;
    CHECK_DNNL(dnnl_primitive_attr_create(out), "attribute creation");
    CHECK_DNNL(dnnl_primitive_attr_set_scratchpad_mode(*out, dnnl_scratchpad_mode_user),
               "scratchpad mode");
    int fused = fused_count(d);
    if (fused == 0 && !d->dw)
        return FS_OK;
    CHECK_DNNL(dnnl_post_ops_create(&ops), "post-ops creation");
    for (int i = 0; i < fused; i++)
        if ((rc = append_post(ops, &d->post[i], err)))
            goto fail;
    if (d->dw) {
        if (d->dw_stride == 1)
            CHECK_DNNL(
                dnnl_post_ops_append_dw_k3s1p1(ops, dnnl_f32, dnnl_f32, dnnl_f32, 0, 0, NULL),
                "depthwise post-op");
        else
            CHECK_DNNL(
                dnnl_post_ops_append_dw_k3s2p1(ops, dnnl_f32, dnnl_f32, dnnl_f32, 0, 0, NULL),
                "depthwise post-op");
        for (int i = 0; i < d->dw_post_count; i++)
            if ((rc = append_post(ops, &d->dw_post[i], err)))
                goto fail;
    }
    CHECK_DNNL(dnnl_primitive_attr_set_post_ops(*out, ops), "post-ops attribute");
    dnnl_post_ops_destroy(ops);
    return FS_OK;
fail:
    if (ops)
        dnnl_post_ops_destroy(ops);
    if (*out)
        dnnl_primitive_attr_destroy(*out);
    *out = NULL;
    return rc;
}

/* Reorders weights held in the plain layout user_md into a new memory object of md `to`. */
static fs_status reorder_weights(nn_dnnl_ctx *ctx, const float *data,
                                 const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *to,
                                 dnnl_memory_t *out, fs_error *err)
{
    fs_status rc = FS_OK;
    dnnl_memory_t user = NULL;
    dnnl_primitive_t reorder = NULL;
    *out = NULL;
    /* The reorder only reads the caller's weights; oneDNN's API has no const handle. */
    CHECK_DNNL(dnnl_memory_create(&user, user_md, ctx->engine, (void *)(uintptr_t)data),
               "weights memory");
    CHECK_DNNL(dnnl_memory_create(out, to, ctx->engine, DNNL_MEMORY_ALLOCATE),
               "weights allocation");
    rc = make_reorder(ctx, user_md, to, &reorder, err);
    if (rc != FS_OK)
        goto fail;
    rc = run_reorder(ctx, reorder, user, *out, err);
    if (rc != FS_OK)
        goto fail;
    CHECK_DNNL(dnnl_stream_wait(ctx->stream), "weights reorder");
    destroy_primitive(&reorder);
    destroy_memory(&user);
    return FS_OK;
fail:
    destroy_primitive(&reorder);
    destroy_memory(&user);
    destroy_memory(out);
    return rc;
}

/* The conv's ONNX OIHW weights (grouped: GOIHW) into a new memory object of md `to`. */
static fs_status make_weights(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d,
                              const dnnl_memory_desc_t *to, dnnl_memory_t *out, fs_error *err)
{
    fs_status rc = FS_OK;
    dnnl_memory_desc_t user_md;
    *out = NULL;
    if (d->groups == 1) {
        dnnl_dims_t dims = {d->c_out, d->c_in, d->kh, d->kw};
        CHECK_DNNL(dnnl_memory_desc_init_by_tag(&user_md, 4, dims, dnnl_f32, dnnl_oihw),
                   "weights descriptor");
    } else {
        dnnl_dims_t dims = {d->groups, d->c_out / d->groups, d->c_in / d->groups, d->kh, d->kw};
        CHECK_DNNL(dnnl_memory_desc_init_by_tag(&user_md, 5, dims, dnnl_f32, dnnl_goihw),
                   "weights descriptor");
    }
    return reorder_weights(ctx, d->weights, &user_md, to, out, err);
fail:
    return rc;
}

/* The fused depthwise conv's weights and bias (zeros when it has none), in the layouts the
 * primitive pd asks for. */
static fs_status make_dw_params(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d,
                                dnnl_primitive_desc_t pd, nn_dnnl_conv *c, fs_error *err)
{
    fs_status rc = FS_OK;
    float *zeros = NULL;
    dnnl_memory_desc_t user_md;
    const dnnl_memory_desc_t *k_w = dnnl_primitive_desc_query_md(
        pd, dnnl_query_exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS);
    const dnnl_memory_desc_t *k_b = dnnl_primitive_desc_query_md(
        pd, dnnl_query_exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS);
    if (!k_w || !k_b || dnnl_memory_desc_get_size(k_w) == 0)
        return util_fail(err, FS_ERR_UNSUPPORTED, "conv: oneDNN did not fuse the depthwise conv");
    dnnl_dims_t dims = {d->c_out, 1, 1, 3, 3};
    CHECK_DNNL(dnnl_memory_desc_init_by_tag(&user_md, 5, dims, dnnl_f32, dnnl_goihw),
               "depthwise weights descriptor");
    rc = reorder_weights(ctx, d->dw_weights, &user_md, k_w, &c->dw_weights, err);
    if (rc != FS_OK)
        goto fail;
    const float *bias = d->dw_bias;
    if (!bias) {
        zeros = calloc((size_t)d->c_out, sizeof *zeros);
        if (!zeros) {
            rc = util_fail(err, FS_ERR_NOMEM, "conv: out of memory for a depthwise bias");
            goto fail;
        }
        bias = zeros;
    }
    rc = make_filled_memory(ctx, k_b, bias, (size_t)d->c_out * sizeof(float), &c->dw_bias,
                            err);
fail:
    free(zeros);
    return rc;
}

/* oneDNN's reference kernels are named "ref:..." on every ISA; they are 50-300x slower than its
 * JIT ones, so the conv never settles for one while another layout would give a JIT kernel. */
static bool is_reference(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success &&
           impl && strncmp(impl, "ref", 3) == 0;
}

/* The primitive descriptor of d's convolution with activations in src_tag / dst_tag (a layout or
 * dnnl_format_tag_any), weights in oneDNN's choice; conv_dims is the convolution's own output. */
static fs_status make_conv_pd(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d, bool bf16,
                              dnnl_format_tag_t src_tag, dnnl_format_tag_t dst_tag,
                              const dnnl_dims_t conv_dims, const_dnnl_primitive_attr_t attr,
                              dnnl_primitive_desc_t *pd, fs_error *err)
{
    fs_status rc = FS_OK;
    dnnl_memory_desc_t src_md, dst_md, w_md, b_md;
    dnnl_dims_t src_dims = {d->n, d->c_in, d->h, d->w};
    dnnl_data_type_t in_type = bf16 ? dnnl_bf16 : dnnl_f32; /* of the source and the weights */
    *pd = NULL;
    CHECK_DNNL(dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, in_type, src_tag),
               "source descriptor");
    CHECK_DNNL(dnnl_memory_desc_init_by_tag(&dst_md, 4, conv_dims, dnnl_f32, dst_tag),
               "destination descriptor");
    if (d->groups == 1) {
        dnnl_dims_t dims = {d->c_out, d->c_in, d->kh, d->kw};
        CHECK_DNNL(dnnl_memory_desc_init_by_tag(&w_md, 4, dims, in_type, dnnl_format_tag_any),
                   "weights descriptor");
    } else {
        dnnl_dims_t dims = {d->groups, d->c_out / d->groups, d->c_in / d->groups, d->kh, d->kw};
        CHECK_DNNL(dnnl_memory_desc_init_by_tag(&w_md, 5, dims, in_type, dnnl_format_tag_any),
                   "weights descriptor");
    }
    dnnl_dims_t b_dims = {d->c_out};
    CHECK_DNNL(dnnl_memory_desc_init_by_tag(&b_md, 1, b_dims, dnnl_f32, dnnl_x),
               "bias descriptor");
    dnnl_convolution_desc_t cd;
    dnnl_dims_t strides = {d->stride_h, d->stride_w};
    dnnl_dims_t dilates = {d->dilation_h - 1, d->dilation_w - 1}; /* oneDNN: 0 = none */
    dnnl_dims_t pad_l = {d->pad_top, d->pad_left}, pad_r = {d->pad_bottom, d->pad_right};
    CHECK_DNNL(dnnl_dilated_convolution_forward_desc_init(
                   &cd, dnnl_forward_inference, dnnl_convolution_direct, &src_md, &w_md,
                   d->bias ? &b_md : NULL, &dst_md, strides, dilates, pad_l, pad_r),
               "convolution descriptor");
    CHECK_DNNL(dnnl_primitive_desc_create(pd, &cd, attr, ctx->engine, NULL),
               "convolution primitive descriptor");
fail:
    return rc;
}

/* For one side (src or dst) of the conv: the memory object bound to the caller's buffer and, if
 * the kernel's md differs from the caller's, a staging memory. */
static fs_status make_side(nn_dnnl_ctx *ctx, const dnnl_memory_desc_t *ext_md,
                           const dnnl_memory_desc_t *kernel_md, dnnl_memory_t *ext,
                           dnnl_memory_t *staging, fs_error *err)
{
    fs_status rc = FS_OK;
    CHECK_DNNL(dnnl_memory_create(ext, ext_md, ctx->engine, DNNL_MEMORY_NONE), "memory creation");
    if (!dnnl_memory_desc_equal(ext_md, kernel_md))
        CHECK_DNNL(dnnl_memory_create(staging, kernel_md, ctx->engine, DNNL_MEMORY_ALLOCATE),
                   "staging allocation");
fail:
    return rc;
}

/* The caller's source and destination descriptors: its dims, in its layouts. */
static fs_status make_ext_descs(const nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d, int64_t oh,
                                int64_t ow, dnnl_memory_desc_t *src_md, dnnl_memory_desc_t *dst_md,
                                fs_error *err)
{
    fs_status rc = FS_OK;
    dnnl_dims_t src_dims = {d->n, d->c_in, d->h, d->w};
    dnnl_dims_t dst_dims = {d->n, d->c_out, oh, ow};
    CHECK_DNNL(dnnl_memory_desc_init_by_tag(src_md, 4, src_dims, dnnl_f32,
                                            layout_tag(ctx, d->src_layout)),
               "source descriptor");
    CHECK_DNNL(dnnl_memory_desc_init_by_tag(dst_md, 4, dst_dims, dnnl_f32,
                                            layout_tag(ctx, d->dst_layout)),
               "destination descriptor");
fail:
    return rc;
}

/* A JIT kernel for d's convolution in the given input type: the caller's own layouts first, so
 * that nothing is converted around it; oneDNN's own choice ("any") only where it then offers no
 * kernel or just its reference one (some convolutions with few input channels). *pd is NULL when
 * neither gives a JIT kernel (last_try: then the "any" kernel, even a reference one). *own: the
 * kernel found works on the caller's layouts. */
static fs_status find_conv_pd(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d, bool bf16,
                              bool last_try, const dnnl_dims_t conv_dims,
                              const_dnnl_primitive_attr_t attr, dnnl_primitive_desc_t *pd,
                              bool *own, fs_error *err)
{
    const dnnl_format_tag_t src = layout_tag(ctx, d->src_layout);
    const dnnl_format_tag_t dst = layout_tag(ctx, d->dst_layout);
    for (int any = 0; any < 2; any++) {
        fs_status rc = make_conv_pd(ctx, d, bf16, any ? dnnl_format_tag_any : src,
                                    any ? dnnl_format_tag_any : dst, conv_dims, attr, pd, err);
        if (rc != FS_OK && rc != FS_ERR_UNSUPPORTED)
            return rc;
        *own = !any;
        if (*pd && (!is_reference(*pd) || (any && last_try)))
            return FS_OK;
        if (*pd)
            dnnl_primitive_desc_destroy(*pd);
        *pd = NULL;
        if (any && last_try)
            return rc;
    }
    return FS_OK;
}

/* oneDNN's AMX kernel for d's convolution in bf16, or *pd NULL. Its tile kernels (brgconv
 * "avx512_core_amx") read NHWC only, so the source is converted (f32 blocked -> bf16 NHWC) and
 * the result (f32 NHWC -> blocked) around it, inside run: measured on an Intel Xeon, the
 * recognizers' dense convs still run 3-9x faster than in f32 (fr_feature 3.1 -> 2.1 ms a face,
 * dlib's ResNet 4.2 -> 1.3 ms, bench/nn_profile). Other kernels on NHWC are refused: on
 * the caller's blocked layout they do better without conversions. */
static fs_status find_amx_pd(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d,
                             const dnnl_dims_t conv_dims, const_dnnl_primitive_attr_t attr,
                             dnnl_primitive_desc_t *pd, fs_error *err)
{
    fs_status rc = make_conv_pd(ctx, d, true, dnnl_nhwc, dnnl_nhwc, conv_dims, attr, pd, err);
    if (rc == FS_ERR_UNSUPPORTED)
        return FS_OK;
    const char *impl = NULL;
    if (rc == FS_OK && *pd &&
        (dnnl_primitive_desc_query(*pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success ||
         !impl || !strstr(impl, "amx"))) {
        dnnl_primitive_desc_destroy(*pd);
        *pd = NULL;
    }
    return rc;
}

/* The conv's primitive descriptor: in bf16 where asked and oneDNN has a JIT kernel for it (an
 * AMX one first where the CPU has AMX), else in f32 (see find_conv_pd; *own as there).
 * plain_direct forces NCHW in f32. */
static fs_status choose_conv_pd(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d,
                                const dnnl_dims_t conv_dims, const_dnnl_primitive_attr_t attr,
                                dnnl_primitive_desc_t *pd, bool *bf16, bool *own, fs_error *err)
{
    *bf16 = false;
    *own = true;
    if (d->plain_direct)
        return make_conv_pd(ctx, d, false, dnnl_nchw, dnnl_nchw, conv_dims, attr, pd, err);
    if (d->bf16 && !d->dw && ctx->amx) {
        fs_status rc = find_amx_pd(ctx, d, conv_dims, attr, pd, err);
        if (rc != FS_OK || *pd) {
            *bf16 = *pd != NULL;
            *own = false;
            return rc;
        }
    }
    if (d->bf16 && !d->dw) {
        fs_status rc = find_conv_pd(ctx, d, true, false, conv_dims, attr, pd, own, err);
        if (rc != FS_OK || *pd) {
            *bf16 = *pd != NULL;
            return rc;
        }
    }
    return find_conv_pd(ctx, d, false, true, conv_dims, attr, pd, own, err);
}

/* The caller's buffers on each side of the kernel chosen in pd and, where the kernel's layout
 * differs, staging buffers with the reorders to and from them (into dst only when a fused sum
 * reads the caller's dst). */
static fs_status bind_sides(nn_dnnl_conv *c, const nn_dnnl_conv_desc *d,
                            const_dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *src_ext_md,
                            const dnnl_memory_desc_t *dst_ext_md, fs_error *err)
{
    nn_dnnl_ctx *ctx = c->ctx;
    const dnnl_memory_desc_t *k_src = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *k_dst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    if (!k_src || !k_dst)
        return util_fail(err, FS_ERR_INTERNAL, "conv: oneDNN returned no memory descriptor");
    fs_status rc = make_side(ctx, src_ext_md, k_src, &c->src_ext, &c->src_int, err);
    if (rc == FS_OK)
        rc = make_side(ctx, dst_ext_md, k_dst, &c->dst_ext, &c->dst_int, err);
    if (rc == FS_OK && c->src_int)
        rc = make_reorder(ctx, src_ext_md, k_src, &c->src_in, err);
    if (rc == FS_OK && c->dst_int)
        rc = make_reorder(ctx, k_dst, dst_ext_md, &c->dst_out, err);
    for (int i = 0; i < d->post_count; i++)
        if (d->post[i].kind == NN_DNNL_POST_SUM)
            c->has_sum = true;
    bool fused_sum = false;
    for (int i = 0; i < fused_count(d); i++)
        fused_sum = fused_sum || d->post[i].kind == NN_DNNL_POST_SUM;
    if (rc == FS_OK && c->dst_int && fused_sum)
        rc = make_reorder(ctx, dst_ext_md, k_dst, &c->dst_in, err);
    if (rc != FS_OK)
        return rc;
    c->dst_ext_floats = dnnl_memory_desc_get_size(dst_ext_md) / sizeof(float);
    return FS_OK;
}

/* Weights in the kernel's layout, the bias, and a fused depthwise conv's parameters. */
static fs_status make_params(nn_dnnl_conv *c, const nn_dnnl_conv_desc *d,
                             dnnl_primitive_desc_t pd, fs_error *err)
{
    nn_dnnl_ctx *ctx = c->ctx;
    fs_status rc = FS_OK;
    const dnnl_memory_desc_t *k_w = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (!k_w)
        return util_fail(err, FS_ERR_INTERNAL, "conv: oneDNN returned no memory descriptor");
    rc = make_weights(ctx, d, k_w, &c->weights, err);
    if (rc != FS_OK)
        return rc;
    if (d->bias) {
        dnnl_memory_desc_t b_md;
        dnnl_dims_t b_dims = {d->c_out};
        CHECK_DNNL(dnnl_memory_desc_init_by_tag(&b_md, 1, b_dims, dnnl_f32, dnnl_x),
                   "bias descriptor");
        rc = make_filled_memory(ctx, &b_md, d->bias, (size_t)d->c_out * sizeof(float),
                                &c->bias, err);
        if (rc != FS_OK)
            return rc;
    }
    if (d->dw)
        return make_dw_params(ctx, d, pd, c, err);
fail:
    return rc;
}

/* The post-ops oneDNN does not fuse (from the first per-channel PRELU on), run by us after the
 * kernel: owned copies of their slopes, and room to save an in-place residual for a SUM. */
static fs_status make_tail(nn_dnnl_conv *c, const nn_dnnl_conv_desc *d, fs_error *err)
{
    for (int i = fused_count(d); i < d->post_count; i++) {
        nn_dnnl_post_op *t = &c->tail[c->tail_count];
        *t = d->post[i];
        if (t->kind == NN_DNNL_POST_PRELU) {
            float *copy = malloc((size_t)d->c_out * sizeof(float));
            if (!copy)
                return util_fail(err, FS_ERR_NOMEM, "conv: out of memory for prelu slopes");
            memcpy(copy, t->slopes, (size_t)d->c_out * sizeof(float));
            c->tail_slopes[c->tail_count] = copy;
            t->slopes = copy;
        }
        if (t->kind == NN_DNNL_POST_SUM) {
            c->tail_sum = true;
            c->residual_copy = malloc(c->dst_ext_floats * sizeof(float));
            if (!c->residual_copy)
                return util_fail(err, FS_ERR_NOMEM, "conv: out of memory for a residual copy");
        }
        c->tail_count++;
    }
    return FS_OK;
}

/* The scratchpad the kernel asks for and the primitive itself. */
static fs_status make_primitive(nn_dnnl_conv *c, const_dnnl_primitive_desc_t pd, fs_error *err)
{
    fs_status rc = FS_OK;
    const dnnl_memory_desc_t *k_scratch =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (!k_scratch)
        return util_fail(err, FS_ERR_INTERNAL, "conv: oneDNN returned no memory descriptor");
    if (dnnl_memory_desc_get_size(k_scratch) > 0)
        CHECK_DNNL(dnnl_memory_create(&c->scratch, k_scratch, c->ctx->engine,
                                      DNNL_MEMORY_ALLOCATE),
                   "scratchpad allocation");
    CHECK_DNNL(dnnl_primitive_create(&c->prim, pd), "convolution primitive creation");
fail:
    return rc;
}

/* nn_dnnl_conv_create for a valid-looking call; *own: the kernel works on the caller's layouts
 * (a conversion inside run is then only a change of data type, for bf16). */
static fs_status conv_create(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d, bool *own,
                             nn_dnnl_conv **out, fs_error *err)
{
    *out = NULL;
    int64_t oh = 0, ow = 0;
    fs_status rc = validate(d, &oh, &ow, err);
    if (rc != FS_OK)
        return rc;

    nn_dnnl_conv *c = calloc(1, sizeof *c);
    if (!c)
        return util_fail(err, FS_ERR_NOMEM, "conv: out of memory for a convolution");
    c->ctx = ctx;
    c->threads = ctx->threads;
    c->n = d->n;
    c->c_out = d->c_out;
    c->oh = oh;
    c->ow = ow;
    c->dst_layout = d->dst_layout;
    c->block = ctx->block;
    int prev_threads = threads_enter(c->threads);

    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t src_ext_md, dst_ext_md;
    /* the convolution proper: with a fused depthwise conv, the 1x1's own output (same h, w) */
    dnnl_dims_t conv_dims = {d->n, d->c_out, d->dw ? d->h : oh, d->dw ? d->w : ow};
    const char *impl = NULL;
    if ((rc = make_ext_descs(ctx, d, oh, ow, &src_ext_md, &dst_ext_md, err)) ||
        (rc = make_attr(d, &attr, err)) ||
        (rc = choose_conv_pd(ctx, d, conv_dims, attr, &pd, &c->bf16, own, err)))
        goto fail;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
        snprintf(c->impl, sizeof c->impl, "%s", impl);
    if ((rc = bind_sides(c, d, pd, &src_ext_md, &dst_ext_md, err)) ||
        (rc = make_params(c, d, pd, err)) || (rc = make_tail(c, d, err)) ||
        (rc = make_primitive(c, pd, err)))
        goto fail;

    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    threads_leave(prev_threads, c->threads);
    *out = c;
    return FS_OK;
fail:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    threads_leave(prev_threads, c->threads);
    nn_dnnl_conv_free(c);
    return rc;
}

/* Whether d's source is blocked with a channel count that is not a multiple of the block: oneDNN
 * 2.6 then has only reference kernels on the blocked layout (e.g. 8 or 12 channels on 16-channel
 * blocks), and by itself would convert to NHWC and back around a brgemm kernel. */
static bool pads_input_channels(const nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d)
{
    return d->src_layout == NN_DNNL_BLOCKED && d->groups == 1 && d->c_in % ctx->block != 0 &&
           !d->plain_direct && !d->dw;
}

/* d as a convolution over the source's whole last block: c_in rounded up to the block, zero
 * weights for the padding lanes (which hold 0 by the layout contract: a blocked buffer of c_in
 * channels is also one of the rounded-up count). Same result, but oneDNN's JIT kernel reads the
 * caller's blocked buffer directly. */
static fs_status conv_create_padded(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d, bool *own,
                                    nn_dnnl_conv **out, fs_error *err)
{
    *out = NULL;
    nn_dnnl_conv_desc p = *d;
    p.c_in = (d->c_in + ctx->block - 1) / ctx->block * ctx->block;
    int64_t taps = d->kh * d->kw;
    if (count4(d->c_out, p.c_in, d->kh, d->kw) < 0)
        return util_fail(err, FS_ERR_LIMIT, "conv: weights over 2^31 elements");
    float *w = calloc((size_t)(d->c_out * p.c_in * taps), sizeof *w);
    if (!w)
        return util_fail(err, FS_ERR_NOMEM, "conv: out of memory for padded weights");
    for (int64_t o = 0; o < d->c_out; o++)
        memcpy(w + o * p.c_in * taps, d->weights + o * d->c_in * taps,
               (size_t)(d->c_in * taps) * sizeof *w);
    p.weights = w;
    fs_status rc = conv_create(ctx, &p, own, out, err);
    free(w);
    return rc;
}

fs_status nn_dnnl_conv_create(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d, nn_dnnl_conv **out,
                              fs_error *err)
{
    if (!out)
        return util_fail(err, FS_ERR_ARG, "conv: no output pointer");
    *out = NULL;
    if (!ctx)
        return util_fail(err, FS_ERR_ARG, "conv: no context");
    bool own = true;
    nn_dnnl_conv *c = NULL;
    fs_status rc = conv_create(ctx, d, &own, &c, err);
    if (rc != FS_OK || own || !pads_input_channels(ctx, d)) {
        *out = c;
        return rc;
    }
    /* a kernel on other layouts than the caller's: try the source's whole last block instead */
    nn_dnnl_conv *padded = NULL;
    fs_error perr = {0};
    if (conv_create_padded(ctx, d, &own, &padded, &perr) == FS_OK && own &&
        !nn_dnnl_conv_is_reference(padded)) {
        nn_dnnl_conv_free(c);
        *out = padded;
        return FS_OK;
    }
    nn_dnnl_conv_free(padded);
    *out = c;
    return FS_OK;
}

void nn_dnnl_conv_free(nn_dnnl_conv *c)
{
    if (!c)
        return;
    destroy_primitive(&c->prim);
    destroy_primitive(&c->src_in);
    destroy_primitive(&c->dst_in);
    destroy_primitive(&c->dst_out);
    destroy_memory(&c->src_ext);
    destroy_memory(&c->dst_ext);
    destroy_memory(&c->src_int);
    destroy_memory(&c->dst_int);
    destroy_memory(&c->weights);
    destroy_memory(&c->bias);
    destroy_memory(&c->scratch);
    destroy_memory(&c->dw_weights);
    destroy_memory(&c->dw_bias);
    for (int i = 0; i < NN_DNNL_MAX_POST_OPS; i++)
        free(c->tail_slopes[i]);
    free(c->residual_copy);
    free(c);
}

/* PReLU over `positions` pixels of `block` lanes (a constant after inlining), branch-free. */
static inline __attribute__((always_inline)) void prelu_lanes(float *restrict x,
                                                              const float *restrict sl,
                                                              int64_t positions, int block)
{
    for (int64_t i = 0; i < positions; i++, x += block)
        for (int l = 0; l < block; l++) {
            float v = x[l];
            float pos = v > 0.0f ? v : 0.0f, neg = v < 0.0f ? v : 0.0f;
            x[l] = pos + neg * sl[l];
        }
}

/* Applies one tail post-op, in the blocked layout, to channels c0 .. c0+lanes-1 of `positions`
 * pixels of `block` floats each, starting at x (and r, the residual at the same offset). */
static void tail_op_blocked(const nn_dnnl_post_op *op, float *x, const float *r, int64_t c0,
                            int64_t lanes, int64_t positions, int block)
{
    const float lo = op->clip_min, hi = op->clip_max;
    const float *s = op->slopes ? op->slopes + c0 : NULL;
    switch (op->kind) {
    case NN_DNNL_POST_RELU:
        for (int64_t i = 0; i < positions; i++, x += block)
            for (int64_t l = 0; l < lanes; l++)
                x[l] = x[l] > 0.0f ? x[l] : 0.0f;
        break;
    case NN_DNNL_POST_CLIP:
        for (int64_t i = 0; i < positions; i++, x += block)
            for (int64_t l = 0; l < lanes; l++)
                x[l] = x[l] < lo ? lo : x[l] > hi ? hi : x[l];
        break;
    case NN_DNNL_POST_PRELU: {
        /* Branch-free over whole blocks (padding lanes: slope 0 on 0 stays 0), so that the
         * compiler vectorises it; the branchy per-lane form mispredicts on every other value. */
        float sl[16] = {0};
        for (int64_t l = 0; l < lanes && l < 16; l++)
            sl[l] = s[l];
        if (block == 8)
            prelu_lanes(x, sl, positions, 8);
        else if (block == 16)
            prelu_lanes(x, sl, positions, 16);
        else
            for (int64_t i = 0; i < positions; i++, x += block)
                for (int64_t l = 0; l < lanes; l++)
                    x[l] = x[l] > 0.0f ? x[l] : x[l] * s[l];
        break;
    }
    case NN_DNNL_POST_SUM:
        for (int64_t i = 0; i < positions * block; i++)
            x[i] += r[i]; /* padding lanes: 0 + 0 */
        break;
    }
}

/* The same on `len` consecutive values of channel ch of an NCHW tensor. */
static void tail_op_plain(const nn_dnnl_post_op *op, float *x, const float *r, int64_t ch,
                          int64_t len)
{
    switch (op->kind) {
    case NN_DNNL_POST_RELU:
        for (int64_t i = 0; i < len; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case NN_DNNL_POST_CLIP:
        for (int64_t i = 0; i < len; i++)
            x[i] = x[i] < op->clip_min ? op->clip_min : x[i] > op->clip_max ? op->clip_max : x[i];
        break;
    case NN_DNNL_POST_PRELU: {
        float s = op->slopes[ch];
        for (int64_t i = 0; i < len; i++) {
            float v = x[i];
            float pos = v > 0.0f ? v : 0.0f, neg = v < 0.0f ? v : 0.0f;
            x[i] = pos + neg * s;
        }
        break;
    }
    case NN_DNNL_POST_SUM:
        for (int64_t i = 0; i < len; i++)
            x[i] += r[i];
        break;
    }
}

/* Runs the tail post-ops on the caller's dst, one (image, channel or channel block) unit per
 * OpenMP iteration, all tail ops on a unit while it is in cache. Padding lanes are left as they
 * are (0). */
static void apply_tail(const nn_dnnl_conv *c, float *dst, const float *residual)
{
    int64_t hw = c->oh * c->ow;
    int block = c->dst_layout == NN_DNNL_BLOCKED ? c->block : 1;
    int64_t blocks = (c->c_out + block - 1) / block, units = c->n * blocks;
    /* a small output is swept faster by one thread than by waking the others */
    int team = c->threads > 1 && units * hw * block >= ((int64_t)1 << 15) ? c->threads : 1;
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        int64_t b = u % blocks;
        float *x = dst + u * hw * block;
        const float *r = residual ? residual + u * hw * block : NULL;
        for (int k = 0; k < c->tail_count; k++) {
            if (block == 1) {
                tail_op_plain(&c->tail[k], x, r, b, hw);
            } else {
                int64_t lanes = c->c_out - b * block < block ? c->c_out - b * block : block;
                tail_op_blocked(&c->tail[k], x, r, b * block, lanes, hw, block);
            }
        }
    }
}

fs_status nn_dnnl_conv_run(nn_dnnl_conv *c, const float *src, float *dst, const float *residual,
                           fs_error *err)
{
    fs_status rc = FS_OK;
    if (!c || !src || !dst)
        return util_fail(err, FS_ERR_ARG, "conv: run without %s",
                         !c ? "a convolution" : !src ? "a source" : "a destination");
    if (c->has_sum && !residual)
        return util_fail(err, FS_ERR_ARG, "conv: the sum post-op needs a residual");
    if (!c->has_sum && residual)
        return util_fail(err, FS_ERR_ARG,
                         "conv: a residual was given but no sum post-op was asked");
    nn_dnnl_ctx *ctx = c->ctx;
    int prev_threads = threads_enter(c->threads);

    /* The caller's source is only read (apart from zeroing blocked padding lanes, see header). */
    CHECK_DNNL(dnnl_memory_set_data_handle_v2(c->src_ext, (void *)(uintptr_t)src, ctx->stream),
               "source binding");
    CHECK_DNNL(dnnl_memory_set_data_handle_v2(c->dst_ext, dst, ctx->stream), "destination binding");
    if (c->src_int) {
        rc = run_reorder(ctx, c->src_in, c->src_ext, c->src_int, err);
        if (rc != FS_OK)
            goto fail;
    }
    if (c->tail_sum && residual == dst) {
        /* The kernel overwrites dst before the tail adds the residual: save it. */
        memcpy(c->residual_copy, residual, c->dst_ext_floats * sizeof(float));
        residual = c->residual_copy;
    }
    if (c->has_sum && !c->tail_sum) {
        if (c->dst_int) {
            /* Reorder the residual (caller's layout) into the kernel's dst, via dst_ext. */
            CHECK_DNNL(dnnl_memory_set_data_handle_v2(c->dst_ext, (void *)(uintptr_t)residual,
                                                      ctx->stream),
                       "residual binding");
            rc = run_reorder(ctx, c->dst_in, c->dst_ext, c->dst_int, err);
            if (rc != FS_OK)
                goto fail;
            CHECK_DNNL(dnnl_stream_wait(ctx->stream), "residual reorder");
            CHECK_DNNL(dnnl_memory_set_data_handle_v2(c->dst_ext, dst, ctx->stream),
                       "destination binding");
        } else if (residual != dst) {
            memmove(dst, residual, c->dst_ext_floats * sizeof(float));
        }
    }

    dnnl_exec_arg_t args[8 + NN_DNNL_MAX_POST_OPS];
    int nargs = 0;
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, c->src_int ? c->src_int : c->src_ext};
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, c->weights};
    args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DST, c->dst_int ? c->dst_int : c->dst_ext};
    if (c->bias)
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, c->bias};
    if (c->scratch)
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, c->scratch};
    if (c->dw_weights) {
        args[nargs++] =
            (dnnl_exec_arg_t){DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS, c->dw_weights};
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS, c->dw_bias};
    }
    CHECK_DNNL(dnnl_primitive_execute(c->prim, ctx->stream, nargs, args), "convolution");
    if (c->dst_int) {
        rc = run_reorder(ctx, c->dst_out, c->dst_int, c->dst_ext, err);
        if (rc != FS_OK)
            goto fail;
    }
    CHECK_DNNL(dnnl_stream_wait(ctx->stream), "convolution");
    if (c->tail_count > 0)
        apply_tail(c, dst, residual);
fail:
    threads_leave(prev_threads, c->threads);
    return rc;
}

void nn_dnnl_conv_out_shape(const nn_dnnl_conv *c, int64_t shape[4])
{
    shape[0] = c->n;
    shape[1] = c->c_out;
    shape[2] = c->oh;
    shape[3] = c->ow;
}

bool nn_dnnl_conv_is_bf16(const nn_dnnl_conv *c)
{
    return c->bf16;
}

bool nn_dnnl_conv_is_reference(const nn_dnnl_conv *c)
{
    return strncmp(c->impl, "ref", 3) == 0;
}

const char *nn_dnnl_conv_impl(const nn_dnnl_conv *c, bool *converts_layout)
{
    if (converts_layout)
        *converts_layout = c->src_int != NULL || c->dst_int != NULL;
    return c->impl;
}

/* ---- Layout conversion ---------------------------------------------------------------------- */

fs_status nn_dnnl_reorder_create(nn_dnnl_ctx *ctx, int64_t n, int64_t c, int64_t h, int64_t w,
                                 nn_dnnl_layout from, nn_dnnl_layout to, nn_dnnl_reorder **out,
                                 fs_error *err)
{
    fs_status rc = FS_OK;
    if (!out)
        return util_fail(err, FS_ERR_ARG, "conv: no output pointer");
    *out = NULL;
    if (!ctx)
        return util_fail(err, FS_ERR_ARG, "conv: no context");
    if ((from != NN_DNNL_NCHW && from != NN_DNNL_BLOCKED) ||
        (to != NN_DNNL_NCHW && to != NN_DNNL_BLOCKED))
        return util_fail(err, FS_ERR_ARG, "conv: unknown layout");
    if (nn_dnnl_tensor_floats(ctx, NN_DNNL_BLOCKED, n, c, h, w) == 0 ||
        count4(n, c + ctx->block, h, w) < 0)
        return util_fail(err, FS_ERR_ARG,
                         "conv: reorder shape %lldx%lldx%lldx%lld has a dimension < 1 or more "
                         "than 2^31 elements",
                         (long long)n, (long long)c, (long long)h, (long long)w);
    nn_dnnl_reorder *r = calloc(1, sizeof *r);
    if (!r)
        return util_fail(err, FS_ERR_NOMEM, "conv: out of memory for a reorder");
    r->ctx = ctx;
    r->threads = ctx->threads;
    int prev_threads = threads_enter(r->threads);
    dnnl_memory_desc_t from_md, to_md;
    dnnl_dims_t dims = {n, c, h, w};
    CHECK_DNNL(dnnl_memory_desc_init_by_tag(&from_md, 4, dims, dnnl_f32, layout_tag(ctx, from)),
               "reorder source descriptor");
    CHECK_DNNL(dnnl_memory_desc_init_by_tag(&to_md, 4, dims, dnnl_f32, layout_tag(ctx, to)),
               "reorder destination descriptor");
    CHECK_DNNL(dnnl_memory_create(&r->src, &from_md, ctx->engine, DNNL_MEMORY_NONE),
               "memory creation");
    CHECK_DNNL(dnnl_memory_create(&r->dst, &to_md, ctx->engine, DNNL_MEMORY_NONE),
               "memory creation");
    rc = make_reorder(ctx, &from_md, &to_md, &r->prim, err);
    if (rc != FS_OK)
        goto fail;
    threads_leave(prev_threads, r->threads);
    *out = r;
    return FS_OK;
fail:
    threads_leave(prev_threads, r->threads);
    nn_dnnl_reorder_free(r);
    return rc;
}

void nn_dnnl_reorder_free(nn_dnnl_reorder *r)
{
    if (!r)
        return;
    destroy_primitive(&r->prim);
    destroy_memory(&r->src);
    destroy_memory(&r->dst);
    free(r);
}

fs_status nn_dnnl_reorder_run(nn_dnnl_reorder *r, const float *src, float *dst, fs_error *err)
{
    fs_status rc = FS_OK;
    if (!r || !src || !dst)
        return util_fail(err, FS_ERR_ARG, "conv: reorder without %s",
                         !r ? "a reorder" : !src ? "a source" : "a destination");
    int prev_threads = threads_enter(r->threads);
    CHECK_DNNL(dnnl_memory_set_data_handle_v2(r->src, (void *)(uintptr_t)src, r->ctx->stream),
               "reorder source binding");
    CHECK_DNNL(dnnl_memory_set_data_handle_v2(r->dst, dst, r->ctx->stream),
               "reorder destination binding");
    rc = run_reorder(r->ctx, r->prim, r->src, r->dst, err);
    if (rc != FS_OK)
        goto fail;
    CHECK_DNNL(dnnl_stream_wait(r->ctx->stream), "reorder");
fail:
    threads_leave(prev_threads, r->threads);
    return rc;
}

/* ---- Blocked per-channel helpers ------------------------------------------------------------ */

void nn_dnnl_blocked_prelu(float *x, int64_t n, int64_t c, int64_t h, int64_t w, int block,
                           const float *slopes)
{
    int64_t cb = (c + block - 1) / block, hw = h * w;
    for (int64_t in = 0; in < n; in++)
        for (int64_t b = 0; b < cb; b++) {
            int64_t lanes = c - b * block < block ? c - b * block : block;
            const float *s = slopes + b * block;
            float *p = x + (in * cb + b) * hw * block;
            for (int64_t i = 0; i < hw; i++, p += block)
                for (int64_t l = 0; l < lanes; l++)
                    p[l] = p[l] > 0.0f ? p[l] : p[l] * s[l];
        }
}

void nn_dnnl_blocked_add_channel(float *x, int64_t n, int64_t c, int64_t h, int64_t w, int block,
                                 const float *per_channel)
{
    int64_t cb = (c + block - 1) / block, hw = h * w;
    for (int64_t in = 0; in < n; in++)
        for (int64_t b = 0; b < cb; b++) {
            int64_t lanes = c - b * block < block ? c - b * block : block;
            const float *a = per_channel + b * block;
            float *p = x + (in * cb + b) * hw * block;
            for (int64_t i = 0; i < hw; i++, p += block)
                for (int64_t l = 0; l < lanes; l++)
                    p[l] += a[l];
        }
}
