/*
 * test_dnnl_conv.c — the oneDNN convolution module (src/nn/dnnl_conv.*) against a naive
 * convolution written here in double precision: many shapes (3x3, 1x1, depthwise, grouped,
 * dilated, asymmetric pads, odd sizes, channel counts that are not multiples of the block), each
 * post-op, every layout mode (NCHW, NCHW direct, blocked, mixed), 1 and 2 threads, the blocked
 * layout helpers, and the exact error messages for bad descriptors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dnnl.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/dnnl_conv.h"
#include "nn/nn.h"

/* ---- Test data and the reference ----------------------------------------------------------- */

typedef struct conv_case {
    const char *name;
    int64_t n, c, h, w, oc, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g;
    int bias;
} conv_case;

static const conv_case CASES[] = {
    /* name            n  c   h   w   oc  kh kw sh sw pt pl pb pr dh dw g  bias */
    {"3x3 s1 p1",      1, 16, 20, 24, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"3x3 s2 p1 odd",  1, 16, 21, 19, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1},
    {"1x1",            1, 64, 14, 14, 128, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1},
    {"1x1 s2 nobias",  1, 32, 9, 10, 16, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 0},
    {"dw3x3 s1",       1, 32, 15, 17, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32, 1},
    {"dw3x3 s2",       1, 64, 16, 16, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 64, 1},
    {"dw3x3 c12",      1, 12, 11, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 12, 1},
    {"dw7x7 global",   1, 24, 7, 7, 24, 7, 7, 1, 1, 0, 0, 0, 0, 1, 1, 24, 0},
    {"grouped g3",     1, 12, 10, 10, 18, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1},
    {"grouped g2 16",  1, 32, 8, 12, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1},
    {"dilated 2",      1, 16, 30, 40, 16, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1},
    {"dilated 3",      1, 16, 17, 23, 16, 3, 3, 1, 1, 3, 3, 3, 3, 3, 3, 1, 1},
    {"asym 3x5 n2",    2, 5, 13, 7, 7, 3, 5, 1, 2, 1, 2, 0, 1, 1, 1, 1, 1},
    {"first layer",    1, 3, 33, 45, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1},
    {"gray first",     1, 1, 32, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1},
    {"c13 to c10",     1, 13, 9, 11, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"head 64 to 6",   1, 64, 6, 5, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1},
    {"1x1 on 1x1",     1, 40, 1, 1, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1},
    {"c8 to c16",      1, 8, 30, 40, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"c12 to c16",     1, 12, 30, 40, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

/* MODE_BF16: blocked in and out, computing in bfloat16 (desc.bf16) */
typedef enum mode { MODE_PLAIN, MODE_PLAIN_DIRECT, MODE_BLOCKED, MODE_MIXED, MODE_BF16 } mode;
static const char *const MODE_NAMES[] = {"plain", "plain_direct", "blocked", "mixed", "bf16"};

/* Deterministic pseudo-random floats in [-1, 1). */
static void fill(float *x, size_t count, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < count; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, int64_t d)
{
    return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1;
}

/* Naive NCHW convolution in double, then the post-ops in order. residual: NCHW or NULL.
 * mag (or NULL) receives, per output, |bias| + sum |x*w| + |residual|: the scale of the rounding
 * error of any summation order, which the comparison's tolerance is relative to. */
static void ref_conv_mag(const conv_case *k, const float *x, const float *wt, const float *b,
                         const nn_dnnl_post_op *post, int post_count, const float *residual,
                         float *y, double *mag)
{
    int64_t oh = out_dim(k->h, k->kh, k->sh, k->pt, k->pb, k->dh);
    int64_t ow = out_dim(k->w, k->kw, k->sw, k->pl, k->pr, k->dw);
    int64_t icg = k->c / k->g, ocg = k->oc / k->g;
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t o = 0; o < k->oc; o++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                    double acc = b ? b[o] : 0.0, m = fabs(acc);
                    int64_t g = o / ocg;
                    for (int64_t ci = 0; ci < icg; ci++)
                        for (int64_t u = 0; u < k->kh; u++)
                            for (int64_t v = 0; v < k->kw; v++) {
                                int64_t yy = i * k->sh - k->pt + u * k->dh;
                                int64_t xx = j * k->sw - k->pl + v * k->dw;
                                if (yy < 0 || yy >= k->h || xx < 0 || xx >= k->w)
                                    continue;
                                int64_t c = g * icg + ci;
                                double t = (double)x[((n * k->c + c) * k->h + yy) * k->w + xx] *
                                           wt[((o * icg + ci) * k->kh + u) * k->kw + v];
                                acc += t;
                                m += fabs(t);
                            }
                    size_t at = (size_t)(((n * k->oc + o) * oh + i) * ow + j);
                    for (int p = 0; p < post_count; p++) {
                        switch (post[p].kind) {
                        case NN_DNNL_POST_RELU: acc = acc > 0 ? acc : 0; break;
                        case NN_DNNL_POST_CLIP:
                            acc = acc < post[p].clip_min ? post[p].clip_min : acc;
                            acc = acc > post[p].clip_max ? post[p].clip_max : acc;
                            break;
                        case NN_DNNL_POST_PRELU:
                            acc = acc > 0 ? acc : acc * post[p].slopes[o];
                            break;
                        case NN_DNNL_POST_SUM:
                            acc += residual[at];
                            m += fabs(residual[at]);
                            break;
                        }
                    }
                    y[at] = (float)acc;
                    if (mag)
                        mag[at] = m;
                }
}

static void ref_conv(const conv_case *k, const float *x, const float *wt, const float *b,
                     const nn_dnnl_post_op *post, int post_count, const float *residual, float *y)
{
    ref_conv_mag(k, x, wt, b, post, post_count, residual, y, NULL);
}

static void fill_desc(nn_dnnl_conv_desc *d, const conv_case *k, const float *wt, const float *b)
{
    nn_dnnl_conv_desc_init(d);
    d->n = k->n, d->c_in = k->c, d->h = k->h, d->w = k->w, d->c_out = k->oc;
    d->kh = k->kh, d->kw = k->kw, d->stride_h = k->sh, d->stride_w = k->sw;
    d->pad_top = k->pt, d->pad_left = k->pl, d->pad_bottom = k->pb, d->pad_right = k->pr;
    d->dilation_h = k->dh, d->dilation_w = k->dw, d->groups = k->g;
    d->weights = wt;
    d->bias = b;
}

/* Relative comparison: |got - want| <= tol * scale, where scale is mag[i] (see ref_conv_mag;
 * the post-ops used here are 1-Lipschitz, |slope| < 1) or, without mag, max |want|. */
static void expect_close_tol(const float *got, const float *want, const double *mag, size_t count,
                             double tol, const char *what)
{
    double max_ref = 0;
    for (size_t i = 0; i < count; i++)
        max_ref = fabs(want[i]) > max_ref ? fabs(want[i]) : max_ref;
    for (size_t i = 0; i < count; i++) {
        double scale = mag ? mag[i] : max_ref;
        double dlt = fabs((double)got[i] - want[i]);
        if (!(dlt <= tol * (scale > 1e-3 ? scale : 1e-3))) {
            print_error("%s: diff %g (scale %g) at %zu: got %g want %g\n", what, dlt, scale, i,
                        (double)got[i], (double)want[i]);
            fail();
        }
    }
}

/* f32 arithmetic: only the order of the sums differs from the reference */
static void expect_close_mag(const float *got, const float *want, const double *mag, size_t count,
                             const char *what)
{
    expect_close_tol(got, want, mag, count, 1e-5, what);
}

static void expect_close(const float *got, const float *want, size_t count, const char *what)
{
    expect_close_mag(got, want, NULL, count, what);
}

/* Checks that every padding lane of a blocked tensor is 0. */
static void expect_zero_padding(const float *x, int64_t n, int64_t c, int64_t hw, int block)
{
    int64_t cb = (c + block - 1) / block;
    for (int64_t i = 0; i < n; i++)
        for (int64_t pos = 0; pos < hw; pos++)
            for (int64_t l = c - (cb - 1) * block; l < block; l++)
                assert_true(x[((i * cb + cb - 1) * hw + pos) * block + l] == 0.0f);
}

static float *xmalloc_floats(size_t count)
{
    float *p = malloc((count ? count : 1) * sizeof(float));
    assert_non_null(p);
    return p;
}

/* Converts an NCHW buffer into a new buffer in `layout` (returned, caller frees). */
static float *to_layout(nn_dnnl_ctx *ctx, const float *nchw, int64_t n, int64_t c, int64_t h,
                        int64_t w, nn_dnnl_layout layout)
{
    size_t count = nn_dnnl_tensor_floats(ctx, layout, n, c, h, w);
    float *out = xmalloc_floats(count);
    nn_dnnl_reorder *r = NULL;
    fs_error err;
    assert_int_equal(nn_dnnl_reorder_create(ctx, n, c, h, w, NN_DNNL_NCHW, layout, &r, &err),
                     FS_OK);
    assert_int_equal(nn_dnnl_reorder_run(r, nchw, out, &err), FS_OK);
    nn_dnnl_reorder_free(r);
    return out;
}

/* Runs one case in one mode with the given post-ops against the reference. residual_mode:
 * 0 = no SUM post-op, 1 = residual separate from dst, 2 = residual pre-loaded in dst (in place). */
static void check_case(nn_dnnl_ctx *ctx, const conv_case *k, mode m, const nn_dnnl_post_op *post,
                       int post_count, int residual_mode)
{
    int64_t oh = out_dim(k->h, k->kh, k->sh, k->pt, k->pb, k->dh);
    int64_t ow = out_dim(k->w, k->kw, k->sw, k->pl, k->pr, k->dw);
    size_t in_n = (size_t)(k->n * k->c * k->h * k->w), out_n = (size_t)(k->n * k->oc * oh * ow);
    size_t w_n = (size_t)(k->oc * (k->c / k->g) * k->kh * k->kw);
    float *x = xmalloc_floats(in_n), *wt = xmalloc_floats(w_n), *b = xmalloc_floats((size_t)k->oc);
    float *want = xmalloc_floats(out_n), *res = xmalloc_floats(out_n), *got = xmalloc_floats(out_n);
    fill(x, in_n, 1);
    fill(wt, w_n, 2);
    fill(b, (size_t)k->oc, 3);
    fill(res, out_n, 4);
    double *mag = malloc(out_n * sizeof(double));
    assert_non_null(mag);
    ref_conv_mag(k, x, wt, k->bias ? b : NULL, post, post_count, res, want, mag);

    nn_dnnl_conv_desc d;
    fill_desc(&d, k, wt, k->bias ? b : NULL);
    if (post_count > 0)
        memcpy(d.post, post, (size_t)post_count * sizeof *post);
    d.post_count = post_count;
    d.src_layout = m == MODE_BLOCKED || m == MODE_BF16 ? NN_DNNL_BLOCKED : NN_DNNL_NCHW;
    d.dst_layout = m == MODE_PLAIN || m == MODE_PLAIN_DIRECT ? NN_DNNL_NCHW : NN_DNNL_BLOCKED;
    d.plain_direct = m == MODE_PLAIN_DIRECT;
    d.bf16 = m == MODE_BF16;

    nn_dnnl_conv *conv = NULL;
    fs_error err = {0};
    fs_status rc = nn_dnnl_conv_create(ctx, &d, &conv, &err);
    if (rc != FS_OK)
        print_error("%s/%s: %s\n", k->name, MODE_NAMES[m], err.message);
    assert_int_equal(rc, FS_OK);
    /* A CPU that computes bf16 natively has a bf16 kernel for every dense conv; elsewhere the
     * conv may quietly compute in f32. Asked for f32, it never computes in bf16. */
    if (m == MODE_BF16 && k->g == 1 && nn_cpu_has_bf16())
        assert_true(nn_dnnl_conv_is_bf16(conv));
    if (m != MODE_BF16)
        assert_false(nn_dnnl_conv_is_bf16(conv));
    int64_t shape[4];
    nn_dnnl_conv_out_shape(conv, shape);
    assert_int_equal(shape[1], k->oc);
    assert_int_equal(shape[2], oh);
    assert_int_equal(shape[3], ow);

    float *src = d.src_layout == NN_DNNL_NCHW ? x : to_layout(ctx, x, k->n, k->c, k->h, k->w,
                                                              d.src_layout);
    float *resl = d.dst_layout == NN_DNNL_NCHW ? res : to_layout(ctx, res, k->n, k->oc, oh, ow,
                                                                 d.dst_layout);
    size_t dst_count = nn_dnnl_tensor_floats(ctx, d.dst_layout, k->n, k->oc, oh, ow);
    float *dst = xmalloc_floats(dst_count);
    for (int rep = 0; rep < 2; rep++) { /* a prepared conv runs many times */
        const float *residual = NULL;
        if (residual_mode == 1) {
            for (size_t i = 0; i < dst_count; i++)
                dst[i] = NAN; /* must be fully overwritten */
            residual = resl;
        } else if (residual_mode == 2) {
            memcpy(dst, resl, dst_count * sizeof(float));
            residual = dst;
        } else {
            for (size_t i = 0; i < dst_count; i++)
                dst[i] = NAN;
        }
        rc = nn_dnnl_conv_run(conv, src, dst, residual, &err);
        if (rc != FS_OK)
            print_error("%s/%s: %s\n", k->name, MODE_NAMES[m], err.message);
        assert_int_equal(rc, FS_OK);
        if (d.dst_layout == NN_DNNL_BLOCKED) {
            expect_zero_padding(dst, k->n, k->oc, oh * ow, nn_dnnl_ctx_block(ctx));
            nn_dnnl_reorder *r = NULL;
            assert_int_equal(nn_dnnl_reorder_create(ctx, k->n, k->oc, oh, ow, NN_DNNL_BLOCKED,
                                                    NN_DNNL_NCHW, &r, &err),
                             FS_OK);
            assert_int_equal(nn_dnnl_reorder_run(r, dst, got, &err), FS_OK);
            nn_dnnl_reorder_free(r);
        } else {
            memcpy(got, dst, out_n * sizeof(float));
        }
        char what[160];
        snprintf(what, sizeof what, "%s/%s/%d post-ops/residual %d (%s)", k->name, MODE_NAMES[m],
                 post_count, residual_mode, nn_dnnl_conv_impl(conv, NULL));
        /* bf16 rounds inputs and weights to 8 significant bits (relative error <= 2^-9 each):
         * the sum is then off by at most about 2^-8 of the sum of |x * w| (mag) */
        expect_close_tol(got, want, mag, out_n, nn_dnnl_conv_is_bf16(conv) ? 5e-3 : 1e-5, what);
    }
    nn_dnnl_conv_free(conv);
    if (src != x)
        free(src);
    if (resl != res)
        free(resl);
    free(dst);
    free(x);
    free(wt);
    free(b);
    free(want);
    free(res);
    free(got);
    free(mag);
}

static int setup_ctx(void **state)
{
    nn_dnnl_ctx *ctx = NULL;
    fs_error err;
    if (nn_dnnl_ctx_create(1, &ctx, &err) != FS_OK)
        return -1;
    *state = ctx;
    return 0;
}

static int teardown_ctx(void **state)
{
    nn_dnnl_ctx_free(*state);
    return 0;
}

/* ---- Shapes in every layout mode ------------------------------------------------------------ */

static void all_cases(nn_dnnl_ctx *ctx, mode m)
{
    for (size_t i = 0; i < NCASES; i++)
        check_case(ctx, &CASES[i], m, NULL, 0, 0);
}

static void test_shapes_plain(void **state) { all_cases(*state, MODE_PLAIN); }
static void test_shapes_plain_direct(void **state) { all_cases(*state, MODE_PLAIN_DIRECT); }
static void test_shapes_blocked(void **state) { all_cases(*state, MODE_BLOCKED); }
static void test_shapes_mixed(void **state) { all_cases(*state, MODE_MIXED); }
static void test_shapes_bf16(void **state) { all_cases(*state, MODE_BF16); }

static void test_shapes_two_threads(void **state)
{
    (void)state;
    nn_dnnl_ctx *ctx = NULL;
    fs_error err;
    assert_int_equal(nn_dnnl_ctx_create(2, &ctx, &err), FS_OK);
    assert_int_equal(nn_dnnl_ctx_threads(ctx), 2);
    all_cases(ctx, MODE_PLAIN);
    all_cases(ctx, MODE_BLOCKED);
    nn_dnnl_ctx_free(ctx);
}

/* ---- Post-ops ------------------------------------------------------------------------------- */

/* Every case, every mode, with the given post-ops (slopes sized for the largest c_out). */
static void all_cases_post(nn_dnnl_ctx *ctx, const nn_dnnl_post_op *post, int count, int residual)
{
    for (size_t i = 0; i < NCASES; i++)
        for (int m = MODE_PLAIN; m <= MODE_MIXED; m++)
            check_case(ctx, &CASES[i], (mode)m, post, count, residual);
}

static float SLOPES[128];

static void init_slopes(void)
{
    fill(SLOPES, 128, 9); /* negative slopes too: PRelu allows any */
}

static void test_post_relu(void **state)
{
    nn_dnnl_post_op p[1] = {{.kind = NN_DNNL_POST_RELU}};
    all_cases_post(*state, p, 1, 0);
}

static void test_post_clip(void **state)
{
    nn_dnnl_post_op p[1] = {{.kind = NN_DNNL_POST_CLIP, .clip_min = 0.0f, .clip_max = 0.5f}};
    all_cases_post(*state, p, 1, 0);
    nn_dnnl_post_op q[1] = {{.kind = NN_DNNL_POST_CLIP, .clip_min = -0.25f, .clip_max = 0.25f}};
    all_cases_post(*state, q, 1, 0);
}

static void test_post_prelu(void **state)
{
    init_slopes();
    nn_dnnl_post_op p[1] = {{.kind = NN_DNNL_POST_PRELU, .slopes = SLOPES}};
    all_cases_post(*state, p, 1, 0);
    /* Equal slopes take another path (fused as oneDNN leaky relu). */
    float same[128];
    for (int i = 0; i < 128; i++)
        same[i] = 0.25f;
    nn_dnnl_post_op q[2] = {{.kind = NN_DNNL_POST_PRELU, .slopes = same},
                            {.kind = NN_DNNL_POST_PRELU, .slopes = SLOPES}};
    all_cases_post(*state, q, 1, 0);
    all_cases_post(*state, q, 2, 0);
}

/* Post-ops must not make oneDNN fall back to its reference kernel (PRelu did, in 2.6). */
static void test_post_ops_stay_jit(void **state)
{
    nn_dnnl_ctx *ctx = *state;
    init_slopes();
    const conv_case *k = &CASES[4]; /* dw3x3 */
    static float wt[32 * 9];
    fill(wt, 32 * 9, 5);
    nn_dnnl_post_op all[4] = {{.kind = NN_DNNL_POST_SUM}, {.kind = NN_DNNL_POST_RELU},
                              {.kind = NN_DNNL_POST_PRELU, .slopes = SLOPES},
                              {.kind = NN_DNNL_POST_CLIP, .clip_min = 0, .clip_max = 6}};
    for (int count = 1; count <= 4; count++) {
        nn_dnnl_conv_desc d;
        fill_desc(&d, k, wt, NULL);
        memcpy(d.post, all, sizeof all);
        d.post_count = count;
        d.src_layout = d.dst_layout = NN_DNNL_BLOCKED;
        nn_dnnl_conv *conv = NULL;
        fs_error err;
        assert_int_equal(nn_dnnl_conv_create(ctx, &d, &conv, &err), FS_OK);
        if (nn_dnnl_conv_is_reference(conv))
            print_error("%d post-ops: impl %s\n", count, nn_dnnl_conv_impl(conv, NULL));
        assert_false(nn_dnnl_conv_is_reference(conv));
        nn_dnnl_conv_free(conv);
    }
}

static void test_post_sum_separate(void **state)
{
    nn_dnnl_post_op p[1] = {{.kind = NN_DNNL_POST_SUM}};
    all_cases_post(*state, p, 1, 1);
}

static void test_post_sum_in_place(void **state)
{
    nn_dnnl_post_op p[1] = {{.kind = NN_DNNL_POST_SUM}};
    all_cases_post(*state, p, 1, 2);
}

static void test_post_chains(void **state)
{
    init_slopes();
    nn_dnnl_post_op sum_relu[2] = {{.kind = NN_DNNL_POST_SUM}, {.kind = NN_DNNL_POST_RELU}};
    all_cases_post(*state, sum_relu, 2, 1);
    nn_dnnl_post_op prelu_sum[2] = {{.kind = NN_DNNL_POST_PRELU, .slopes = SLOPES},
                                    {.kind = NN_DNNL_POST_SUM}};
    all_cases_post(*state, prelu_sum, 2, 2);
    nn_dnnl_post_op relu_clip[2] = {{.kind = NN_DNNL_POST_RELU},
                                    {.kind = NN_DNNL_POST_CLIP, .clip_min = 0, .clip_max = 0.3f}};
    all_cases_post(*state, relu_clip, 2, 0);
}

/* ---- Layout helpers ---------------------------------------------------------------------------
 */

/* The kernels pick the context's blocked layout themselves: no conversion inside run. */
static void test_blocked_is_native(void **state)
{
    nn_dnnl_ctx *ctx = *state;
    int block = nn_dnnl_ctx_block(ctx);
    /* 16-channel blocks exactly where oneDNN runs AVX-512 code (also under ONEDNN_MAX_CPU_ISA) */
    bool avx512 = (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) ==
                  dnnl_cpu_isa_avx512_core;
    assert_int_equal(block, avx512 ? 16 : 8);
    /* "grouped g3" (4 ch/group) uses gemm; 8 and 12 input channels (as the detector's heads
     * have) read the source's whole last block */
    const int picks[] = {0, 2, 4, 5, 9, 10, 18, 19};
    for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
        const conv_case *k = &CASES[picks[i]];
        size_t w_n = (size_t)(k->oc * (k->c / k->g) * k->kh * k->kw);
        float *wt = xmalloc_floats(w_n);
        fill(wt, w_n, 5);
        nn_dnnl_conv_desc d;
        fill_desc(&d, k, wt, NULL);
        d.src_layout = d.dst_layout = NN_DNNL_BLOCKED;
        nn_dnnl_conv *conv = NULL;
        fs_error err;
        assert_int_equal(nn_dnnl_conv_create(ctx, &d, &conv, &err), FS_OK);
        bool converts = true;
        const char *impl = nn_dnnl_conv_impl(conv, &converts);
        if (converts)
            print_error("%s converts layouts (impl %s)\n", k->name, impl);
        assert_false(converts);
        assert_false(nn_dnnl_conv_is_reference(conv));
        nn_dnnl_conv_free(conv);
        free(wt);
    }
}

static void test_tensor_floats(void **state)
{
    nn_dnnl_ctx *ctx = *state;
    int b = nn_dnnl_ctx_block(ctx);
    assert_int_equal(nn_dnnl_tensor_floats(ctx, NN_DNNL_NCHW, 2, 13, 5, 7), 2 * 13 * 5 * 7);
    assert_int_equal(nn_dnnl_tensor_floats(ctx, NN_DNNL_BLOCKED, 2, 13, 5, 7),
                     (size_t)(2 * ((13 + b - 1) / b * b) * 5 * 7));
    assert_int_equal(nn_dnnl_tensor_floats(ctx, NN_DNNL_BLOCKED, 1, 16, 1, 1), 16);
    assert_int_equal(nn_dnnl_tensor_floats(ctx, NN_DNNL_NCHW, 0, 3, 4, 4), 0);
    assert_int_equal(nn_dnnl_tensor_floats(ctx, NN_DNNL_NCHW, 1, 1 << 20, 1 << 10, 1 << 10), 0);
}

/* NCHW -> blocked follows the documented indexing, zero padding; and back is exact. */
static void test_reorder_indexing(void **state)
{
    nn_dnnl_ctx *ctx = *state;
    const int64_t n = 2, c = 19, h = 5, w = 3;
    int b = nn_dnnl_ctx_block(ctx);
    int64_t cb = (c + b - 1) / b;
    size_t plain = (size_t)(n * c * h * w);
    float *x = xmalloc_floats(plain), *back = xmalloc_floats(plain);
    fill(x, plain, 7);
    float *blk = to_layout(ctx, x, n, c, h, w, NN_DNNL_BLOCKED);
    for (int64_t in = 0; in < n; in++)
        for (int64_t ic = 0; ic < c; ic++)
            for (int64_t y = 0; y < h; y++)
                for (int64_t xx = 0; xx < w; xx++)
                    assert_true(blk[(((in * cb + ic / b) * h + y) * w + xx) * b + ic % b] ==
                                x[((in * c + ic) * h + y) * w + xx]);
    expect_zero_padding(blk, n, c, h * w, b);
    nn_dnnl_reorder *r = NULL;
    fs_error err;
    assert_int_equal(nn_dnnl_reorder_create(ctx, n, c, h, w, NN_DNNL_BLOCKED, NN_DNNL_NCHW, &r,
                                            &err),
                     FS_OK);
    assert_int_equal(nn_dnnl_reorder_run(r, blk, back, &err), FS_OK);
    assert_memory_equal(back, x, plain * sizeof(float));
    nn_dnnl_reorder_free(r);
    free(blk);
    free(x);
    free(back);
}

/* Per-channel PRelu and Add helpers on the blocked layout equal the NCHW computation. */
static void test_blocked_helpers(void **state)
{
    nn_dnnl_ctx *ctx = *state;
    const int64_t n = 2, c = 21, h = 4, w = 6;
    int b = nn_dnnl_ctx_block(ctx);
    size_t plain = (size_t)(n * c * h * w);
    float *x = xmalloc_floats(plain), *want = xmalloc_floats(plain), *got = xmalloc_floats(plain);
    float slopes[21], add[21];
    fill(x, plain, 11);
    fill(slopes, 21, 12);
    fill(add, 21, 13);
    for (size_t i = 0; i < plain; i++) {
        int64_t ch = (int64_t)(i / (size_t)(h * w)) % c;
        float v = x[i] > 0 ? x[i] : x[i] * slopes[ch];
        want[i] = v + add[ch];
    }
    float *blk = to_layout(ctx, x, n, c, h, w, NN_DNNL_BLOCKED);
    nn_dnnl_blocked_prelu(blk, n, c, h, w, b, slopes);
    nn_dnnl_blocked_add_channel(blk, n, c, h, w, b, add);
    expect_zero_padding(blk, n, c, h * w, b);
    nn_dnnl_reorder *r = NULL;
    fs_error err;
    assert_int_equal(nn_dnnl_reorder_create(ctx, n, c, h, w, NN_DNNL_BLOCKED, NN_DNNL_NCHW, &r,
                                            &err),
                     FS_OK);
    assert_int_equal(nn_dnnl_reorder_run(r, blk, got, &err), FS_OK);
    assert_memory_equal(got, want, plain * sizeof(float));
    nn_dnnl_reorder_free(r);
    free(blk);
    free(x);
    free(want);
    free(got);
}

/* A MobileFaceNet-like block kept blocked end to end: 1x1 expand + PRelu, dw 3x3 + PRelu,
 * 1x1 project + residual sum; only the boundaries convert. */
static void test_blocked_chain(void **state)
{
    nn_dnnl_ctx *ctx = *state;
    init_slopes();
    const conv_case expand = {"expand", 1, 24, 9, 9, 48, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
    const conv_case dw = {"dw", 1, 48, 9, 9, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 48, 1};
    const conv_case project = {"project", 1, 48, 9, 9, 24, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
    const conv_case *chain[3] = {&expand, &dw, &project};
    size_t sz = 48 * 81;
    float *wts[3], *bs[3];
    float *a = xmalloc_floats(sz), *t1 = xmalloc_floats(sz), *t2 = xmalloc_floats(sz);
    float *want = xmalloc_floats(sz), *got = xmalloc_floats(sz);
    fill(a, 24 * 81, 21);
    nn_dnnl_post_op prelu = {.kind = NN_DNNL_POST_PRELU, .slopes = SLOPES};
    nn_dnnl_post_op sum = {.kind = NN_DNNL_POST_SUM};
    nn_dnnl_conv *convs[3];
    fs_error err;
    for (int i = 0; i < 3; i++) {
        const conv_case *k = chain[i];
        size_t w_n = (size_t)(k->oc * (k->c / k->g) * k->kh * k->kw);
        wts[i] = xmalloc_floats(w_n);
        bs[i] = xmalloc_floats((size_t)k->oc);
        fill(wts[i], w_n, 30 + (uint32_t)i);
        fill(bs[i], (size_t)k->oc, 40 + (uint32_t)i);
        nn_dnnl_conv_desc d;
        fill_desc(&d, k, wts[i], bs[i]);
        d.post[0] = i < 2 ? prelu : sum;
        d.post_count = 1;
        d.src_layout = d.dst_layout = NN_DNNL_BLOCKED;
        assert_int_equal(nn_dnnl_conv_create(ctx, &d, &convs[i], &err), FS_OK);
    }
    /* Reference in NCHW. */
    ref_conv(&expand, a, wts[0], bs[0], &prelu, 1, NULL, t1);
    ref_conv(&dw, t1, wts[1], bs[1], &prelu, 1, NULL, t2);
    ref_conv(&project, t2, wts[2], bs[2], &sum, 1, a, want);
    /* Blocked. */
    float *ab = to_layout(ctx, a, 1, 24, 9, 9, NN_DNNL_BLOCKED);
    size_t big = nn_dnnl_tensor_floats(ctx, NN_DNNL_BLOCKED, 1, 48, 9, 9);
    size_t small = nn_dnnl_tensor_floats(ctx, NN_DNNL_BLOCKED, 1, 24, 9, 9);
    float *b1 = xmalloc_floats(big), *b2 = xmalloc_floats(big), *b3 = xmalloc_floats(small);
    assert_int_equal(nn_dnnl_conv_run(convs[0], ab, b1, NULL, &err), FS_OK);
    assert_int_equal(nn_dnnl_conv_run(convs[1], b1, b2, NULL, &err), FS_OK);
    memcpy(b3, ab, small * sizeof(float));
    assert_int_equal(nn_dnnl_conv_run(convs[2], b2, b3, b3, &err), FS_OK);
    nn_dnnl_reorder *r = NULL;
    assert_int_equal(nn_dnnl_reorder_create(ctx, 1, 24, 9, 9, NN_DNNL_BLOCKED, NN_DNNL_NCHW, &r,
                                            &err),
                     FS_OK);
    assert_int_equal(nn_dnnl_reorder_run(r, b3, got, &err), FS_OK);
    expect_close(got, want, 24 * 81, "blocked chain");
    nn_dnnl_reorder_free(r);
    for (int i = 0; i < 3; i++) {
        nn_dnnl_conv_free(convs[i]);
        free(wts[i]);
        free(bs[i]);
    }
    free(ab);
    free(b1);
    free(b2);
    free(b3);
    free(a);
    free(t1);
    free(t2);
    free(want);
    free(got);
}

/* ---- Errors --------------------------------------------------------------------------------- */

static void expect_create_error(nn_dnnl_ctx *ctx, const nn_dnnl_conv_desc *d, fs_status rc,
                                const char *message)
{
    nn_dnnl_conv *conv = (nn_dnnl_conv *)(uintptr_t)1; /* must be reset to NULL */
    fs_error err = {0};
    assert_int_equal(nn_dnnl_conv_create(ctx, d, &conv, &err), rc);
    assert_null(conv);
    assert_int_equal(err.code, rc);
    assert_string_equal(err.message, message);
}

/* A 1x1 conv with a fused depthwise 3x3 conv (stride 1 and 2, odd sizes, relu/clip on either,
 * with and without the depthwise bias, blocked and plain layouts) against the two convs run by
 * the reference one after the other. */
static void check_dw_fusion(nn_dnnl_ctx *ctx, int64_t c_in, int64_t c_out, int64_t h, int64_t w,
                            int64_t stride, int dw_bias, nn_dnnl_layout layout)
{
    const conv_case pw = {"pw", 1, c_in, h, w, c_out, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
    const conv_case dw = {"dw",   1, c_out, h, w, c_out, 3, 3, stride, stride, 1, 1, 1, 1,
                          1,      1, c_out, dw_bias};
    int64_t oh = out_dim(h, 3, stride, 1, 1, 1), ow = out_dim(w, 3, stride, 1, 1, 1);
    float *x = xmalloc_floats((size_t)(c_in * h * w)), *wp = xmalloc_floats((size_t)(c_out * c_in));
    float *bp = xmalloc_floats((size_t)c_out), *wd = xmalloc_floats((size_t)(c_out * 9));
    float *bd = xmalloc_floats((size_t)c_out), *mid = xmalloc_floats((size_t)(c_out * h * w));
    float *want = xmalloc_floats((size_t)(c_out * oh * ow));
    float *got = xmalloc_floats((size_t)(c_out * oh * ow));
    fill(x, (size_t)(c_in * h * w), 51);
    fill(wp, (size_t)(c_out * c_in), 52);
    fill(bp, (size_t)c_out, 53);
    fill(wd, (size_t)(c_out * 9), 54);
    fill(bd, (size_t)c_out, 55);
    nn_dnnl_post_op relu = {.kind = NN_DNNL_POST_RELU};
    nn_dnnl_post_op clip = {.kind = NN_DNNL_POST_CLIP, .clip_min = 0.0f, .clip_max = 0.5f};
    ref_conv(&pw, x, wp, bp, &relu, 1, NULL, mid);
    ref_conv(&dw, mid, wd, dw_bias ? bd : NULL, &clip, 1, NULL, want);

    nn_dnnl_conv_desc d;
    fill_desc(&d, &pw, wp, bp);
    d.post[0] = relu;
    d.post_count = 1;
    d.dw = true;
    d.dw_stride = stride;
    d.dw_weights = wd;
    d.dw_bias = dw_bias ? bd : NULL;
    d.dw_post[0] = clip;
    d.dw_post_count = 1;
    d.src_layout = d.dst_layout = layout;
    int64_t got_h = 0, got_w = 0;
    fs_error err;
    assert_int_equal(nn_dnnl_conv_out_size(&d, &got_h, &got_w, &err), FS_OK);
    assert_int_equal(got_h, oh);
    assert_int_equal(got_w, ow);
    nn_dnnl_conv *conv = NULL;
    assert_int_equal(nn_dnnl_conv_create(ctx, &d, &conv, &err), FS_OK);
    float *src = to_layout(ctx, x, 1, c_in, h, w, layout);
    float *dst = xmalloc_floats(nn_dnnl_tensor_floats(ctx, layout, 1, c_out, oh, ow));
    assert_int_equal(nn_dnnl_conv_run(conv, src, dst, NULL, &err), FS_OK);
    if (layout == NN_DNNL_BLOCKED) {
        expect_zero_padding(dst, 1, c_out, oh * ow, nn_dnnl_ctx_block(ctx));
        nn_dnnl_reorder *r = NULL;
        assert_int_equal(nn_dnnl_reorder_create(ctx, 1, c_out, oh, ow, NN_DNNL_BLOCKED,
                                                NN_DNNL_NCHW, &r, &err),
                         FS_OK);
        assert_int_equal(nn_dnnl_reorder_run(r, dst, got, &err), FS_OK);
        nn_dnnl_reorder_free(r);
    } else {
        memcpy(got, dst, (size_t)(c_out * oh * ow) * sizeof(float));
    }
    expect_close(got, want, (size_t)(c_out * oh * ow), "fused depthwise");
    nn_dnnl_conv_free(conv);
    free(src);
    free(dst);
    free(x);
    free(wp);
    free(bp);
    free(wd);
    free(bd);
    free(mid);
    free(want);
    free(got);
}

static void test_dw_fusion(void **state)
{
    nn_dnnl_ctx *ctx = *state;
    /* large enough for oneDNN's fused JIT kernel (smaller ones run its two kernels in turn) */
    check_dw_fusion(ctx, 16, 32, 130, 162, 2, 1, NN_DNNL_BLOCKED);
    check_dw_fusion(ctx, 16, 32, 20, 24, 2, 1, NN_DNNL_BLOCKED);
    check_dw_fusion(ctx, 16, 32, 21, 19, 2, 1, NN_DNNL_BLOCKED);
    check_dw_fusion(ctx, 32, 32, 15, 17, 1, 0, NN_DNNL_BLOCKED);
    check_dw_fusion(ctx, 24, 12, 9, 13, 1, 1, NN_DNNL_BLOCKED); /* channels not a multiple of 8 */
    check_dw_fusion(ctx, 8, 16, 11, 7, 2, 1, NN_DNNL_NCHW);
}

/* Fusion is refused for anything but a plain 1x1 conv with relu/clip and stride 1 or 2. */
static void test_dw_fusion_errors(void **state)
{
    nn_dnnl_ctx *ctx = *state;
    float wts[64 * 9] = {0};
    const conv_case pw = {"pw", 1, 8, 8, 8, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0};
    nn_dnnl_conv_desc d;
    fill_desc(&d, &pw, wts, NULL);
    d.dw = true;
    d.dw_stride = 3;
    d.dw_weights = wts;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: fused depthwise stride 3 (1 or 2)");
    d.dw_stride = 1;
    d.kh = d.kw = 3;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: a fused depthwise conv needs a plain 1x1 conv");
    d.kh = d.kw = 1;
    d.post[0] = (nn_dnnl_post_op){.kind = NN_DNNL_POST_SUM};
    d.post_count = 1;
    expect_create_error(ctx, &d, FS_ERR_ARG,
                        "conv: with a fused depthwise conv only relu/clip post-ops");
    d.post_count = 0;
    d.dw_weights = NULL;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: fused depthwise conv without weights");
}

static void test_errors_desc(void **state)
{
    nn_dnnl_ctx *ctx = *state;
    static const float wt[4 * 8 * 9] = {0};
    nn_dnnl_conv_desc good, d;
    const conv_case k = {"base", 1, 8, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    fill_desc(&good, &k, wt, NULL);

    expect_create_error(ctx, NULL, FS_ERR_ARG, "conv: no descriptor");
    d = good, d.h = 0;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: input shape 1x8x0x6 has a dimension < 1");
    d = good, d.c_in = -3;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: input shape 1x-3x6x6 has a dimension < 1");
    d = good, d.c_out = 0;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: output channels 0 < 1");
    d = good, d.kw = 0;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: kernel 3x0 has a dimension < 1");
    d = good, d.stride_h = 0;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: stride 0x1 has a value < 1");
    d = good, d.dilation_w = 0;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: dilation 1x0 has a value < 1");
    d = good, d.pad_right = -1;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: pads 1,1,1,-1 include a negative value");
    d = good, d.kh = 9;
    expect_create_error(ctx, &d, FS_ERR_ARG,
                        "conv: kernel 9x3 (dilation 1x1) does not fit input 6x6 with pads "
                        "1,1,1,1");
    d = good, d.dilation_h = 4;
    expect_create_error(ctx, &d, FS_ERR_ARG,
                        "conv: kernel 3x3 (dilation 4x1) does not fit input 6x6 with pads "
                        "1,1,1,1");
    d = good, d.groups = 3;
    expect_create_error(ctx, &d, FS_ERR_ARG,
                        "conv: group 3 does not divide input channels 8 and output channels 4");
    d = good, d.groups = 8;
    expect_create_error(ctx, &d, FS_ERR_ARG,
                        "conv: group 8 does not divide input channels 8 and output channels 4");
    d = good, d.groups = 0;
    expect_create_error(ctx, &d, FS_ERR_ARG,
                        "conv: group 0 does not divide input channels 8 and output channels 4");
    d = good, d.n = 1 << 16, d.c_in = 1 << 16, d.h = d.w = 1 << 10;
    expect_create_error(ctx, &d, FS_ERR_LIMIT, "conv: a tensor has more than 2^31 elements");
    d = good, d.h = (int64_t)1 << 40;
    expect_create_error(ctx, &d, FS_ERR_LIMIT, "conv: a size, pad or dilation exceeds 2^31");
    d = good, d.weights = NULL;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: no weights");
    d = good, d.src_layout = (nn_dnnl_layout)7;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: unknown layout");
    d = good, d.plain_direct = true, d.dst_layout = NN_DNNL_BLOCKED;
    expect_create_error(ctx, &d, FS_ERR_ARG,
                        "conv: plain_direct needs NCHW source and destination");
    d = good, d.post_count = 5;
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: 5 post-ops (at most 4)");
    d = good, d.post_count = 1, d.post[0] = (nn_dnnl_post_op){.kind = NN_DNNL_POST_PRELU};
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: post-op 0: prelu without slopes");
    d = good, d.post_count = 2, d.post[0] = (nn_dnnl_post_op){.kind = NN_DNNL_POST_RELU};
    d.post[1] = (nn_dnnl_post_op){.kind = NN_DNNL_POST_CLIP, .clip_min = 1, .clip_max = 0};
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: post-op 1: clip min 1 > max 0");
    d = good, d.post_count = 2, d.post[0] = (nn_dnnl_post_op){.kind = NN_DNNL_POST_SUM};
    d.post[1] = (nn_dnnl_post_op){.kind = NN_DNNL_POST_SUM};
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: post-op 1: more than one sum");
    d = good, d.post_count = 1, d.post[0] = (nn_dnnl_post_op){.kind = (nn_dnnl_post_kind)9};
    expect_create_error(ctx, &d, FS_ERR_ARG, "conv: post-op 0: unknown kind 9");

    nn_dnnl_conv *conv = NULL;
    fs_error err;
    assert_int_equal(nn_dnnl_conv_create(NULL, &good, &conv, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "conv: no context");
    assert_int_equal(nn_dnnl_conv_create(ctx, &good, NULL, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "conv: no output pointer");
    /* err may be NULL. */
    assert_int_equal(nn_dnnl_conv_create(ctx, NULL, &conv, NULL), FS_ERR_ARG);

    int64_t oh = 0, ow = 0;
    d = good, d.stride_h = 2, d.pad_bottom = 0;
    assert_int_equal(nn_dnnl_conv_out_size(&d, &oh, &ow, &err), FS_OK);
    assert_int_equal(oh, 3);
    assert_int_equal(ow, 6);
}

static void test_errors_run(void **state)
{
    nn_dnnl_ctx *ctx = *state;
    static const float wt[4 * 8 * 9] = {0};
    const conv_case k = {"base", 1, 8, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    float src[8 * 36] = {0}, dst[4 * 36], res[4 * 36] = {0};
    nn_dnnl_conv_desc d;
    fill_desc(&d, &k, wt, NULL);
    nn_dnnl_conv *plain = NULL, *summed = NULL;
    fs_error err;
    assert_int_equal(nn_dnnl_conv_create(ctx, &d, &plain, &err), FS_OK);
    d.post_count = 1, d.post[0] = (nn_dnnl_post_op){.kind = NN_DNNL_POST_SUM};
    assert_int_equal(nn_dnnl_conv_create(ctx, &d, &summed, &err), FS_OK);

    assert_int_equal(nn_dnnl_conv_run(summed, src, dst, NULL, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "conv: the sum post-op needs a residual");
    assert_int_equal(nn_dnnl_conv_run(plain, src, dst, res, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "conv: a residual was given but no sum post-op was asked");
    assert_int_equal(nn_dnnl_conv_run(plain, NULL, dst, NULL, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "conv: run without a source");
    assert_int_equal(nn_dnnl_conv_run(plain, src, NULL, NULL, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "conv: run without a destination");
    assert_int_equal(nn_dnnl_conv_run(NULL, src, dst, NULL, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "conv: run without a convolution");
    assert_int_equal(nn_dnnl_conv_run(summed, src, dst, res, &err), FS_OK);

    nn_dnnl_reorder *r = (nn_dnnl_reorder *)(uintptr_t)1;
    assert_int_equal(nn_dnnl_reorder_create(ctx, 1, 0, 4, 4, NN_DNNL_NCHW, NN_DNNL_BLOCKED, &r,
                                            &err),
                     FS_ERR_ARG);
    assert_null(r);
    assert_string_equal(err.message, "conv: reorder shape 1x0x4x4 has a dimension < 1 or more "
                                     "than 2^31 elements");
    assert_int_equal(nn_dnnl_reorder_create(ctx, 1, 4, 4, 4, NN_DNNL_NCHW, (nn_dnnl_layout)3, &r,
                                            &err),
                     FS_ERR_ARG);
    assert_string_equal(err.message, "conv: unknown layout");
    assert_int_equal(nn_dnnl_reorder_run(NULL, src, dst, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "conv: reorder without a reorder");

    nn_dnnl_ctx *bad = (nn_dnnl_ctx *)(uintptr_t)1;
    assert_int_equal(nn_dnnl_ctx_create(-1, &bad, &err), FS_ERR_ARG);
    assert_null(bad);
    assert_string_equal(err.message, "conv: thread count -1 is not in 0..1024");
    assert_int_equal(nn_dnnl_ctx_set_threads(ctx, 0, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "conv: thread count 0 is not in 1..1024");

    nn_dnnl_conv_free(plain);
    nn_dnnl_conv_free(summed);
    nn_dnnl_conv_free(NULL);
    nn_dnnl_reorder_free(NULL);
    nn_dnnl_ctx_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes_plain),
        cmocka_unit_test(test_shapes_plain_direct),
        cmocka_unit_test(test_shapes_blocked),
        cmocka_unit_test(test_shapes_mixed),
        cmocka_unit_test(test_shapes_bf16),
        cmocka_unit_test(test_shapes_two_threads),
        cmocka_unit_test(test_post_relu),
        cmocka_unit_test(test_post_clip),
        cmocka_unit_test(test_post_prelu),
        cmocka_unit_test(test_post_sum_separate),
        cmocka_unit_test(test_post_sum_in_place),
        cmocka_unit_test(test_post_chains),
        cmocka_unit_test(test_post_ops_stay_jit),
        cmocka_unit_test(test_blocked_is_native),
        cmocka_unit_test(test_dw_fusion),
        cmocka_unit_test(test_dw_fusion_errors),
        cmocka_unit_test(test_tensor_floats),
        cmocka_unit_test(test_reorder_indexing),
        cmocka_unit_test(test_blocked_helpers),
        cmocka_unit_test(test_blocked_chain),
        cmocka_unit_test(test_errors_desc),
        cmocka_unit_test(test_errors_run),
    };
    return cmocka_run_group_tests(tests, setup_ctx, teardown_ctx);
}
