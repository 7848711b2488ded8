/*
 * dnnl_conv.h — the fast 2-D convolution of our ONNX runtime, on oneDNN 2.6 (C API, OpenMP).
 *
 * A self-contained module, meant to be called by the fast backend once per Conv node:
 *   - nn_dnnl_ctx: a oneDNN CPU engine + stream + a thread count. One per plan (or per thread);
 *     never shared by two threads at the same time. No globals.
 *   - nn_dnnl_conv: one convolution prepared for one node and one input shape: weights (ONNX OIHW)
 *     copied and reordered into oneDNN's preferred layout, bias, fused post-ops, its own scratch
 *     buffers. Created at plan time, run many times.
 *   - nn_dnnl_reorder: a prepared layout conversion NCHW <-> blocked for one shape.
 *   - helpers for cheap per-channel ops (PRelu, Add) directly on the blocked layout.
 *
 * LAYOUT CONTRACT. Every tensor is float32, 4-D, logical shape N x C x H x W, in one of two layouts:
 *   NN_DNNL_NCHW     plain: element (n,c,h,w) at ((n*C + c)*H + h)*W + w. Size N*C*H*W floats.
 *   NN_DNNL_BLOCKED  oneDNN's nChw{B}c with B = nn_dnnl_ctx_block(ctx): 16 where oneDNN runs
 *                    AVX-512 code, 8 below (AVX2, AVX, SSE4.1). Convolutions are created on this
 *                    layout itself, so their kernels read and write it directly. Channels
 *                    are split into Cb = ceil(C/B) blocks of B; element (n,c,h,w) is at
 *                        (((n*Cb + c/B)*H + h)*W + w)*B + c%B
 *                    Size N*Cb*H*W*B floats (nn_dnnl_tensor_floats). The lanes of the last block
 *                    beyond C ("padding lanes") MUST hold 0.0f in every input, and are written as
 *                    0.0f in every output (oneDNN relies on this; it may rewrite them to zero in
 *                    an input buffer too, so inputs must be writable memory).
 * Elementwise ops on the blocked layout:
 *   - Relu, Add/Sub/Mul of two tensors of the same shape and layout, Sigmoid-free things with f(0)=0
 *     etc.: loop over all nn_dnnl_tensor_floats() elements as if flat; padding lanes stay 0.
 *     (Clip(min,max) with min > 0 or max < 0 would break the zero padding: skip padding lanes.)
 *   - Per-channel ops (PRelu with slopes[C], Add of a [C,1,1] constant, BatchNorm): the channel of
 *     flat index i is (i / (H*W*B) % Cb)*B + i % B; or use the helpers below, which walk the
 *     blocks and leave padding lanes at 0.
 *   - Anything that moves data across channels or positions (Concat, Reshape, Transpose, Softmax,
 *     Gemm): convert to NCHW first with an nn_dnnl_reorder.
 * A chain of convolutions with dst_layout = src_layout of the next = NN_DNNL_BLOCKED never converts;
 * convert only at the boundaries (first conv may take NCHW input and give BLOCKED output, etc.).
 *
 * THREADS. This oneDNN build uses OpenMP (DNNL_CPU_RUNTIME = OMP; the dnnl threadpool interop API is
 * not even exported by Debian's libdnnl.so.2). oneDNN sizes its parallel regions with
 * omp_get_max_threads() of the calling thread, both when a primitive is created (some kernels fix
 * their work split there) and when it runs. So every function below that creates or runs a
 * primitive sets the calling thread's OpenMP thread count to the context's count
 * (omp_set_num_threads) and restores the previous value before returning: no lasting side effect.
 *
 * ERRORS follow facesearch.h: fs_status return, message in err ("conv: ..."), never printed.
 */
#ifndef FS_NN_DNNL_CONV_H
#define FS_NN_DNNL_CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facesearch.h"

/* ---- Context ------------------------------------------------------------------------------- */

typedef struct nn_dnnl_ctx nn_dnnl_ctx;

/* Creates a oneDNN CPU engine and stream that run with `threads` OpenMP threads (0 = as many as
 * omp_get_max_threads() says at this call; at most 1024). The caller owns *out (free with
 * nn_dnnl_ctx_free); on failure *out is NULL. */
fs_status nn_dnnl_ctx_create(int threads, nn_dnnl_ctx **out, fs_error *err);

/* Frees a context. Every conv/reorder made with it must have been freed before. NULL is a no-op. */
void nn_dnnl_ctx_free(nn_dnnl_ctx *ctx);

/* The thread count the context runs with (>= 1). */
int nn_dnnl_ctx_threads(const nn_dnnl_ctx *ctx);

/* Changes the thread count for convs/reorders CREATED afterwards (existing ones keep theirs,
 * since oneDNN may have fixed its work split for them). threads >= 1. */
fs_status nn_dnnl_ctx_set_threads(nn_dnnl_ctx *ctx, int threads, fs_error *err);

/* The channel block B of NN_DNNL_BLOCKED tensors (8 or 16), fixed for the context's lifetime. */
int nn_dnnl_ctx_block(const nn_dnnl_ctx *ctx);

/* The precision its user asks of the convs it makes (their desc.bf16): a note the context carries
 * for the fast backend, false by default; it changes nothing in the functions here. */
void nn_dnnl_ctx_set_bf16(nn_dnnl_ctx *ctx, bool bf16);
bool nn_dnnl_ctx_bf16(const nn_dnnl_ctx *ctx);

/* ---- Layouts ------------------------------------------------------------------------------- */

typedef enum nn_dnnl_layout {
    NN_DNNL_NCHW = 0,   /* plain NCHW: what the rest of the runtime uses today */
    NN_DNNL_BLOCKED = 1 /* nChw{B}c, B = nn_dnnl_ctx_block(ctx); see the contract above */
} nn_dnnl_layout;

/* Number of floats a tensor of logical shape n x c x h x w occupies in `layout` (including the
 * padding lanes of the blocked layout). Allocate buffers with this. 0 if a dimension is < 1 or the
 * count does not fit in size_t. */
size_t nn_dnnl_tensor_floats(const nn_dnnl_ctx *ctx, nn_dnnl_layout layout, int64_t n, int64_t c,
                             int64_t h, int64_t w);

/* ---- Convolution --------------------------------------------------------------------------- */

/* How post-ops run (measured on this oneDNN 2.6 build, AVX2): RELU, CLIP and SUM are fused into
 * the JIT kernel. A PRELU with per-channel slopes is not: oneDNN 2.6's prelu post-op pushes every
 * convolution onto its reference kernel ("ref:any", 50-300x slower), so the post-ops before the
 * first such PRELU are fused and the rest (that PRELU and what follows) run as one threaded pass
 * over dst inside nn_dnnl_conv_run: still one call, just one extra sweep over the output. A PRELU
 * whose slopes are all equal is fused exactly (as oneDNN leaky relu). */
typedef enum nn_dnnl_post_kind {
    NN_DNNL_POST_RELU = 0,  /* y = max(y, 0) */
    NN_DNNL_POST_CLIP = 1,  /* y = min(max(y, clip_min), clip_max) (ONNX Clip; Relu6 = 0..6) */
    NN_DNNL_POST_PRELU = 2, /* y = y > 0 ? y : slope[c] * y, slopes[c_out] (one per channel) */
    NN_DNNL_POST_SUM = 3    /* y = y + residual (a fused residual Add; see nn_dnnl_conv_run) */
} nn_dnnl_post_kind;

typedef struct nn_dnnl_post_op {
    nn_dnnl_post_kind kind;
    float clip_min, clip_max; /* CLIP only; clip_min <= clip_max */
    const float *slopes;      /* PRELU only: c_out floats, copied at create time */
} nn_dnnl_post_op;

#define NN_DNNL_MAX_POST_OPS 4

/* One Conv node for one input shape, in ONNX terms. All counts are elements, not bytes. */
typedef struct nn_dnnl_conv_desc {
    int64_t n, c_in, h, w;  /* input shape (NCHW logical order) */
    int64_t c_out;          /* output channels */
    int64_t kh, kw;         /* kernel size */
    int64_t stride_h, stride_w;               /* >= 1 */
    int64_t pad_top, pad_left, pad_bottom, pad_right; /* >= 0 (ONNX pads: t, l, b, r) */
    int64_t dilation_h, dilation_w;           /* ONNX convention: 1 = no dilation */
    int64_t groups;         /* divides c_in and c_out; depthwise: groups == c_in == c_out */
    /* ONNX weights, OIHW: [c_out][c_in/groups][kh][kw]. Copied (reordered) at create time. */
    const float *weights;
    const float *bias;      /* [c_out], or NULL for none. Copied at create time. */
    /* Fused ops applied to the conv result, in this order (as the graph had them). At most one
     * SUM. E.g. Conv+PRelu: {PRELU}; MobileFaceNet's linear bottleneck + skip: {SUM};
     * Conv+Add+Relu: {SUM, RELU}. */
    nn_dnnl_post_op post[NN_DNNL_MAX_POST_OPS];
    int post_count;
    /* A depthwise 3x3 conv (pads 1, stride dw_stride, bias, then dw_post) fused after this one,
     * which must then be a 1x1 conv (stride 1, no pads, one group, no dilation) whose post-ops
     * are only RELU/CLIP. oneDNN runs the depthwise conv on rows of the 1x1's output while they
     * are still in cache (its "depthwise post-op"), so the 1x1's output is never stored: dst is
     * the depthwise conv's output, c_out x ceil(h / dw_stride) x ceil(w / dw_stride). */
    bool dw;
    int64_t dw_stride;        /* 1 or 2 */
    const float *dw_weights;  /* ONNX [c_out][1][3][3]. Copied (reordered) at create time. */
    const float *dw_bias;     /* [c_out], or NULL for none. Copied at create time. */
    nn_dnnl_post_op dw_post[2]; /* RELU/CLIP only */
    int dw_post_count;
    nn_dnnl_layout src_layout; /* layout of the `src` passed to nn_dnnl_conv_run */
    nn_dnnl_layout dst_layout; /* layout of `dst` (and `residual`) */
    /* Measurement switch: with NCHW src/dst, run oneDNN's kernel directly on NCHW (its im2col+gemm
     * path) instead of converting to the blocked layout around a JIT kernel inside run. */
    bool plain_direct;
    /* Compute in bfloat16: weights and source rounded to bf16 (8-bit mantissa), products summed
     * in f32, bias, post-ops and dst in f32; src and dst stay float32 buffers for the caller (the
     * source is converted inside run, in the conv's staging buffer). Only where oneDNN has a JIT
     * kernel for it (AVX-512 with BF16 natively; AVX-512 without it emulates): elsewhere, and for
     * a fused depthwise conv or plain_direct, the conv quietly computes in f32
     * (nn_dnnl_conv_is_bf16 tells which). */
    bool bf16;
} nn_dnnl_conv_desc;

typedef struct nn_dnnl_conv nn_dnnl_conv;

/* Fills d with the defaults of an ONNX Conv (stride 1, no pads, dilation 1, group 1, no bias, no
 * post-ops, NCHW in and out); the caller then sets shapes, weights and what differs. */
void nn_dnnl_conv_desc_init(nn_dnnl_conv_desc *d);

/* The output spatial size of d: (h + pad_top + pad_bottom - ((kh-1)*dilation_h + 1)) / stride_h + 1,
 * same for w. Returns FS_ERR_ARG with the message nn_dnnl_conv_create would give if d is invalid. */
fs_status nn_dnnl_conv_out_size(const nn_dnnl_conv_desc *d, int64_t *out_h, int64_t *out_w,
                                fs_error *err);

/* Validates d, creates the oneDNN primitive, copies and reorders weights/bias/slopes, and allocates
 * the conv's scratch and (when a layout must be converted inside run) staging buffers. Nothing of
 * d is retained. The conv borrows ctx (which must outlive it) and runs with ctx's thread count as
 * of this call. Caller owns *out (nn_dnnl_conv_free); on failure *out is NULL. Errors: FS_ERR_ARG
 * for a bad descriptor (message names the field), FS_ERR_LIMIT for tensors over 2^31 elements,
 * FS_ERR_NOMEM, FS_ERR_UNSUPPORTED when oneDNN has no implementation. */
fs_status nn_dnnl_conv_create(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d, nn_dnnl_conv **out,
                              fs_error *err);

void nn_dnnl_conv_free(nn_dnnl_conv *conv);

/* Runs the conv: dst = post_ops(conv(src) + bias).
 *   src       n x c_in x h x w in d->src_layout (nn_dnnl_tensor_floats floats); not modified
 *             except, in the blocked layout, padding lanes rewritten to 0 (see contract).
 *   dst       n x c_out x out_h x out_w in d->dst_layout. Must not overlap src.
 *   residual  required iff a SUM post-op was asked for (else must be NULL): a tensor of dst's shape
 *             and layout added in the SUM step. residual == dst is allowed and cheapest (in place:
 *             dst holds the residual on entry); otherwise it is copied first and must not overlap
 *             dst partially.
 * Not thread-safe for one conv (it binds buffers to its oneDNN memory objects); different convs
 * of different contexts may run on different threads at once. */
fs_status nn_dnnl_conv_run(nn_dnnl_conv *conv, const float *src, float *dst, const float *residual,
                           fs_error *err);

/* The output shape of a created conv (n, c_out, out_h, out_w). */
void nn_dnnl_conv_out_shape(const nn_dnnl_conv *conv, int64_t shape[4]);

/* oneDNN's implementation name for the conv ("jit_dw:avx2", "jit_1x1:avx2", "x64:gemm:jit", ...)
 * and whether run converts layouts internally; for benchmarks and debugging. Owned by conv. */
const char *nn_dnnl_conv_impl(const nn_dnnl_conv *conv, bool *converts_layout);

/* Whether the conv computes in bfloat16 (it was asked to, and oneDNN has a JIT kernel for it). */
bool nn_dnnl_conv_is_bf16(const nn_dnnl_conv *conv);

/* Whether oneDNN runs the conv on one of its reference kernels (50-300x slower than the JIT ones),
 * whatever the ISA; the conv avoids them wherever another layout offers a JIT kernel. */
bool nn_dnnl_conv_is_reference(const nn_dnnl_conv *conv);

/* ---- Layout conversion --------------------------------------------------------------------- */

typedef struct nn_dnnl_reorder nn_dnnl_reorder;

/* Prepares a conversion of an n x c x h x w tensor from layout `from` to layout `to` (oneDNN's
 * JIT reorder, threaded like the context). Borrows ctx. Caller owns *out. */
fs_status nn_dnnl_reorder_create(nn_dnnl_ctx *ctx, int64_t n, int64_t c, int64_t h, int64_t w,
                                 nn_dnnl_layout from, nn_dnnl_layout to, nn_dnnl_reorder **out,
                                 fs_error *err);
void nn_dnnl_reorder_free(nn_dnnl_reorder *r);

/* Converts src (layout `from`) into dst (layout `to`); buffers must not overlap. Writes the padding
 * lanes of a blocked dst as 0. Same threading rule as nn_dnnl_conv_run. */
fs_status nn_dnnl_reorder_run(nn_dnnl_reorder *r, const float *src, float *dst, fs_error *err);

/* ---- Cheap per-channel ops on the blocked layout (plain C, single thread) ------------------ */

/* In place: x = x > 0 ? x : slopes[c] * x for every real element of a blocked n x c x h x w
 * tensor with block `block`; padding lanes untouched (stay 0). slopes: c floats. */
void nn_dnnl_blocked_prelu(float *x, int64_t n, int64_t c, int64_t h, int64_t w, int block,
                           const float *slopes);

/* In place: x += per_channel[c] (ONNX Add with a [C,1,1] constant) on a blocked tensor; padding
 * lanes untouched. per_channel: c floats. */
void nn_dnnl_blocked_add_channel(float *x, int64_t n, int64_t c, int64_t h, int64_t w, int block,
                                 const float *per_channel);

#endif
