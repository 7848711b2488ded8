/*
 * ref_elementwise.c — reference activations (Relu, Sigmoid, Exp, Clip), numpy-broadcasting
 * arithmetic (Add, Sub, Mul, Div on float32 and int64; PRelu), the per-channel ScaleShift that a
 * lone BatchNormalization becomes, Softmax (both opset semantics) and Cast.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "nn/ref_kernels.h"
#include "util/error.h"

fs_status nn_ref_unary(const nn_step *s, fs_error *err)
{
    (void)err;
    const float *x = s->in[0]->data;
    float *y = s->out[0]->data;
    int64_t n = s->out[0]->count;
    switch (s->node->op) {
    case NN_OP_RELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case NN_OP_SIGMOID:
        for (int64_t i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case NN_OP_EXP:
        for (int64_t i = 0; i < n; i++)
            y[i] = expf(x[i]);
        break;
    default:
        return util_fail(err, FS_ERR_INTERNAL, "unary kernel called for %s", s->node->op_type);
    }
    return FS_OK;
}

fs_status nn_ref_clip(const nn_step *s, fs_error *err)
{
    (void)err;
    float lo = s->node->p.clip_min, hi = s->node->p.clip_max;
    if (s->n_in > 1 && s->in[1])
        lo = *(const float *)s->in[1]->data;
    if (s->n_in > 2 && s->in[2])
        hi = *(const float *)s->in[2]->data;
    const float *x = s->in[0]->data;
    float *y = s->out[0]->data;
    for (int64_t i = 0; i < s->out[0]->count; i++)
        y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
    return FS_OK;
}

/* Strides of t's elements along the output's dims (0 where t is broadcast). */
static void broadcast_strides(const nn_tensor *t, const nn_tensor *y, int64_t *st)
{
    int64_t stride = 1;
    for (int i = y->ndim - 1; i >= 0; i--) {
        int it = i - (y->ndim - t->ndim);
        int64_t d = it >= 0 ? t->dims[it] : 1;
        st[i] = d == 1 ? 0 : stride;
        stride *= d;
    }
}

typedef enum { B_ADD, B_SUB, B_MUL, B_DIV, B_PRELU } binop;

static void f32_row(binop op, const float *a, int64_t sa, const float *b, int64_t sb, float *y,
                    int64_t n)
{
    switch (op) {
    case B_ADD: for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] + b[i * sb]; break;
    case B_SUB: for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] - b[i * sb]; break;
    case B_MUL: for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] * b[i * sb]; break;
    case B_DIV: for (int64_t i = 0; i < n; i++) y[i] = a[i * sa] / b[i * sb]; break;
    case B_PRELU:
        for (int64_t i = 0; i < n; i++) {
            float v = a[i * sa];
            y[i] = v < 0.0f ? v * b[i * sb] : v;
        }
        break;
    }
}

/* int64 arithmetic wraps (computed unsigned) instead of overflowing; division checks. */
static int i64_row(binop op, const int64_t *a, int64_t sa, const int64_t *b, int64_t sb,
                   int64_t *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t x = (uint64_t)a[i * sa], z = (uint64_t)b[i * sb];
        switch (op) {
        case B_ADD: y[i] = (int64_t)(x + z); break;
        case B_SUB: y[i] = (int64_t)(x - z); break;
        case B_MUL: y[i] = (int64_t)(x * z); break;
        case B_DIV: {
            int64_t p = (int64_t)x, q = (int64_t)z;
            if (q == 0 || (p == INT64_MIN && q == -1))
                return -1;
            /* ONNX integer Div truncates toward zero like C */
            y[i] = p / q;
            break;
        }
        case B_PRELU: y[i] = (int64_t)x; break;
        }
    }
    return 0;
}

fs_status nn_ref_binary(const nn_step *s, fs_error *err)
{
    const nn_tensor *a = s->in[0], *b = s->in[1], *y = s->out[0];
    binop op;
    switch (s->node->op) {
    case NN_OP_ADD: op = B_ADD; break;
    case NN_OP_SUB: op = B_SUB; break;
    case NN_OP_MUL: op = B_MUL; break;
    case NN_OP_DIV: op = B_DIV; break;
    case NN_OP_PRELU: op = B_PRELU; break;
    default:
        return util_fail(err, FS_ERR_INTERNAL, "binary kernel called for %s", s->node->op_type);
    }
    if (y->count == 0)
        return FS_OK;
    int64_t sa[NN_MAX_DIMS], sb[NN_MAX_DIMS];
    broadcast_strides(a, y, sa);
    broadcast_strides(b, y, sb);
    /* rows along the last output dim, strided per input (0 where broadcast) */
    int r = y->ndim;
    int64_t inner = r ? y->dims[r - 1] : 1;
    int64_t isa = r ? sa[r - 1] : 0, isb = r ? sb[r - 1] : 0;
    /* fast paths (one flat row): same shapes, or one side a single value */
    if (a->count == y->count && b->count == y->count) {
        inner = y->count;
        isa = isb = 1;
        r = 1;
    } else if (a->count == y->count && b->count == 1) {
        inner = y->count;
        isa = 1;
        isb = 0;
        r = 1;
    } else if (b->count == y->count && a->count == 1) {
        inner = y->count;
        isa = 0;
        isb = 1;
        r = 1;
    }
    int64_t outer = inner ? y->count / inner : 0;
    for (int64_t o = 0; o < outer; o++) {
        int64_t rem = o, oa = 0, ob = 0;
        for (int i = r - 2; i >= 0; i--) {
            int64_t idx = rem % y->dims[i];
            rem /= y->dims[i];
            oa += idx * sa[i];
            ob += idx * sb[i];
        }
        if (y->dtype == NN_F32) {
            f32_row(op, (const float *)a->data + oa, isa, (const float *)b->data + ob, isb,
                    (float *)y->data + o * inner, inner);
        } else if (i64_row(op, (const int64_t *)a->data + oa, isa,
                           (const int64_t *)b->data + ob, isb, (int64_t *)y->data + o * inner,
                           inner) != 0) {
            return util_fail(err, FS_ERR_FORMAT, "%s: node '%s' (%s): integer division by zero",
                             s->model, s->node->label, s->node->op_type);
        }
    }
    return FS_OK;
}

fs_status nn_ref_scale_shift(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0];
    const float *scale = s->in[1]->data, *shift = s->in[2]->data, *xd = x->data;
    float *y = s->out[0]->data;
    int64_t c = x->dims[1], inner = 1;
    for (int i = 2; i < x->ndim; i++)
        inner *= x->dims[i];
    for (int64_t n = 0; n < x->dims[0]; n++)
        for (int64_t k = 0; k < c; k++) {
            const float *xi = xd + (n * c + k) * inner;
            float *yi = y + (n * c + k) * inner;
            for (int64_t i = 0; i < inner; i++)
                yi[i] = xi[i] * scale[k] + shift[k];
        }
    return FS_OK;
}

fs_status nn_ref_softmax(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0];
    int axis = nn_axis(s->node->p.axis, x->ndim, 0);
    int64_t outer = 1, len = 1, inner = 1;
    for (int i = 0; i < x->ndim; i++) {
        if (i < axis)
            outer *= x->dims[i];
        else if (i == axis || s->node->p.softmax_legacy)
            len *= x->dims[i];
        else
            inner *= x->dims[i];
    }
    const float *xd = x->data;
    float *y = s->out[0]->data;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t in = 0; in < inner; in++) {
            const float *xv = xd + o * len * inner + in;
            float *yv = y + o * len * inner + in;
            float mx = -INFINITY;
            for (int64_t i = 0; i < len; i++)
                mx = xv[i * inner] > mx ? xv[i * inner] : mx;
            float sum = 0.0f;
            for (int64_t i = 0; i < len; i++) {
                yv[i * inner] = expf(xv[i * inner] - mx);
                sum += yv[i * inner];
            }
            for (int64_t i = 0; i < len; i++)
                yv[i * inner] /= sum;
        }
    }
    return FS_OK;
}

fs_status nn_ref_cast(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0], *y = s->out[0];
    int64_t n = y->count;
    if (x->dtype == y->dtype) {
        if (n && x->data != y->data)
            memcpy(y->data, x->data, (size_t)n * nn_dtype_size(y->dtype));
    } else if (y->dtype == NN_F32) {
        for (int64_t i = 0; i < n; i++)
            ((float *)y->data)[i] = (float)((const int64_t *)x->data)[i];
    } else {
        for (int64_t i = 0; i < n; i++) {
            float v = ((const float *)x->data)[i];
            int64_t q = v != v ? 0 : v >= 9.2e18f ? INT64_MAX : v <= -9.2e18f ? INT64_MIN
                                                                            : (int64_t)v;
            ((int64_t *)y->data)[i] = q;
        }
    }
    return FS_OK;
}
