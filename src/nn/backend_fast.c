/*
 * backend_fast.c — the fast backend's kernel hook (see kernel.h). The plan's state is one oneDNN
 * context (nn_dnnl_ctx: engine, stream, thread count), so plans stay independent across threads.
 * The layout pass (fast_layout.c) has already chosen each step's kind and each tensor's layout;
 * here every step gets its kernel:
 *   - Conv: a oneDNN convolution (dnnl_conv.h) in the chosen src/dst layouts, with the fused
 *     activation, residual sum and activation after the sum as post-ops;
 *   - per-channel ops, same-shape arithmetic, blocked Concat, NHWC Transpose, conversions to
 *     dense: fast_kernels.c;
 *   - Gemm: oneDNN's sgemm;
 *   - anything else: the reference kernel (always on dense data).
 */
#include <dnnl.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/dnnl_conv.h"
#include "nn/fast.h"
#include "util/error.h"

fs_status nn_fast_plan_begin(int threads, nn_precision precision, void **state, fs_error *err)
{
    nn_dnnl_ctx *ctx = NULL;
    *state = NULL;
    fs_status rc = nn_dnnl_ctx_create(threads < 1 ? 1 : threads, &ctx, err);
    if (rc)
        return rc;
    nn_dnnl_ctx_set_bf16(ctx, precision == NN_PRECISION_BF16);
    *state = ctx;
    return FS_OK;
}

void nn_fast_plan_end(void *state)
{
    nn_dnnl_ctx_free(state);
}

int nn_fast_block(const void *state)
{
    return state ? nn_dnnl_ctx_block(state) : 0;
}

/* Convolutions with fewer multiply-adds than this run single-threaded (see prepare_conv). */
#define SMALL_CONV_MACS ((double)(1 << 16))

/* ---- Conv ------------------------------------------------------------------------------------ */

/* A prepared conv. When oneDNN's JIT kernels refuse a conv because of its padding (fr_detect's
 * dilated 3x3 with pad 5 falls to "gemm" plus reorders, 2-3x slower), the source is copied into
 * a zero-bordered buffer (`padded`, borders written once) and the conv runs with no padding. */
typedef struct conv_state {
    nn_dnnl_conv *conv;
    float *padded;          /* NULL when the conv pads itself */
    int64_t units, h, w;    /* source: (image, channel block) units, rows, row length */
    int64_t ph, pw, pt, pl; /* padded rows and row length, top and left pads */
    int block;              /* floats per pixel: the layout's block, 1 when dense */
} conv_state;

static void free_conv(void *state)
{
    conv_state *c = state;
    if (!c)
        return;
    nn_dnnl_conv_free(c->conv);
    free(c->padded);
    free(c);
}

static fs_status run_conv(const nn_step *s, fs_error *err)
{
    const conv_state *c = s->state;
    const float *src = s->in[0]->data;
    if (c->padded) {
        size_t row = (size_t)(c->w * c->block);
        for (int64_t u = 0; u < c->units; u++)
            for (int64_t y = 0; y < c->h; y++)
                memcpy(c->padded + ((u * c->ph + y + c->pt) * c->pw + c->pl) * c->block,
                       src + (u * c->h + y) * c->w * c->block, row * sizeof(float));
        src = c->padded;
    }
    return nn_dnnl_conv_run(c->conv, src, s->out[0]->data, s->residual ? s->residual->data : NULL,
                            err);
}

/* Creates the conv of d; if oneDNN only offers its gemm path and d pads, tries the same conv on
 * an explicitly padded source and keeps that when it gets a JIT kernel. */
static fs_status create_conv(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d, conv_state *c,
                             fs_error *err)
{
    fs_status rc = nn_dnnl_conv_create(ctx, d, &c->conv, err);
    if (rc)
        return rc;
    bool converts = false;
    const char *impl = nn_dnnl_conv_impl(c->conv, &converts);
    if (!strstr(impl, "gemm") || d->plain_direct ||
        (d->pad_top | d->pad_left | d->pad_bottom | d->pad_right) == 0)
        return FS_OK;
    nn_dnnl_conv_desc p = *d;
    p.h = d->h + d->pad_top + d->pad_bottom;
    p.w = d->w + d->pad_left + d->pad_right;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 0;
    nn_dnnl_conv *alt = NULL;
    fs_error ignored;
    if (nn_dnnl_conv_create(ctx, &p, &alt, &ignored) != FS_OK)
        return FS_OK; /* keep the padding conv */
    if (strstr(nn_dnnl_conv_impl(alt, &converts), "gemm")) {
        nn_dnnl_conv_free(alt);
        return FS_OK;
    }
    size_t floats = nn_dnnl_tensor_floats(ctx, d->src_layout, p.n, p.c_in, p.h, p.w);
    float *buf = floats ? calloc(floats, sizeof(float)) : NULL;
    if (!buf) {
        nn_dnnl_conv_free(alt);
        return FS_OK;
    }
    nn_dnnl_conv_free(c->conv);
    c->conv = alt;
    c->padded = buf;
    c->block = d->src_layout == NN_DNNL_BLOCKED ? nn_dnnl_ctx_block(ctx) : 1;
    c->units = d->n * ((d->c_in + c->block - 1) / c->block);
    c->h = d->h;
    c->w = d->w;
    c->ph = p.h;
    c->pw = p.w;
    c->pt = d->pad_top;
    c->pl = d->pad_left;
    return FS_OK;
}

/* Appends the post-op for a fused activation; slopes (c_out floats) for PRELU. */
static void add_post(nn_dnnl_conv_desc *d, nn_act act, float lo, float hi, const float *slopes)
{
    nn_dnnl_post_op *o = &d->post[d->post_count];
    memset(o, 0, sizeof *o);
    switch (act) {
    case NN_ACT_RELU: o->kind = NN_DNNL_POST_RELU; break;
    case NN_ACT_CLIP: o->kind = NN_DNNL_POST_CLIP; o->clip_min = lo; o->clip_max = hi; break;
    case NN_ACT_PRELU: o->kind = NN_DNNL_POST_PRELU; o->slopes = slopes; break;
    case NN_ACT_NONE: return;
    }
    d->post_count++;
}

static fs_status prepare_conv(nn_step *s, fs_error *err)
{
    nn_conv_geom g;
    nn_conv_geometry(s, &g);
    nn_dnnl_conv_desc d;
    nn_dnnl_conv_desc_init(&d);
    d.n = g.n;
    d.c_in = g.c_in;
    d.h = g.h_in;
    d.w = g.w_in;
    d.c_out = g.c_out;
    d.kh = g.kh;
    d.kw = g.kw;
    d.stride_h = g.sh;
    d.stride_w = g.sw;
    d.pad_top = g.pad_t;
    d.pad_left = g.pad_l;
    d.pad_bottom = g.pad_b;
    d.pad_right = g.pad_r;
    d.dilation_h = g.dh;
    d.dilation_w = g.dw;
    d.groups = g.group;
    d.weights = g.weight;
    d.bias = g.bias;
    d.src_layout = s->in[0]->blocked ? NN_DNNL_BLOCKED : NN_DNNL_NCHW;
    d.dst_layout = s->out[0]->blocked ? NN_DNNL_BLOCKED : NN_DNNL_NCHW;
    /* bf16 pays on dense convs (0.6-0.8x the f32 time even with the source converted in run,
     * bench/nn_profile); a depthwise conv does too little per element and becomes 1.2-2x slower */
    nn_dnnl_ctx *ctx = s->backend;
    d.bf16 = nn_dnnl_ctx_bf16(ctx) && g.group == 1;
    float *slopes = NULL;
    if (g.act == NN_ACT_PRELU) {
        if (!g.slope || (g.slope_count != 1 && g.slope_count != g.c_out))
            return util_fail(err, FS_ERR_INTERNAL, "%s: node '%s': bad PRelu slope", s->model,
                             s->node->label);
        slopes = malloc((size_t)g.c_out * sizeof *slopes);
        if (!slopes)
            return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", s->model);
        for (int64_t c = 0; c < g.c_out; c++)
            slopes[c] = g.slope[g.slope_count == 1 ? 0 : c];
    }
    add_post(&d, g.act, g.act_min, g.act_max, slopes);
    if (s->dw_node) {
        const nn_params *dp = &s->dw_node->p;
        nn_dnnl_conv_desc act = {0};
        add_post(&act, dp->act, dp->act_min, dp->act_max, NULL);
        d.dw = true;
        d.dw_stride = dp->strides[0];
        d.dw_weights = s->dw_weight->data;
        d.dw_bias = s->dw_bias ? s->dw_bias->data : NULL;
        d.dw_post[0] = act.post[0];
        d.dw_post_count = act.post_count;
    }
    if (s->residual) {
        d.post[d.post_count++] = (nn_dnnl_post_op){.kind = NN_DNNL_POST_SUM};
        add_post(&d, s->after_sum, s->after_min, s->after_max, NULL);
    }
    /* A small conv runs on one thread: waking a second costs more than it saves (and on a
     * loaded machine a parallel region can wait a whole time slice for a busy core). */
    int threads = nn_dnnl_ctx_threads(ctx);
    double macs = (double)g.n * (double)g.c_out * (double)g.h_out * (double)g.w_out *
                  (double)(g.c_in / g.group) * (double)(g.kh * g.kw);
    fs_error cerr = {0};
    fs_status rc = FS_OK;
    if (threads > 1 && macs < SMALL_CONV_MACS)
        rc = nn_dnnl_ctx_set_threads(ctx, 1, &cerr);
    conv_state *conv = calloc(1, sizeof *conv);
    if (!conv)
        rc = util_fail(&cerr, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK)
        rc = create_conv(ctx, &d, conv, &cerr);
    if (nn_dnnl_ctx_threads(ctx) != threads)
        nn_dnnl_ctx_set_threads(ctx, threads, NULL);
    free(slopes);
    if (rc) {
        free_conv(conv);
        return util_fail(err, rc, "%s: node '%s' (Conv): %s", s->model, s->node->label,
                         cerr.message);
    }
    s->state = conv;
    s->free_state = free_conv;
    s->run = run_conv;
    return FS_OK;
}

/* ---- per-channel ops ------------------------------------------------------------------------- */

static void free_chan(void *state)
{
    nn_chan_op *op = state;
    if (!op)
        return;
    free(op->a);
    free(op->b);
    free(op);
}

static fs_status run_chan(const nn_step *s, fs_error *err)
{
    (void)err;
    nn_fast_chan_run(s->state, s->in[s->fast_arg]->data, s->out[0]->data);
    return FS_OK;
}

/* Value of a per-channel constant (1 or c values) for channel k. */
static float chan_value(const nn_tensor *t, int64_t k)
{
    const float *v = t->data;
    return t->count == 1 ? v[0] : v[k];
}

static fs_status prepare_chan(nn_step *s, fs_error *err)
{
    const nn_tensor *y = s->out[0];
    int block = y->blocked ? y->blocked : 1;
    int64_t c = y->dims[1], cp = (c + block - 1) / block * block;
    nn_chan_op *op = calloc(1, sizeof *op);
    if (!op)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", s->model);
    op->block = block;
    op->n = y->dims[0];
    op->c = c;
    op->hw = y->dims[2] * y->dims[3];
    op->threads = s->threads;
    nn_op_kind kind = s->node->op;
    if (kind != NN_OP_RELU) {
        op->a = calloc((size_t)cp, sizeof(float));
        op->b = calloc((size_t)cp, sizeof(float));
        if (!op->a || !op->b) {
            free_chan(op);
            return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", s->model);
        }
    }
    const nn_tensor *k = s->n_in > 1 ? s->in[1 - s->fast_arg] : NULL;
    float lo = s->node->p.clip_min, hi = s->node->p.clip_max;
    switch (kind) {
    case NN_OP_RELU:
        op->mode = NN_CHAN_RELU;
        break;
    case NN_OP_CLIP:
        op->mode = NN_CHAN_CLIP;
        if (s->n_in > 1 && s->in[1])
            lo = *(const float *)s->in[1]->data;
        if (s->n_in > 2 && s->in[2])
            hi = *(const float *)s->in[2]->data;
        for (int64_t i = 0; i < c; i++) {
            op->a[i] = lo;
            op->b[i] = hi;
        }
        break;
    case NN_OP_PRELU:
        op->mode = NN_CHAN_PRELU;
        for (int64_t i = 0; i < c; i++)
            op->a[i] = chan_value(s->in[1], i);
        break;
    case NN_OP_SCALE_SHIFT:
        op->mode = NN_CHAN_AFFINE;
        for (int64_t i = 0; i < c; i++) {
            op->a[i] = chan_value(s->in[1], i);
            op->b[i] = chan_value(s->in[2], i);
        }
        break;
    default: /* Add, Sub, Mul with a constant k */
        op->mode = NN_CHAN_AFFINE;
        for (int64_t i = 0; i < c; i++) {
            float kv = chan_value(k, i);
            if (kind == NN_OP_MUL) {
                op->a[i] = kv;
            } else if (kind == NN_OP_ADD) {
                op->a[i] = 1.0f;
                op->b[i] = kv;
            } else if (s->fast_arg == 0) { /* x - k */
                op->a[i] = 1.0f;
                op->b[i] = -kv;
            } else {                       /* k - x */
                op->a[i] = -1.0f;
                op->b[i] = kv;
            }
        }
        break;
    }
    s->state = op;
    s->free_state = free_chan;
    s->run = run_chan;
    return FS_OK;
}

/* ---- data movement --------------------------------------------------------------------------- */

static fs_status run_same(const nn_step *s, fs_error *err)
{
    (void)err;
    nn_fast_same_run(s->node->op, s->in[0]->data, s->in[1]->data, s->out[0]->data,
                     nn_tensor_elements(s->out[0]), s->threads);
    return FS_OK;
}

static fs_status run_to_dense(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0];
    nn_fast_blocked_to_nchw(x->data, s->out[0]->data, x->dims[0], x->dims[1],
                            x->dims[2] * x->dims[3], x->blocked, s->threads);
    return FS_OK;
}

static fs_status run_nhwc(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0];
    nn_fast_to_nhwc(x->data, s->out[0]->data, x->dims[0], x->dims[1], x->dims[2] * x->dims[3],
                    x->blocked ? x->blocked : 1, s->threads);
    return FS_OK;
}

typedef struct concat_state {
    const float **src; /* filled at run time: an input's data pointer may change (plan input) */
    int64_t *channels;
} concat_state;

static void free_concat(void *state)
{
    concat_state *c = state;
    if (!c)
        return;
    free(c->src);
    free(c->channels);
    free(c);
}

static fs_status run_concat(const nn_step *s, fs_error *err)
{
    (void)err;
    const concat_state *c = s->state;
    const nn_tensor *y = s->out[0];
    for (int j = 0; j < s->n_in; j++)
        c->src[j] = s->in[j]->data;
    nn_fast_concat_blocked(c->src, c->channels, s->n_in, y->data, y->dims[0],
                           y->dims[2] * y->dims[3], y->blocked);
    return FS_OK;
}

static fs_status prepare_concat(nn_step *s, fs_error *err)
{
    concat_state *c = calloc(1, sizeof *c);
    if (c) {
        c->src = calloc((size_t)s->n_in, sizeof *c->src);
        c->channels = calloc((size_t)s->n_in, sizeof *c->channels);
    }
    if (!c || !c->src || !c->channels) {
        free_concat(c);
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", s->model);
    }
    for (int j = 0; j < s->n_in; j++)
        c->channels[j] = s->in[j]->dims[1];
    s->state = c;
    s->free_state = free_concat;
    s->run = run_concat;
    return FS_OK;
}

/* ---- Gemm ------------------------------------------------------------------------------------ */

static fs_status run_gemm(const nn_step *s, fs_error *err)
{
    const nn_params *p = &s->node->p;
    const nn_tensor *a = s->in[0], *b = s->in[1], *c = s->n_in > 2 ? s->in[2] : NULL;
    float *Y = s->out[0]->data;
    int64_t M = s->out[0]->dims[0], N = s->out[0]->dims[1];
    int64_t K = p->trans_a ? a->dims[0] : a->dims[1];
    float beta = 0.0f;
    if (c && p->beta != 0.0f) {
        const float *C = c->data;
        int64_t cols = c->ndim >= 1 ? c->dims[c->ndim - 1] : 1;
        int row = c->ndim == 2 && c->dims[0] != 1, col = c->ndim >= 1 && cols != 1;
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++)
                Y[m * N + n] = p->beta * C[(row ? m * cols : 0) + (col ? n : 0)];
        beta = 1.0f;
    }
    int prev = omp_get_max_threads();
    if (prev != s->threads)
        omp_set_num_threads(s->threads);
    dnnl_status_t r = dnnl_sgemm(p->trans_a ? 'T' : 'N', p->trans_b ? 'T' : 'N', M, N, K, p->alpha,
                                 a->data, p->trans_a ? M : K, b->data, p->trans_b ? K : N, beta, Y,
                                 N);
    if (prev != s->threads)
        omp_set_num_threads(prev);
    if (r != dnnl_success)
        return util_fail(err, FS_ERR_INTERNAL, "%s: node '%s' (Gemm): oneDNN sgemm failed",
                         s->model, s->node->label);
    return FS_OK;
}

/* ---- the hook -------------------------------------------------------------------------------- */

fs_status nn_fast_prepare(nn_step *s, fs_error *err)
{
    if (s->to_plain) {
        s->run = run_to_dense;
        return FS_OK;
    }
    const nn_tensor *y = s->out[0];
    switch ((nn_fast_kind)s->fast_kind) {
    case NN_FAST_CONV:
        return prepare_conv(s, err);
    case NN_FAST_CHANNEL:
        return prepare_chan(s, err);
    case NN_FAST_SAME:
        s->run = run_same;
        return FS_OK;
    case NN_FAST_CONCAT:
        return y->blocked ? prepare_concat(s, err) : FS_OK;
    case NN_FAST_NHWC:
        s->run = run_nhwc;
        return FS_OK;
    case NN_FAST_MAXPOOL:
        if (y->blocked)
            s->run = nn_fast_maxpool_blocked_step;
        return FS_OK; /* dense: the reference kernel */
    case NN_FAST_OTHER:
        break;
    }
    if (y->dtype != NN_F32 || s->in[0]->dtype != NN_F32 || s->in[0]->blocked)
        return FS_OK;
    switch (s->node->op) {
    case NN_OP_GEMM:
        if (s->in[0]->ndim == 2 && s->in[1]->ndim == 2)
            s->run = run_gemm;
        break;
    case NN_OP_EXP:
        s->run = nn_fast_exp_step;
        break;
    case NN_OP_SOFTMAX: {
        const nn_tensor *x = s->in[0];
        int axis = nn_axis(s->node->p.axis, x->ndim, 0);
        if (axis >= 0 && (s->node->p.softmax_legacy || axis == x->ndim - 1))
            s->run = nn_fast_softmax_step;
        break;
    }
    case NN_OP_SLICE: {
        nn_slice_spec spec;
        if (nn_slice_resolve(s->node, s->in, s->n_in, &spec) == 0 && s->in[0]->ndim >= 1 &&
            spec.step[s->in[0]->ndim - 1] == 1)
            s->run = nn_fast_slice_step;
        break;
    }
    case NN_OP_CONCAT: {
        int ok = nn_axis(s->node->p.axis, y->ndim, 0) >= 0;
        for (int j = 0; j < s->n_in; j++)
            ok = ok && s->in[j] && s->in[j]->dtype == NN_F32 && !s->in[j]->blocked;
        if (ok)
            s->run = nn_fast_concat_step;
        break;
    }
    default:
        break;
    }
    return FS_OK;
}

const nn_backend_ops nn_backend_fast_ops = {
    .name = "fast",
    .room = nn_fast_layout_room,
    .plan_begin = nn_fast_plan_begin,
    .plan_end = nn_fast_plan_end,
    .rewrite = nn_fast_layout,
    .prepare = nn_fast_prepare,
};
