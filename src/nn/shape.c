/*
 * shape.c — shape inference per op for a concrete input shape, plus the geometry helpers the
 * kernels share (windows, Slice, Resize). Every check that a kernel relies on for memory safety
 * happens here, at plan time: after nn_infer succeeds, the kernel's index arithmetic stays in
 * bounds.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nn/kernel.h"
#include "util/error.h"

/* Fails with "MODEL: node 'X' (Op): what". */
#define FAIL(rc, ...) fail_at(err, model, n, rc, __VA_ARGS__)

__attribute__((format(printf, 5, 6)))
static fs_status fail_at(fs_error *err, const char *model, const nn_node *n, fs_status rc,
                         const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return util_fail(err, rc, "%s: node '%s' (%s): %s", model, n->label, n->op_type, what);
}

static void shape_text(const nn_tensor *t, char *buf, size_t size)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, size - o, "[");
    for (int i = 0; i < t->ndim && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, i ? ",%lld" : "%lld", (long long)t->dims[i]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
}

int nn_axis(int64_t axis, int rank, int allow_end)
{
    int64_t r = rank + (allow_end ? 1 : 0);
    if (axis < -r || axis >= r)
        return -1;
    return (int)(axis < 0 ? axis + r : axis);
}

static int set_shape(nn_tensor *t, nn_dtype dtype, int ndim, const int64_t *dims)
{
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->dims[i] = dims[i];
    return nn_dims_count(t->dims, ndim, &t->count);
}

int nn_window_axis(int64_t in, int64_t k, int64_t s, int64_t d, int auto_pad, int ceil_mode,
                   int64_t pad_begin, int64_t pad_end, int64_t *pb, int64_t *pe, int64_t *out)
{
    int64_t ek = (k - 1) * d + 1;
    if (auto_pad == NN_PAD_SAME_UPPER || auto_pad == NN_PAD_SAME_LOWER) {
        int64_t o = (in + s - 1) / s;
        int64_t total = (o - 1) * s + ek - in;
        if (total < 0)
            total = 0;
        if (auto_pad == NN_PAD_SAME_UPPER) {
            *pb = total / 2;
            *pe = total - *pb;
        } else {
            *pe = total / 2;
            *pb = total - *pe;
        }
        *out = o;
        return o >= 1 ? 0 : -1;
    }
    if (auto_pad == NN_PAD_VALID)
        pad_begin = pad_end = 0;
    *pb = pad_begin;
    *pe = pad_end;
    int64_t span = in + pad_begin + pad_end - ek;
    if (span < 0)
        return -1;
    int64_t o = span / s + 1;
    if (ceil_mode && auto_pad == NN_PAD_NOTSET) {
        o = (span + s - 1) / s + 1;
        if ((o - 1) * s >= in + pad_begin) /* the last window must start inside the input */
            o--;
    }
    *out = o;
    return o >= 1 ? 0 : -1;
}

void nn_window_taps(int64_t start, int64_t d, int64_t kernel, int64_t size, int64_t *k0,
                    int64_t *k1)
{
    *k0 = start >= 0 ? 0 : (-start + d - 1) / d;
    *k1 = start >= size ? 0 : (size - 1 - start) / d + 1;
    if (*k1 > kernel)
        *k1 = kernel;
    if (*k0 > *k1)
        *k0 = *k1;
}

void nn_conv_geometry(const nn_step *s, nn_conv_geom *g)
{
    const nn_node *n = s->node;
    const nn_tensor *x = s->in[0], *w = s->in[1], *y = s->dw_mid ? s->dw_mid : s->out[0];
    memset(g, 0, sizeof *g);
    g->n = x->dims[0];
    g->c_in = x->dims[1];
    g->h_in = x->dims[2];
    g->w_in = x->dims[3];
    g->c_out = y->dims[1];
    g->h_out = y->dims[2];
    g->w_out = y->dims[3];
    g->kh = w->dims[2];
    g->kw = w->dims[3];
    g->sh = n->p.strides[0];
    g->sw = n->p.strides[1];
    g->dh = n->p.dilations[0];
    g->dw = n->p.dilations[1];
    int64_t o;
    nn_window_axis(g->h_in, g->kh, g->sh, g->dh, n->p.auto_pad, 0, n->p.pads[0], n->p.pads[2],
                   &g->pad_t, &g->pad_b, &o);
    nn_window_axis(g->w_in, g->kw, g->sw, g->dw, n->p.auto_pad, 0, n->p.pads[1], n->p.pads[3],
                   &g->pad_l, &g->pad_r, &o);
    g->group = n->p.group;
    g->weight = w->data;
    g->bias = s->n_in > 2 && s->in[2] ? s->in[2]->data : NULL;
    g->act = n->p.act;
    g->act_min = n->p.act_min;
    g->act_max = n->p.act_max;
    if (g->act == NN_ACT_PRELU && s->n_in > 3 && s->in[3]) {
        g->slope = s->in[3]->data;
        g->slope_count = s->in[3]->count;
    }
}

/* numpy broadcasting of a and b into out dims; -1 if incompatible. */
static int broadcast(const nn_tensor *a, const nn_tensor *b, int *ndim, int64_t *dims)
{
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return -1;
        dims[i] = da == 1 ? db : da;
    }
    *ndim = r;
    return 0;
}

/* Constant int64 data of input i, or NULL. */
static const int64_t *const_ints(nn_tensor *const *in, int n_in, int i, int64_t *count)
{
    if (i >= n_in || !in[i] || !in[i]->data || in[i]->dtype != NN_I64) {
        *count = 0;
        return NULL;
    }
    *count = in[i]->count;
    return in[i]->data;
}

int nn_slice_resolve(const nn_node *n, nn_tensor *const *in, int n_in, nn_slice_spec *spec)
{
    const nn_tensor *x = in[0];
    int64_t starts[NN_MAX_DIMS], ends[NN_MAX_DIMS], axes[NN_MAX_DIMS], steps[NN_MAX_DIMS];
    int64_t count = 0;
    for (int i = 0; i < x->ndim; i++) {
        spec->start[i] = 0;
        spec->step[i] = 1;
        spec->dims[i] = x->dims[i];
    }
    if (n->p.has_ints) { /* opset < 10 */
        count = n->p.n_ints;
        for (int i = 0; i < count; i++) {
            starts[i] = n->p.ints[i];
            ends[i] = n->p.ends[i];
            axes[i] = n->p.has_axes ? n->p.axes[i] : i;
            steps[i] = 1;
        }
    } else {
        int64_t cs, ce, ca, cst;
        const int64_t *s = const_ints(in, n_in, 1, &cs), *e = const_ints(in, n_in, 2, &ce);
        const int64_t *a = const_ints(in, n_in, 3, &ca), *st = const_ints(in, n_in, 4, &cst);
        if (!s || !e || cs != ce || cs > NN_MAX_DIMS || in[1]->ndim != 1 || in[2]->ndim != 1)
            return -1;
        if ((n_in > 3 && in[3] && (!a || ca != cs)) || (n_in > 4 && in[4] && (!st || cst != cs)))
            return -1;
        count = cs;
        for (int i = 0; i < count; i++) {
            starts[i] = s[i];
            ends[i] = e[i];
            axes[i] = a ? a[i] : i;
            steps[i] = st ? st[i] : 1;
        }
    }
    int seen = 0;
    for (int i = 0; i < count; i++) {
        int ax = nn_axis(axes[i], x->ndim, 0);
        if (ax < 0 || (seen & (1 << ax)) || steps[i] == 0)
            return -1;
        seen |= 1 << ax;
        int64_t dim = x->dims[ax], b = starts[i], e = ends[i], step = steps[i];
        if (step < -NN_MAX_DIM || step > NN_MAX_DIM)
            return -1;
        if (b < 0)
            b = b < -dim ? 0 : b + dim;
        if (e < 0)
            e = e < -dim ? -1 : e + dim;
        int64_t len;
        if (step > 0) {
            if (b > dim)
                b = dim;
            if (e < 0)
                e = 0;
            if (e > dim)
                e = dim;
            len = e > b ? (e - b + step - 1) / step : 0;
        } else {
            if (b > dim - 1)
                b = dim - 1;
            if (e > dim - 1)
                e = dim - 1;
            len = b > e ? (b - e + (-step) - 1) / (-step) : 0;
        }
        spec->start[ax] = len ? b : 0;
        spec->step[ax] = step;
        spec->dims[ax] = len;
    }
    return 0;
}

int nn_resize_resolve(const nn_node *n, nn_tensor *const *in, int n_in, nn_resize_spec *spec)
{
    const nn_tensor *x = in[0];
    int r = x->ndim;
    const nn_tensor *scales = NULL, *sizes = NULL;
    if (n->p.resize_inputs == 0) {
        if (n->p.n_scales != r)
            return -1;
        for (int i = 0; i < r; i++)
            spec->scale[i] = n->p.scales[i];
    } else {
        int si = n->p.resize_inputs == 1 ? 1 : 2;
        if (si < n_in && in[si] && in[si]->count > 0)
            scales = in[si];
        if (n->p.resize_inputs == 2 && 3 < n_in && in[3] && in[3]->count > 0)
            sizes = in[3];
        if ((scales == NULL) == (sizes == NULL))
            return -1;
        if (scales) {
            if (!scales->data || scales->dtype != NN_F32 || scales->count != r)
                return -1;
            for (int i = 0; i < r; i++)
                spec->scale[i] = ((const float *)scales->data)[i];
        } else {
            if (!sizes->data || sizes->dtype != NN_I64 || sizes->count != r)
                return -1;
        }
    }
    for (int i = 0; i < r; i++) {
        if (sizes) {
            int64_t o = ((const int64_t *)sizes->data)[i];
            if (o < 1 || o > NN_MAX_DIM || x->dims[i] < 1)
                return -1;
            spec->dims[i] = o;
            spec->scale[i] = (float)o / (float)x->dims[i];
        } else {
            float s = spec->scale[i];
            if (!(s > 0.0f) || !(s < 65536.0f))
                return -1;
            double o = floor((double)x->dims[i] * s);
            if (o < 1 || o > (double)NN_MAX_DIM)
                return -1;
            spec->dims[i] = (int64_t)o;
        }
    }
    return 0;
}

static fs_status infer_conv(const char *model, const nn_node *n, nn_tensor *const *in,
                            nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0], *w = in[1];
    char xs[96], ws[96];
    shape_text(x, xs, sizeof xs);
    shape_text(w, ws, sizeof ws);
    if (x->dtype != NN_F32 || x->ndim != 4)
        return FAIL(FS_ERR_UNSUPPORTED, "input %s is not a 4-D float tensor", xs);
    if (w->dtype != NN_F32 || w->ndim != 4)
        return FAIL(FS_ERR_FORMAT, "weight %s is not a 4-D float tensor", ws);
    if (!w->data)
        return FAIL(FS_ERR_UNSUPPORTED, "weight is not constant");
    int64_t group = n->p.group;
    if (w->dims[1] * group != x->dims[1])
        return FAIL(FS_ERR_FORMAT, "weight %s expects %lld input channels (%lld per group x "
                    "%lld groups) but the input %s has %lld", ws,
                    (long long)(w->dims[1] * group), (long long)w->dims[1], (long long)group, xs,
                    (long long)x->dims[1]);
    if (w->dims[0] % group != 0 || w->dims[0] < 1)
        return FAIL(FS_ERR_FORMAT, "weight %s: %lld output channels do not split into %lld "
                    "groups", ws, (long long)w->dims[0], (long long)group);
    if (n->p.has_kernel && (n->p.kernel[0] != w->dims[2] || n->p.kernel[1] != w->dims[3]))
        return FAIL(FS_ERR_FORMAT, "kernel_shape %lldx%lld does not match weight %s",
                    (long long)n->p.kernel[0], (long long)n->p.kernel[1], ws);
    if (w->dims[2] < 1 || w->dims[3] < 1 || w->dims[2] > 65536 || w->dims[3] > 65536)
        return FAIL(FS_ERR_FORMAT, "weight %s has an empty or huge kernel", ws);
    if (n->n_in > 2 && in[2]) {
        if (in[2]->dtype != NN_F32 || in[2]->count != w->dims[0] || !in[2]->data)
            return FAIL(FS_ERR_FORMAT, "bias is not a constant float tensor of %lld values",
                        (long long)w->dims[0]);
    }
    if (n->p.act == NN_ACT_PRELU && (n->n_in < 4 || !in[3] || !in[3]->data ||
                                     (in[3]->count != 1 && in[3]->count != w->dims[0])))
        return FAIL(FS_ERR_FORMAT, "PRelu slope does not match the output channels");
    int64_t dims[4] = {x->dims[0], w->dims[0], 0, 0}, pb, pe;
    for (int a = 0; a < 2; a++)
        if (nn_window_axis(x->dims[2 + a], w->dims[2 + a], n->p.strides[a], n->p.dilations[a],
                           n->p.auto_pad, 0, n->p.pads[a], n->p.pads[a + 2], &pb, &pe,
                           &dims[2 + a]) != 0)
            return FAIL(FS_ERR_FORMAT, "the %lldx%lld kernel does not fit the input %s",
                        (long long)w->dims[2], (long long)w->dims[3], xs);
    if (set_shape(out[0], NN_F32, 4, dims) != 0)
        return FAIL(FS_ERR_LIMIT, "output is too large");
    return FS_OK;
}

static fs_status infer_pool(const char *model, const nn_node *n, nn_tensor *const *in,
                            nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    char xs[96];
    shape_text(x, xs, sizeof xs);
    if (x->dtype != NN_F32 || x->ndim != 4)
        return FAIL(FS_ERR_UNSUPPORTED, "input %s is not a 4-D float tensor", xs);
    int64_t dims[4] = {x->dims[0], x->dims[1], 0, 0}, pb, pe;
    for (int a = 0; a < 2; a++) {
        if (n->p.pads[a] >= n->p.kernel[a] || n->p.pads[a + 2] >= n->p.kernel[a])
            return FAIL(FS_ERR_FORMAT, "pads must be smaller than the kernel");
        if (nn_window_axis(x->dims[2 + a], n->p.kernel[a], n->p.strides[a], n->p.dilations[a],
                           n->p.auto_pad, n->p.ceil_mode, n->p.pads[a], n->p.pads[a + 2], &pb,
                           &pe, &dims[2 + a]) != 0)
            return FAIL(FS_ERR_FORMAT, "the %lldx%lld window does not fit the input %s",
                        (long long)n->p.kernel[0], (long long)n->p.kernel[1], xs);
    }
    if (set_shape(out[0], NN_F32, 4, dims) != 0)
        return FAIL(FS_ERR_LIMIT, "output is too large");
    return FS_OK;
}

static fs_status infer_reshape(const char *model, const nn_node *n, nn_tensor *const *in,
                               nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    int64_t shape[NN_MAX_DIMS], count;
    const int64_t *s;
    if (n->p.has_ints) {
        s = n->p.ints;
        count = n->p.n_ints;
    } else {
        s = const_ints(in, n->n_in, 1, &count);
        if (!s)
            return FAIL(FS_ERR_UNSUPPORTED, "the target shape is not known at plan time");
        if (in[1]->ndim != 1)
            return FAIL(FS_ERR_FORMAT, "the target shape is not 1-D");
    }
    if (count > NN_MAX_DIMS)
        return FAIL(FS_ERR_UNSUPPORTED, "the target shape has %lld dimensions", (long long)count);
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < count; i++) {
        int64_t d = s[i];
        if (d == 0 && !n->p.allowzero) {
            if (i >= x->ndim)
                return FAIL(FS_ERR_FORMAT, "shape entry %d is 0 but the input has %d dims", i,
                            x->ndim);
            d = x->dims[i];
        }
        if (d == -1) {
            if (infer >= 0)
                return FAIL(FS_ERR_FORMAT, "the target shape has more than one -1");
            infer = i;
            d = 1;
        } else if (d < 0 || d > NN_MAX_DIM) {
            return FAIL(FS_ERR_FORMAT, "the target shape has an invalid entry %lld",
                        (long long)d);
        }
        shape[i] = d;
        if (infer != i) {
            if (d && known > NN_MAX_ELEMENTS / d)
                return FAIL(FS_ERR_LIMIT, "the target shape is too large");
            known *= d;
        }
    }
    if (infer >= 0) {
        if (known == 0 || x->count % known != 0)
            return FAIL(FS_ERR_FORMAT, "cannot reshape %lld elements with -1",
                        (long long)x->count);
        shape[infer] = x->count / known;
    }
    if (set_shape(out[0], x->dtype, (int)count, shape) != 0 || out[0]->count != x->count) {
        char xs[96];
        shape_text(x, xs, sizeof xs);
        return FAIL(FS_ERR_FORMAT, "cannot reshape %s (%lld elements) to the target shape", xs,
                    (long long)x->count);
    }
    return FS_OK;
}

static fs_status infer_squeeze(const char *model, const nn_node *n, nn_tensor *const *in,
                               nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    int64_t axes_buf[NN_MAX_DIMS], count;
    const int64_t *axes;
    int has_axes;
    if (n->p.has_ints) {
        axes = n->p.ints;
        count = n->p.n_ints;
        has_axes = n->p.has_ints;
    } else if (n->n_in > 1 && in[1]) {
        axes = const_ints(in, n->n_in, 1, &count);
        if (!axes)
            return FAIL(FS_ERR_UNSUPPORTED, "axes are not known at plan time");
        has_axes = 1;
    } else {
        axes = axes_buf;
        count = 0;
        has_axes = 0;
        if (n->op == NN_OP_UNSQUEEZE)
            return FAIL(FS_ERR_FORMAT, "axes are missing");
    }
    if (count > NN_MAX_DIMS)
        return FAIL(FS_ERR_FORMAT, "too many axes");
    int64_t dims[NN_MAX_DIMS];
    int r = 0;
    if (n->op == NN_OP_UNSQUEEZE) {
        int rank = x->ndim + (int)count;
        if (rank > NN_MAX_DIMS)
            return FAIL(FS_ERR_UNSUPPORTED, "result has more than %d dims", NN_MAX_DIMS);
        int mark[NN_MAX_DIMS] = {0};
        for (int i = 0; i < count; i++) {
            int a = nn_axis(axes[i], rank, 0);
            if (a < 0 || mark[a])
                return FAIL(FS_ERR_FORMAT, "invalid or repeated axis %lld", (long long)axes[i]);
            mark[a] = 1;
        }
        int k = 0;
        for (int i = 0; i < rank; i++)
            dims[i] = mark[i] ? 1 : x->dims[k++];
        r = rank;
    } else {
        int mark[NN_MAX_DIMS] = {0};
        for (int i = 0; i < count && has_axes; i++) {
            int a = nn_axis(axes[i], x->ndim, 0);
            if (a < 0 || x->dims[a] != 1)
                return FAIL(FS_ERR_FORMAT, "axis %lld is not a dimension of size 1",
                            (long long)axes[i]);
            mark[a] = 1;
        }
        for (int i = 0; i < x->ndim; i++)
            if (!(has_axes ? mark[i] : x->dims[i] == 1))
                dims[r++] = x->dims[i];
    }
    set_shape(out[0], x->dtype, r, dims);
    return FS_OK;
}

static fs_status infer_matmul(const char *model, const nn_node *n, nn_tensor *const *in,
                              nn_tensor **out, fs_error *err)
{
    nn_tensor a = *in[0], b = *in[1];
    char as[96], bs[96];
    shape_text(&a, as, sizeof as);
    shape_text(&b, bs, sizeof bs);
    if (a.dtype != NN_F32 || b.dtype != NN_F32 || a.ndim < 1 || b.ndim < 1)
        return FAIL(FS_ERR_FORMAT, "inputs %s and %s are not float tensors of rank >= 1", as, bs);
    int a1 = a.ndim == 1, b1 = b.ndim == 1;
    if (a1) { /* [K] → [1, K] */
        a.dims[1] = a.dims[0];
        a.dims[0] = 1;
        a.ndim = 2;
    }
    if (b1) { /* [K] → [K, 1] */
        b.dims[1] = 1;
        b.ndim = 2;
    }
    if (a.dims[a.ndim - 1] != b.dims[b.ndim - 2])
        return FAIL(FS_ERR_FORMAT, "cannot multiply %s by %s", as, bs);
    nn_tensor ba = a, bb = b;
    ba.ndim -= 2;
    bb.ndim -= 2;
    int64_t dims[NN_MAX_DIMS];
    int r;
    if (broadcast(&ba, &bb, &r, dims) != 0 || r + 2 > NN_MAX_DIMS)
        return FAIL(FS_ERR_FORMAT, "batch dims of %s and %s do not broadcast", as, bs);
    int k = r;
    if (!a1)
        dims[k++] = a.dims[a.ndim - 2];
    if (!b1)
        dims[k++] = b.dims[b.ndim - 1];
    if (set_shape(out[0], NN_F32, k, dims) != 0)
        return FAIL(FS_ERR_LIMIT, "output is too large");
    return FS_OK;
}

/* Relu, Sigmoid, Exp, Softmax, Clip: a float tensor in, the same shape out. */
static fs_status infer_activation(const char *model, const nn_node *n, nn_tensor *const *in,
                                  nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    char xs[96];
    shape_text(x, xs, sizeof xs);
    if (x->dtype != NN_F32)
        return FAIL(FS_ERR_UNSUPPORTED, "input is not float");
    if (n->op == NN_OP_SOFTMAX && nn_axis(n->p.axis, x->ndim, 0) < 0)
        return FAIL(FS_ERR_FORMAT, "axis %lld is out of range for %s", (long long)n->p.axis, xs);
    if (n->op == NN_OP_CLIP)
        for (int j = 1; j < n->n_in && j < 3; j++)
            if (in[j] && (in[j]->dtype != NN_F32 || in[j]->count != 1))
                return FAIL(FS_ERR_FORMAT, "min/max must be float scalars");
    set_shape(out[0], NN_F32, x->ndim, x->dims);
    return FS_OK;
}

/* Identity and Cast: the input's shape, Cast's element type. */
static fs_status infer_copy(const nn_node *n, nn_tensor *const *in, nn_tensor **out)
{
    const nn_tensor *x = in[0];
    set_shape(out[0], n->op == NN_OP_CAST ? n->p.cast_to : x->dtype, x->ndim, x->dims);
    return FS_OK;
}

/* PRelu, ScaleShift: per-channel (or broadcast) parameters, the input's shape out. */
static fs_status infer_channel_params(const char *model, const nn_node *n, nn_tensor *const *in,
                                      nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    char xs[96];
    shape_text(x, xs, sizeof xs);
    if (n->op == NN_OP_PRELU) {
        int64_t dims[NN_MAX_DIMS];
        int r;
        if (x->dtype != NN_F32 || in[1]->dtype != NN_F32 ||
            broadcast(x, in[1], &r, dims) != 0 || r != x->ndim ||
            memcmp(dims, x->dims, (size_t)r * sizeof dims[0]))
            return FAIL(FS_ERR_FORMAT, "slope does not broadcast to the input %s", xs);
    } else if (x->dtype != NN_F32 || x->ndim < 2 || x->dims[1] != in[1]->count) {
        return FAIL(FS_ERR_FORMAT, "input %s does not have %lld channels", xs,
                    (long long)in[1]->count);
    }
    set_shape(out[0], NN_F32, x->ndim, x->dims);
    return FS_OK;
}

/* Add, Sub, Mul, Div: numpy broadcasting of two tensors of one element type. */
static fs_status infer_elementwise(const char *model, const nn_node *n, nn_tensor *const *in,
                                   nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    char xs[96], bs[96];
    shape_text(x, xs, sizeof xs);
    shape_text(in[1], bs, sizeof bs);
    int64_t dims[NN_MAX_DIMS];
    int r;
    if (x->dtype != in[1]->dtype)
        return FAIL(FS_ERR_FORMAT, "inputs have different element types");
    if (broadcast(x, in[1], &r, dims) != 0)
        return FAIL(FS_ERR_FORMAT, "shapes %s and %s do not broadcast", xs, bs);
    if (set_shape(out[0], x->dtype, r, dims) != 0)
        return FAIL(FS_ERR_LIMIT, "output is too large");
    return FS_OK;
}

static fs_status infer_concat(const char *model, const nn_node *n, nn_tensor *const *in,
                              nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    char xs[96];
    shape_text(x, xs, sizeof xs);
    int64_t dims[NN_MAX_DIMS];
    int axis = nn_axis(n->p.axis, x->ndim, 0);
    if (axis < 0)
        return FAIL(FS_ERR_FORMAT, "axis %lld is out of range for %s", (long long)n->p.axis, xs);
    memcpy(dims, x->dims, sizeof dims);
    for (int j = 1; j < n->n_in; j++) {
        const nn_tensor *t = in[j];
        if (!t)
            return FAIL(FS_ERR_FORMAT, "input #%d is missing", j);
        char ts[96];
        shape_text(t, ts, sizeof ts);
        if (t->dtype != x->dtype || t->ndim != x->ndim)
            return FAIL(FS_ERR_FORMAT, "input %s does not match %s", ts, xs);
        for (int i = 0; i < x->ndim; i++)
            if (i != axis && t->dims[i] != x->dims[i])
                return FAIL(FS_ERR_FORMAT, "input %s does not match %s outside axis %d", ts, xs,
                            axis);
        dims[axis] += t->dims[axis];
        if (dims[axis] > NN_MAX_DIM)
            return FAIL(FS_ERR_LIMIT, "output is too large");
    }
    if (set_shape(out[0], x->dtype, x->ndim, dims) != 0)
        return FAIL(FS_ERR_LIMIT, "output is too large");
    return FS_OK;
}

static fs_status infer_flatten(const char *model, const nn_node *n, nn_tensor *const *in,
                               nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    char xs[96];
    shape_text(x, xs, sizeof xs);
    int64_t dims[2] = {1, 1};
    int axis = nn_axis(n->p.axis, x->ndim, 1);
    if (axis < 0)
        return FAIL(FS_ERR_FORMAT, "axis %lld is out of range for %s", (long long)n->p.axis, xs);
    for (int i = 0; i < x->ndim; i++)
        dims[i < axis ? 0 : 1] *= x->dims[i];
    set_shape(out[0], x->dtype, 2, dims);
    return FS_OK;
}

static fs_status infer_transpose(const char *model, const nn_node *n, nn_tensor *const *in,
                                 nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    char xs[96];
    shape_text(x, xs, sizeof xs);
    int64_t dims[NN_MAX_DIMS];
    int seen[NN_MAX_DIMS] = {0};
    if (n->p.has_ints && n->p.n_ints != x->ndim)
        return FAIL(FS_ERR_FORMAT, "perm has %d entries for the %d-D input %s", n->p.n_ints,
                    x->ndim, xs);
    for (int i = 0; i < x->ndim; i++) {
        int64_t p = n->p.has_ints ? n->p.ints[i] : x->ndim - 1 - i;
        if (p < 0 || p >= x->ndim || seen[p])
            return FAIL(FS_ERR_FORMAT, "perm is not a permutation");
        seen[p] = 1;
        dims[i] = x->dims[p];
    }
    set_shape(out[0], x->dtype, x->ndim, dims);
    return FS_OK;
}

static fs_status infer_gemm(const char *model, const nn_node *n, nn_tensor *const *in,
                            nn_tensor **out, fs_error *err)
{
    const nn_tensor *a = in[0], *b = in[1];
    char as[96], bs[96];
    shape_text(a, as, sizeof as);
    shape_text(b, bs, sizeof bs);
    if (a->dtype != NN_F32 || b->dtype != NN_F32 || a->ndim != 2 || b->ndim != 2)
        return FAIL(FS_ERR_FORMAT, "inputs %s and %s are not 2-D float tensors", as, bs);
    int64_t m = n->p.trans_a ? a->dims[1] : a->dims[0];
    int64_t k = n->p.trans_a ? a->dims[0] : a->dims[1];
    int64_t k2 = n->p.trans_b ? b->dims[1] : b->dims[0];
    int64_t nn = n->p.trans_b ? b->dims[0] : b->dims[1];
    if (k != k2)
        return FAIL(FS_ERR_FORMAT, "cannot multiply %s by %s (transA=%d transB=%d)", as, bs,
                    n->p.trans_a, n->p.trans_b);
    int64_t dims[2] = {m, nn};
    if (n->n_in > 2 && in[2]) {
        const nn_tensor *c = in[2];
        if (c->dtype != NN_F32 || c->ndim > 2 ||
            (c->ndim >= 1 && c->dims[c->ndim - 1] != 1 && c->dims[c->ndim - 1] != nn) ||
            (c->ndim == 2 && c->dims[0] != 1 && c->dims[0] != m))
            return FAIL(FS_ERR_FORMAT, "C does not broadcast to [%lld,%lld]", (long long)m,
                        (long long)nn);
    }
    if (set_shape(out[0], NN_F32, 2, dims) != 0)
        return FAIL(FS_ERR_LIMIT, "output is too large");
    return FS_OK;
}

static fs_status infer_global_pool(const char *model, const nn_node *n, nn_tensor *const *in,
                                   nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    char xs[96];
    shape_text(x, xs, sizeof xs);
    int64_t dims[NN_MAX_DIMS];
    if (x->dtype != NN_F32 || x->ndim < 3)
        return FAIL(FS_ERR_FORMAT, "input %s is not a float tensor of rank >= 3", xs);
    for (int i = 0; i < x->ndim; i++)
        dims[i] = i < 2 ? x->dims[i] : 1;
    set_shape(out[0], NN_F32, x->ndim, dims);
    return FS_OK;
}

static fs_status infer_resize(const char *model, const nn_node *n, nn_tensor *const *in,
                              nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    char xs[96];
    shape_text(x, xs, sizeof xs);
    nn_resize_spec spec;
    if (x->dtype != NN_F32 || x->ndim != 4)
        return FAIL(FS_ERR_UNSUPPORTED, "input %s is not a 4-D float tensor", xs);
    if (nn_resize_resolve(n, in, n->n_in, &spec) != 0)
        return FAIL(FS_ERR_FORMAT, "scales/sizes are missing, not constant or invalid");
    if (spec.dims[0] != x->dims[0] || spec.dims[1] != x->dims[1])
        return FAIL(FS_ERR_UNSUPPORTED, "only the two spatial dims may be resized");
    if (set_shape(out[0], NN_F32, 4, spec.dims) != 0)
        return FAIL(FS_ERR_LIMIT, "output is too large");
    return FS_OK;
}

static fs_status infer_slice(const char *model, const nn_node *n, nn_tensor *const *in,
                             nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0];
    nn_slice_spec spec;
    if (nn_slice_resolve(n, in, n->n_in, &spec) != 0) {
        char xs[96];
        shape_text(x, xs, sizeof xs);
        return FAIL(FS_ERR_FORMAT, "starts/ends/axes/steps are missing, not constant or "
                    "invalid for %s", xs);
    }
    set_shape(out[0], x->dtype, x->ndim, spec.dims);
    return FS_OK;
}

/* Shape: a 1-D int64 tensor of the input's dims from start to end (clamped). */
static fs_status infer_shape_op(const nn_node *n, nn_tensor *const *in, nn_tensor **out)
{
    const nn_tensor *x = in[0];
    int64_t b = n->p.shape_start, e = n->p.has_shape_end ? n->p.shape_end : x->ndim;
    if (b < 0)
        b += x->ndim;
    if (e < 0)
        e += x->ndim;
    b = b < 0 ? 0 : b > x->ndim ? x->ndim : b;
    e = e < 0 ? 0 : e > x->ndim ? x->ndim : e;
    int64_t dims[1] = {e > b ? e - b : 0};
    set_shape(out[0], NN_I64, 1, dims);
    return FS_OK;
}

static fs_status infer_gather(const char *model, const nn_node *n, nn_tensor *const *in,
                              nn_tensor **out, fs_error *err)
{
    const nn_tensor *x = in[0], *idx = in[1];
    char xs[96];
    shape_text(x, xs, sizeof xs);
    int64_t dims[NN_MAX_DIMS];
    int axis = nn_axis(n->p.axis, x->ndim, 0);
    if (axis < 0)
        return FAIL(FS_ERR_FORMAT, "axis %lld is out of range for %s", (long long)n->p.axis, xs);
    if (idx->dtype != NN_I64)
        return FAIL(FS_ERR_FORMAT, "indices are not integers");
    if (x->ndim - 1 + idx->ndim > NN_MAX_DIMS)
        return FAIL(FS_ERR_UNSUPPORTED, "result has too many dims");
    int r = 0;
    for (int i = 0; i < axis; i++)
        dims[r++] = x->dims[i];
    for (int i = 0; i < idx->ndim; i++)
        dims[r++] = idx->dims[i];
    for (int i = axis + 1; i < x->ndim; i++)
        dims[r++] = x->dims[i];
    if (set_shape(out[0], x->dtype, r, dims) != 0)
        return FAIL(FS_ERR_LIMIT, "output is too large");
    if (idx->data) { /* constant indices: check them now */
        for (int64_t i = 0; i < idx->count; i++) {
            int64_t v = ((const int64_t *)idx->data)[i];
            if (v < -x->dims[axis] || v >= x->dims[axis])
                return FAIL(FS_ERR_FORMAT, "index %lld is out of range for axis %d of %s",
                            (long long)v, axis, xs);
        }
    }
    return FS_OK;
}

fs_status nn_infer(const char *model, const nn_node *n, nn_tensor *const *in, nn_tensor **out,
                   fs_error *err)
{
    switch (n->op) {
    case NN_OP_CONV:
        return infer_conv(model, n, in, out, err);
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
        return infer_pool(model, n, in, out, err);
    case NN_OP_GLOBALAVGPOOL:
    case NN_OP_GLOBALMAXPOOL:
        return infer_global_pool(model, n, in, out, err);
    case NN_OP_RELU:
    case NN_OP_SIGMOID:
    case NN_OP_EXP:
    case NN_OP_SOFTMAX:
    case NN_OP_CLIP:
        return infer_activation(model, n, in, out, err);
    case NN_OP_IDENTITY:
    case NN_OP_CAST:
        return infer_copy(n, in, out);
    case NN_OP_PRELU:
    case NN_OP_SCALE_SHIFT:
        return infer_channel_params(model, n, in, out, err);
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
    case NN_OP_DIV:
        return infer_elementwise(model, n, in, out, err);
    case NN_OP_GEMM:
        return infer_gemm(model, n, in, out, err);
    case NN_OP_MATMUL:
        return infer_matmul(model, n, in, out, err);
    case NN_OP_CONCAT:
        return infer_concat(model, n, in, out, err);
    case NN_OP_RESHAPE:
        return infer_reshape(model, n, in, out, err);
    case NN_OP_SQUEEZE:
    case NN_OP_UNSQUEEZE:
        return infer_squeeze(model, n, in, out, err);
    case NN_OP_FLATTEN:
        return infer_flatten(model, n, in, out, err);
    case NN_OP_TRANSPOSE:
        return infer_transpose(model, n, in, out, err);
    case NN_OP_RESIZE:
        return infer_resize(model, n, in, out, err);
    case NN_OP_SLICE:
        return infer_slice(model, n, in, out, err);
    case NN_OP_SHAPE:
        return infer_shape_op(n, in, out);
    case NN_OP_GATHER:
        return infer_gather(model, n, in, out, err);
    case NN_OP_BATCHNORM:
    case NN_OP_COUNT:
        break;
    }
    return FAIL(FS_ERR_INTERNAL, "no shape inference for this op");
}
