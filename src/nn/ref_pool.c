/*
 * ref_pool.c — reference MaxPool, AveragePool (pads, ceil_mode, count_include_pad, dilations),
 * GlobalAveragePool/GlobalMaxPool, and Resize/Upsample (nearest and bilinear, with the coordinate
 * transformation and rounding modes that common exporters use; semantics as onnxruntime).
 */
#include <float.h>
#include <math.h>

#include "nn/ref_kernels.h"

fs_status nn_ref_pool(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_params *p = &s->node->p;
    const nn_tensor *x = s->in[0], *y = s->out[0];
    int64_t H = x->dims[2], W = x->dims[3], OH = y->dims[2], OW = y->dims[3];
    int64_t pt, pl, pb, pr, o;
    nn_window_axis(H, p->kernel[0], p->strides[0], p->dilations[0], p->auto_pad, p->ceil_mode,
                   p->pads[0], p->pads[2], &pt, &pb, &o);
    nn_window_axis(W, p->kernel[1], p->strides[1], p->dilations[1], p->auto_pad, p->ceil_mode,
                   p->pads[1], p->pads[3], &pl, &pr, &o);
    int is_max = s->node->op == NN_OP_MAXPOOL;
    int64_t planes = x->dims[0] * x->dims[1];
    for (int64_t c = 0; c < planes; c++) {
        const float *xp = (const float *)x->data + c * H * W;
        float *yp = (float *)y->data + c * OH * OW;
        for (int64_t oy = 0; oy < OH; oy++) {
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t y0 = oy * p->strides[0] - pt, x0 = ox * p->strides[1] - pl;
                float acc = is_max ? -FLT_MAX : 0.0f;
                int64_t valid = 0;
                /* only the taps inside the image: a huge kernel over padding costs nothing */
                int64_t ky0, ky1, kx0, kx1;
                nn_window_taps(y0, p->dilations[0], p->kernel[0], H, &ky0, &ky1);
                nn_window_taps(x0, p->dilations[1], p->kernel[1], W, &kx0, &kx1);
                for (int64_t ky = ky0; ky < ky1; ky++) {
                    int64_t iy = y0 + ky * p->dilations[0];
                    for (int64_t kx = kx0; kx < kx1; kx++) {
                        int64_t ix = x0 + kx * p->dilations[1];
                        float v = xp[iy * W + ix];
                        if (is_max)
                            acc = v > acc ? v : acc;
                        else
                            acc += v;
                        valid++;
                    }
                }
                if (!is_max) {
                    int64_t count = valid;
                    if (p->count_include_pad) { /* window clipped to the padded extent */
                        int64_t ye = y0 + p->kernel[0], xe = x0 + p->kernel[1];
                        if (ye > H + pb)
                            ye = H + pb;
                        if (xe > W + pr)
                            xe = W + pr;
                        count = (ye - y0) * (xe - x0);
                    }
                    acc = count > 0 ? acc / (float)count : 0.0f;
                }
                yp[oy * OW + ox] = acc;
            }
        }
    }
    return FS_OK;
}

fs_status nn_ref_global_pool(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0];
    int64_t planes = x->dims[0] * x->dims[1], n = planes ? x->count / planes : 0;
    int is_max = s->node->op == NN_OP_GLOBALMAXPOOL;
    for (int64_t c = 0; c < planes; c++) {
        const float *xp = (const float *)x->data + c * n;
        float acc = is_max ? -FLT_MAX : 0.0f;
        for (int64_t i = 0; i < n; i++)
            acc = is_max ? (xp[i] > acc ? xp[i] : acc) : acc + xp[i];
        ((float *)s->out[0]->data)[c] = is_max ? acc : (n ? acc / (float)n : 0.0f);
    }
    return FS_OK;
}

/* Output coordinate → input coordinate. */
static float source_coord(int mode, int64_t out_i, float scale, int64_t in, int64_t out)
{
    float x = (float)out_i;
    switch (mode) {
    case NN_COORD_HALF_PIXEL: return (x + 0.5f) / scale - 0.5f;
    case NN_COORD_ASYMMETRIC: return x / scale;
    case NN_COORD_ALIGN_CORNERS:
        return out == 1 ? 0.0f : x * (float)(in - 1) / (float)(out - 1);
    case NN_COORD_PYTORCH_HALF_PIXEL: return out > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
    case NN_COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5f) / scale;
    default: return x / scale;
    }
}

static int64_t nearest_index(int mode, float x, float scale, int64_t in)
{
    double i;
    switch (mode) {
    case NN_NEAREST_ROUND_PREFER_FLOOR:
        i = (x == floorf(x) + 0.5f) ? floorf(x) : roundf(x);
        break;
    case NN_NEAREST_ROUND_PREFER_CEIL:
        i = (x == floorf(x) + 0.5f) ? ceilf(x) : roundf(x);
        break;
    case NN_NEAREST_FLOOR: i = floorf(x); break;
    case NN_NEAREST_CEIL: i = ceilf(x); break;
    default: i = scale < 1.0f ? ceilf(x) : truncf(x); break; /* legacy */
    }
    if (!(i >= 0.0))
        return 0;
    if (i > (double)(in - 1))
        return in - 1;
    return (int64_t)i;
}

/* Linear interpolation taps along one axis, as onnxruntime: clamp, then two neighbours. */
static void linear_taps(float x, int64_t in, int64_t *i0, int64_t *i1, float *w0, float *w1)
{
    if (x < 0.0f)
        x = 0.0f;
    if (x > (float)(in - 1))
        x = (float)(in - 1);
    int64_t a = (int64_t)x;
    if (a > in - 1)
        a = in - 1;
    int64_t b = a + 1 < in ? a + 1 : in - 1;
    if (a == b) {
        *w0 = *w1 = 0.5f;
    } else {
        *w0 = fabsf((float)b - x); /* weight of a */
        *w1 = fabsf(x - (float)a); /* weight of b */
    }
    *i0 = a;
    *i1 = b;
}

fs_status nn_ref_resize(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_params *p = &s->node->p;
    const nn_tensor *x = s->in[0], *y = s->out[0];
    nn_resize_spec spec;
    nn_resize_resolve(s->node, s->in, s->n_in, &spec);
    int64_t H = x->dims[2], W = x->dims[3], OH = y->dims[2], OW = y->dims[3];
    int64_t planes = x->dims[0] * x->dims[1];
    for (int64_t c = 0; c < planes; c++) {
        const float *xp = (const float *)x->data + c * H * W;
        float *yp = (float *)y->data + c * OH * OW;
        for (int64_t oy = 0; oy < OH; oy++) {
            float sy = source_coord(p->coord_mode, oy, spec.scale[2], H, OH);
            if (p->resize_mode == NN_RESIZE_NEAREST) {
                const float *row = xp + nearest_index(p->nearest_mode, sy, spec.scale[2], H) * W;
                for (int64_t ox = 0; ox < OW; ox++) {
                    float sx = source_coord(p->coord_mode, ox, spec.scale[3], W, OW);
                    yp[oy * OW + ox] = row[nearest_index(p->nearest_mode, sx, spec.scale[3], W)];
                }
            } else {
                int64_t y0, y1;
                float wy0, wy1;
                linear_taps(sy, H, &y0, &y1, &wy0, &wy1);
                for (int64_t ox = 0; ox < OW; ox++) {
                    float sx = source_coord(p->coord_mode, ox, spec.scale[3], W, OW);
                    int64_t x0, x1;
                    float wx0, wx1;
                    linear_taps(sx, W, &x0, &x1, &wx0, &wx1);
                    yp[oy * OW + ox] = wx0 * wy0 * xp[y0 * W + x0] + wx1 * wy0 * xp[y0 * W + x1] +
                                       wx0 * wy1 * xp[y1 * W + x0] + wx1 * wy1 * xp[y1 * W + x1];
                }
            }
        }
    }
    return FS_OK;
}
