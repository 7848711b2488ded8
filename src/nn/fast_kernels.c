/*
 * fast_kernels.c — the fast backend's own kernels for the cheap ops (see fast.h): per-channel
 * elementwise ops, same-shape arithmetic, layout conversion, NHWC transpose and channel concat,
 * on dense NCHW (block 1) or oneDNN's blocked nChw{B}c data. Plain C written so that the compiler
 * vectorises the inner loops over the B lanes of a block; OpenMP threads over (image, channel
 * block) units when the tensor is large enough to pay for waking them.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "nn/fast.h"

/* Below this many floats a kernel runs on the calling thread only. */
#define PAR_MIN ((int64_t)1 << 15)

static int team(int threads, int64_t work)
{
    return threads > 1 && work >= PAR_MIN ? threads : 1;
}

/* One (image, channel) unit of a per-channel op on dense data: hw values, parameters av/bv. */
static void chan_plain(nn_chan_mode mode, float av, float bv, const float *x, float *y, int64_t hw)
{
    switch (mode) {
    case NN_CHAN_RELU:
        for (int64_t i = 0; i < hw; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case NN_CHAN_CLIP:
        for (int64_t i = 0; i < hw; i++)
            y[i] = x[i] < av ? av : x[i] > bv ? bv : x[i];
        break;
    case NN_CHAN_PRELU:
        for (int64_t i = 0; i < hw; i++) {
            float v = x[i], pos = v > 0.0f ? v : 0.0f, neg = v < 0.0f ? v : 0.0f;
            y[i] = pos + neg * av;
        }
        break;
    case NN_CHAN_AFFINE:
        for (int64_t i = 0; i < hw; i++)
            y[i] = x[i] * av + bv;
        break;
    }
}

/* One (image, channel block) unit on blocked data: hw pixels of `block` lanes (a constant after
 * inlining, so the lane loop vectorises), parameters a/b at the block's first channel. Written
 * branch-free: signs of activations are random, a branch would mispredict half the time. */
static inline __attribute__((always_inline)) void chan_blocked(nn_chan_mode mode,
                                                               const float *restrict a,
                                                               const float *restrict b,
                                                               const float *x, float *y,
                                                               int64_t hw, int block)
{
    switch (mode) {
    case NN_CHAN_RELU:
        for (int64_t i = 0; i < hw * block; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case NN_CHAN_CLIP:
        for (int64_t i = 0; i < hw; i++, x += block, y += block)
            for (int l = 0; l < block; l++) {
                float v = x[l] > a[l] ? x[l] : a[l];
                y[l] = v < b[l] ? v : b[l];
            }
        break;
    case NN_CHAN_PRELU:
        for (int64_t i = 0; i < hw; i++, x += block, y += block)
            for (int l = 0; l < block; l++) {
                float v = x[l], pos = v > 0.0f ? v : 0.0f, neg = v < 0.0f ? v : 0.0f;
                y[l] = pos + neg * a[l];
            }
        break;
    case NN_CHAN_AFFINE:
        for (int64_t i = 0; i < hw; i++, x += block, y += block)
            for (int l = 0; l < block; l++)
                y[l] = x[l] * a[l] + b[l];
        break;
    }
}

static void chan_unit(nn_chan_mode mode, const float *a, const float *b, const float *x, float *y,
                      int64_t hw, int block)
{
    if (block == 1)
        chan_plain(mode, a ? a[0] : 0.0f, b ? b[0] : 0.0f, x, y, hw);
    else if (block == 8)
        chan_blocked(mode, a, b, x, y, hw, 8);
    else
        chan_blocked(mode, a, b, x, y, hw, 16);
}

void nn_fast_chan_run(const nn_chan_op *op, const float *x, float *y)
{
    int block = op->block;
    int64_t cb = (op->c + block - 1) / block, units = op->n * cb, hw = op->hw;
    int nt = team(op->threads, units * hw * block);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        int64_t c0 = (u % cb) * block;
        const float *a = op->a ? op->a + c0 : NULL, *b = op->b ? op->b + c0 : NULL;
        chan_unit(op->mode, a, b, x + u * hw * block, y + u * hw * block, hw, block);
    }
}

void nn_fast_same_run(nn_op_kind op, const float *a, const float *b, float *y, int64_t count,
                      int threads)
{
    const int64_t chunk = 4096;
    int64_t chunks = (count + chunk - 1) / chunk;
    int nt = team(threads, count);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t k = 0; k < chunks; k++) {
        int64_t lo = k * chunk, hi = lo + chunk < count ? lo + chunk : count;
        switch (op) {
        case NN_OP_ADD:
            for (int64_t i = lo; i < hi; i++)
                y[i] = a[i] + b[i];
            break;
        case NN_OP_SUB:
            for (int64_t i = lo; i < hi; i++)
                y[i] = a[i] - b[i];
            break;
        default:
            for (int64_t i = lo; i < hi; i++)
                y[i] = a[i] * b[i];
            break;
        }
    }
}

void nn_fast_blocked_to_nchw(const float *x, float *y, int64_t n, int64_t c, int64_t hw, int block,
                             int threads)
{
    int64_t cb = (c + block - 1) / block, units = n * cb;
    int nt = team(threads, units * hw * block);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        int64_t in = u / cb, b = u % cb;
        int64_t lanes = c - b * block < block ? c - b * block : block;
        const float *src = x + u * hw * block;
        float *dst = y + (in * c + b * block) * hw;
        for (int64_t l = 0; l < lanes; l++) {
            float *d = dst + l * hw;
            const float *s = src + l;
            for (int64_t i = 0; i < hw; i++)
                d[i] = s[i * block];
        }
    }
}

void nn_fast_to_nhwc(const float *x, float *y, int64_t n, int64_t c, int64_t hw, int block,
                     int threads)
{
    int nt = team(threads, n * c * hw);
    if (block == 1) {
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
        for (int64_t u = 0; u < n * hw; u++) {
            int64_t in = u / hw, i = u % hw;
            const float *s = x + in * c * hw + i;
            float *d = y + u * c;
            for (int64_t k = 0; k < c; k++)
                d[k] = s[k * hw];
        }
        return;
    }
    int64_t cb = (c + block - 1) / block;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t u = 0; u < n * hw; u++) {
        int64_t in = u / hw, i = u % hw;
        float *d = y + u * c;
        for (int64_t b = 0; b < cb; b++) {
            int64_t lanes = c - b * block < block ? c - b * block : block;
            memcpy(d + b * block, x + ((in * cb + b) * hw + i) * block,
                   (size_t)lanes * sizeof(float));
        }
    }
}

void nn_fast_concat_blocked(const float *const *x, const int64_t *c, int count, float *y, int64_t n,
                            int64_t hw, int block)
{
    for (int64_t in = 0; in < n; in++)
        for (int j = 0; j < count; j++) {
            int64_t cb = (c[j] + block - 1) / block;
            size_t len = (size_t)(cb * hw * block);
            memcpy(y, x[j] + (size_t)in * len, len * sizeof(float));
            y += len;
        }
}

/* ---- dense kernels for the detector's decoding tail ------------------------------------------ */

/* e^x in float, branch-free so that loops over it vectorise (no float clamps: with GCC's default
 * trapping math they become branches): x = n ln2 + r (|r| <= ln2/2), e^r by a degree-7
 * polynomial (Cephes' coefficients), 2^n put into the exponent bits with n clamped to
 * [-127, 128] as an integer, so results below 2^-126 become 0 and above 2^128 infinity.
 * Relative error about 2 ulp in the normal range. Valid for finite x <= 88.7; callers fix up
 * the rest (infinities, NaN, overflow) with expf. */
static inline float exp_approx(float x)
{
    float t = x * 1.44269504088896341f + 12582912.0f; /* round to nearest via the magic number */
    float n = t - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t ni = (int32_t)n;
    ni = ni < -127 ? -127 : ni;
    ni = ni > 128 ? 128 : ni;
    int32_t bits = (ni + 127) << 23; /* -127: 0.0f; 128: infinity */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

fs_status nn_fast_exp_step(const nn_step *s, fs_error *err)
{
    (void)err;
    const float *restrict x = s->in[0]->data;
    float *restrict y = s->out[0]->data;
    int64_t n = s->out[0]->count;
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
        y[i] = exp_approx(x[i]);
    for (int64_t i = 0; i < n; i++) /* rare: overflow, infinities, NaN, as libm has them */
        if (!(x[i] <= 88.7f && x[i] >= -1e30f))
            y[i] = expf(x[i]);
    return FS_OK;
}

fs_status nn_fast_softmax_step(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0];
    int axis = nn_axis(s->node->p.axis, x->ndim, 0);
    int64_t rows = 1, len = 1;
    for (int i = 0; i < x->ndim; i++) {
        if (i < axis)
            rows *= x->dims[i];
        else
            len *= x->dims[i]; /* nn_fast_prepare only picks this kernel when inner is 1 */
    }
    const float *restrict xd = x->data;
    float *restrict yd = s->out[0]->data;
    if (len == 2) {
        /* two classes (the detector's background/face): vectorise across rows */
#pragma omp simd
        for (int64_t o = 0; o < rows; o++) {
            float a = xd[2 * o], b = xd[2 * o + 1], d = a - b;
            /* softmax(a, b) = (1, e^(b-a)) / (1 + e^(b-a)) for a >= b, mirrored otherwise */
            float e = exp_approx(d > 0.0f ? -d : d), inv = 1.0f / (1.0f + e);
            float big = inv, small = e * inv;
            yd[2 * o] = d > 0.0f ? big : small;
            yd[2 * o + 1] = d > 0.0f ? small : big;
        }
        for (int64_t o = 0; o < rows; o++) { /* rare: infinities or NaN in a row */
            float a = xd[2 * o], b = xd[2 * o + 1];
            if (!(a - b >= -1e30f && a - b <= 1e30f)) {
                float mx = a > b ? a : b, ea = expf(a - mx), eb = expf(b - mx);
                yd[2 * o] = ea / (ea + eb);
                yd[2 * o + 1] = eb / (ea + eb);
            }
        }
        return FS_OK;
    }
    for (int64_t o = 0; o < rows; o++) {
        const float *xv = xd + o * len;
        float *yv = yd + o * len;
        float mx = xv[0];
        for (int64_t i = 1; i < len; i++)
            mx = xv[i] > mx ? xv[i] : mx;
        float sum = 0.0f;
        for (int64_t i = 0; i < len; i++) {
            float d = xv[i] - mx;
            yv[i] = d >= -1e30f ? exp_approx(d) : expf(d);
            sum += yv[i];
        }
        float inv = 1.0f / sum;
        for (int64_t i = 0; i < len; i++)
            yv[i] *= inv;
    }
    return FS_OK;
}

fs_status nn_fast_slice_step(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0], *y = s->out[0];
    nn_slice_spec spec;
    nn_slice_resolve(s->node, s->in, s->n_in, &spec);
    int r = x->ndim;
    if (y->count == 0)
        return FS_OK;
    int64_t xst[NN_MAX_DIMS], stride = 1, off = 0;
    for (int i = r - 1; i >= 0; i--) {
        xst[i] = stride;
        stride *= x->dims[i];
    }
    for (int i = 0; i < r; i++)
        off += spec.start[i] * xst[i];
    /* rows of the last axis (step 1: nn_fast_prepare checked): the last-but-one axis in a tight
     * loop, the axes before it walked with an odometer */
    int64_t inner = y->dims[r - 1], mid = r >= 2 ? y->dims[r - 2] : 1;
    int64_t mid_stride = r >= 2 ? spec.step[r - 2] * xst[r - 2] : 0;
    int64_t outer = y->count / (inner * mid), idx[NN_MAX_DIMS] = {0};
    const float *src = (const float *)x->data + off;
    float *dst = y->data;
    for (int64_t o = 0; o < outer; o++) {
        int64_t so = 0;
        for (int i = 0; i < r - 2; i++)
            so += idx[i] * spec.step[i] * xst[i];
        const float *sp = src + so;
        if (inner == 2) {
            for (int64_t m = 0; m < mid; m++, sp += mid_stride, dst += 2) {
                dst[0] = sp[0];
                dst[1] = sp[1];
            }
        } else {
            for (int64_t m = 0; m < mid; m++, sp += mid_stride, dst += inner)
                memcpy(dst, sp, (size_t)inner * sizeof(float));
        }
        for (int i = r - 3; i >= 0; i--) {
            if (++idx[i] < y->dims[i])
                break;
            idx[i] = 0;
        }
    }
    return FS_OK;
}

fs_status nn_fast_concat_step(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *y = s->out[0];
    int axis = nn_axis(s->node->p.axis, y->ndim, 0);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= y->dims[i];
    for (int i = axis + 1; i < y->ndim; i++)
        inner *= y->dims[i];
    float *dst = y->data;
    int64_t row = y->dims[axis] * inner; /* output floats per outer index */
    if (row < 64) {
        /* small pieces (the detector's [1, N, 2] + [1, N, 2]): one strided pass per input */
        int64_t at = 0;
        for (int j = 0; j < s->n_in; j++) {
            int64_t chunk = s->in[j]->dims[axis] * inner;
            const float *src = s->in[j]->data;
            for (int64_t o = 0; o < outer; o++)
                for (int64_t k = 0; k < chunk; k++)
                    dst[o * row + at + k] = src[o * chunk + k];
            at += chunk;
        }
        return FS_OK;
    }
    for (int64_t o = 0; o < outer; o++)
        for (int j = 0; j < s->n_in; j++) {
            int64_t chunk = s->in[j]->dims[axis] * inner;
            if (chunk)
                memcpy(dst, (const float *)s->in[j]->data + o * chunk, (size_t)chunk * sizeof(float));
            dst += chunk;
        }
    return FS_OK;
}

/* ---- MaxPool on the blocked layout ---------------------------------------------------------- */

/* One (image, channel block) unit: B lanes per pixel, B = 8 or 16 (a constant per call, so the
 * lane loop becomes vector max instructions). A window with no tap inside the image gives
 * -FLT_MAX, as the reference does, in the real lanes and 0 in the padding lanes (real: lanes
 * holding channels). */
static void maxpool_unit(const float *x, float *y, int64_t H, int64_t W, int64_t OH, int64_t OW,
                         const int64_t k[2], const int64_t st[2], const int64_t dl[2], int64_t pt,
                         int64_t pl, int block, int real)
{
    for (int64_t oy = 0; oy < OH; oy++) {
        int64_t y0 = oy * st[0] - pt, ky0, ky1;
        nn_window_taps(y0, dl[0], k[0], H, &ky0, &ky1);
        for (int64_t ox = 0; ox < OW; ox++) {
            int64_t x0 = ox * st[1] - pl, kx0, kx1;
            nn_window_taps(x0, dl[1], k[1], W, &kx0, &kx1);
            float acc[16];
            for (int l = 0; l < block; l++)
                acc[l] = l < real ? -FLT_MAX : 0.0f;
            for (int64_t ky = ky0; ky < ky1; ky++) {
                const float *row = x + (y0 + ky * dl[0]) * W * block;
                for (int64_t kx = kx0; kx < kx1; kx++) {
                    const float *v = row + (x0 + kx * dl[1]) * block;
                    for (int l = 0; l < block; l++)
                        acc[l] = v[l] > acc[l] ? v[l] : acc[l];
                }
            }
            memcpy(y + (oy * OW + ox) * block, acc, (size_t)block * sizeof(float));
        }
    }
}

fs_status nn_fast_maxpool_blocked_step(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_params *p = &s->node->p;
    const nn_tensor *x = s->in[0], *y = s->out[0];
    int block = x->blocked;
    int64_t H = x->dims[2], W = x->dims[3], OH = y->dims[2], OW = y->dims[3], C = x->dims[1];
    int64_t pt, pl, pb, pr, o;
    nn_window_axis(H, p->kernel[0], p->strides[0], p->dilations[0], p->auto_pad, p->ceil_mode,
                   p->pads[0], p->pads[2], &pt, &pb, &o);
    nn_window_axis(W, p->kernel[1], p->strides[1], p->dilations[1], p->auto_pad, p->ceil_mode,
                   p->pads[1], p->pads[3], &pl, &pr, &o);
    const int64_t k[2] = {p->kernel[0], p->kernel[1]}, st[2] = {p->strides[0], p->strides[1]};
    const int64_t dl[2] = {p->dilations[0], p->dilations[1]};
    int64_t cb = (C + block - 1) / block, units = x->dims[0] * cb;
    const float *xd = x->data;
    float *yd = y->data;
    int nt = team(s->threads, units * OH * OW * block * k[0] * k[1]);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t u = 0; u < units; u++) {
        int64_t c0 = (u % cb) * block;
        int real = C - c0 < block ? (int)(C - c0) : block;
        if (block == 8)
            maxpool_unit(xd + u * H * W * 8, yd + u * OH * OW * 8, H, W, OH, OW, k, st, dl, pt,
                         pl, 8, real);
        else
            maxpool_unit(xd + u * H * W * 16, yd + u * OH * OW * 16, H, W, OH, OW, k, st, dl, pt,
                         pl, 16, real);
    }
    return FS_OK;
}
