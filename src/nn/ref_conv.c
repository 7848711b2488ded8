/*
 * ref_conv.c — reference Conv (grouped/depthwise, strides, pads, dilations, fused bias and
 * activation), Gemm and MatMul. Loops put the output width (or the GEMM's N) innermost so that
 * the compiler vectorises them; a 1x1 stride-1 convolution is a plain GEMM-like loop.
 */
#include <string.h>

#include "nn/ref_kernels.h"

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return -floor_div(-a, b);
}

static void activate(const nn_conv_geom *g, int64_t oc, float *y, int64_t n)
{
    switch (g->act) {
    case NN_ACT_NONE:
        break;
    case NN_ACT_RELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        break;
    case NN_ACT_PRELU: {
        float s = g->slope[g->slope_count == 1 ? 0 : oc];
        for (int64_t i = 0; i < n; i++)
            y[i] = y[i] < 0.0f ? y[i] * s : y[i];
        break;
    }
    case NN_ACT_CLIP: {
        float lo = g->act_min, hi = g->act_max;
        for (int64_t i = 0; i < n; i++)
            y[i] = y[i] < lo ? lo : y[i] > hi ? hi : y[i];
        break;
    }
    }
}

void nn_conv_ref_compute(const nn_conv_geom *g, const float *x, float *y)
{
    int64_t cin_g = g->c_in / g->group, cout_g = g->c_out / g->group;
    int64_t in_plane = g->h_in * g->w_in, out_plane = g->h_out * g->w_out;
    int pointwise = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pad_t == 0 &&
                    g->pad_l == 0 && g->h_out == g->h_in && g->w_out == g->w_in;
    for (int64_t n = 0; n < g->n; n++) {
        for (int64_t oc = 0; oc < g->c_out; oc++) {
            int64_t grp = oc / cout_g;
            float *yo = y + (n * g->c_out + oc) * out_plane;
            float b = g->bias ? g->bias[oc] : 0.0f;
            for (int64_t i = 0; i < out_plane; i++)
                yo[i] = b;
            const float *w = g->weight + oc * cin_g * g->kh * g->kw;
            const float *xg = x + (n * g->c_in + grp * cin_g) * in_plane;
            if (pointwise) {
                for (int64_t ic = 0; ic < cin_g; ic++) {
                    const float *xi = xg + ic * in_plane;
                    float wv = w[ic];
                    for (int64_t i = 0; i < out_plane; i++)
                        yo[i] += wv * xi[i];
                }
                activate(g, oc, yo, out_plane);
                continue;
            }
            for (int64_t ic = 0; ic < cin_g; ic++) {
                const float *xi = xg + ic * in_plane;
                for (int64_t ky = 0; ky < g->kh; ky++) {
                    for (int64_t kx = 0; kx < g->kw; kx++) {
                        float wv = w[(ic * g->kh + ky) * g->kw + kx];
                        int64_t off = kx * g->dw - g->pad_l; /* ix = ox * sw + off */
                        int64_t lo = ceil_div(-off, g->sw);
                        int64_t hi = floor_div(g->w_in - 1 - off, g->sw);
                        if (lo < 0)
                            lo = 0;
                        if (hi > g->w_out - 1)
                            hi = g->w_out - 1;
                        if (lo > hi)
                            continue;
                        for (int64_t oy = 0; oy < g->h_out; oy++) {
                            int64_t iy = oy * g->sh - g->pad_t + ky * g->dh;
                            if (iy < 0 || iy >= g->h_in)
                                continue;
                            const float *row = xi + iy * g->w_in + off;
                            float *yrow = yo + oy * g->w_out;
                            if (g->sw == 1) {
                                for (int64_t ox = lo; ox <= hi; ox++)
                                    yrow[ox] += wv * row[ox];
                            } else {
                                for (int64_t ox = lo; ox <= hi; ox++)
                                    yrow[ox] += wv * row[ox * g->sw];
                            }
                        }
                    }
                }
            }
            activate(g, oc, yo, out_plane);
        }
    }
}

fs_status nn_ref_conv(const nn_step *s, fs_error *err)
{
    (void)err;
    nn_conv_geom g;
    nn_conv_geometry(s, &g);
    nn_conv_ref_compute(&g, s->in[0]->data, s->out[0]->data);
    return FS_OK;
}

fs_status nn_ref_gemm(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_params *p = &s->node->p;
    const nn_tensor *a = s->in[0], *b = s->in[1], *c = s->n_in > 2 ? s->in[2] : NULL;
    const float *A = a->data, *B = b->data;
    float *Y = s->out[0]->data;
    int64_t M = s->out[0]->dims[0], N = s->out[0]->dims[1];
    int64_t K = p->trans_a ? a->dims[0] : a->dims[1];
    for (int64_t m = 0; m < M; m++) {
        for (int64_t n = 0; n < N; n++) {
            float cv = 0.0f;
            if (c) {
                const float *C = c->data;
                int64_t cm = c->ndim == 2 && c->dims[0] != 1 ? m : 0;
                int64_t cn = c->ndim >= 1 && c->dims[c->ndim - 1] != 1 ? n : 0;
                int64_t cols = c->ndim >= 1 ? c->dims[c->ndim - 1] : 1;
                cv = p->beta * C[cm * cols + cn];
            }
            Y[m * N + n] = cv;
        }
        float *y = Y + m * N;
        if (p->trans_b) { /* B is [N, K]: dot products over contiguous rows */
            for (int64_t n = 0; n < N; n++) {
                const float *bn = B + n * K;
                float acc = 0.0f;
                for (int64_t k = 0; k < K; k++)
                    acc += (p->trans_a ? A[k * M + m] : A[m * K + k]) * bn[k];
                y[n] += p->alpha * acc;
            }
        } else {
            for (int64_t k = 0; k < K; k++) {
                float av = p->alpha * (p->trans_a ? A[k * M + m] : A[m * K + k]);
                const float *bk = B + k * N;
                for (int64_t n = 0; n < N; n++)
                    y[n] += av * bk[n];
            }
        }
    }
    return FS_OK;
}

fs_status nn_ref_matmul(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *a = s->in[0], *b = s->in[1], *y = s->out[0];
    int64_t K = a->dims[a->ndim - 1];
    int64_t M = a->ndim >= 2 ? a->dims[a->ndim - 2] : 1;
    int64_t N = b->ndim >= 2 ? b->dims[b->ndim - 1] : 1;
    /* batch dims of the output and of each input (right-aligned, broadcast) */
    int ra = a->ndim >= 2 ? a->ndim - 2 : 0, rb = b->ndim >= 2 ? b->ndim - 2 : 0;
    int ry = ra > rb ? ra : rb;
    int64_t batch = 1;
    int64_t bdims[NN_MAX_DIMS], sa[NN_MAX_DIMS], sb[NN_MAX_DIMS];
    int64_t stride_a = M * K, stride_b = K * N;
    for (int i = ry - 1; i >= 0; i--) {
        int ia = i - (ry - ra), ib = i - (ry - rb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        bdims[i] = da > db ? da : db;
        sa[i] = da == 1 ? 0 : stride_a;
        sb[i] = db == 1 ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
        batch *= bdims[i];
    }
    const float *A = a->data, *B = b->data;
    float *Y = y->data;
    for (int64_t bi = 0; bi < batch; bi++) {
        int64_t rem = bi, oa = 0, ob = 0;
        for (int i = ry - 1; i >= 0; i--) {
            int64_t idx = rem % bdims[i];
            rem /= bdims[i];
            oa += idx * sa[i];
            ob += idx * sb[i];
        }
        const float *Ab = A + oa, *Bb = B + ob;
        float *Yb = Y + bi * M * N;
        for (int64_t m = 0; m < M; m++) {
            float *yr = Yb + m * N;
            for (int64_t n = 0; n < N; n++)
                yr[n] = 0.0f;
            for (int64_t k = 0; k < K; k++) {
                float av = Ab[m * K + k];
                const float *br = Bb + k * N;
                for (int64_t n = 0; n < N; n++)
                    yr[n] += av * br[n];
            }
        }
    }
    return FS_OK;
}
