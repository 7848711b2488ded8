/*
 * ref_layout.c — reference kernels that move data without arithmetic: Concat, Transpose, the
 * reshaping copies (Reshape, Flatten, Squeeze, Unsqueeze, Identity — usually aliased by the
 * planner and then never run), Slice, Gather and Shape. They handle float32 and int64 alike.
 */
#include <string.h>

#include "nn/ref_kernels.h"
#include "util/error.h"

fs_status nn_ref_concat(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *y = s->out[0];
    int axis = nn_axis(s->node->p.axis, y->ndim, 0);
    size_t es = nn_dtype_size(y->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= y->dims[i];
    for (int i = axis + 1; i < y->ndim; i++)
        inner *= y->dims[i];
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++) {
        for (int j = 0; j < s->n_in; j++) {
            const nn_tensor *t = s->in[j];
            size_t chunk = (size_t)(t->dims[axis] * inner) * es;
            if (chunk)
                memcpy(dst, (const char *)t->data + (size_t)o * chunk, chunk);
            dst += chunk;
        }
    }
    return FS_OK;
}

/* Copies the strided view (dims, element strides st, from src) densely into dst. */
static void gather_strided(const char *src, char *dst, size_t es, int r, const int64_t *dims,
                           const int64_t *st)
{
    int64_t count = 1;
    for (int i = 0; i < r; i++)
        count *= dims[i];
    if (count == 0)
        return;
    int64_t inner = r ? dims[r - 1] : 1, ist = r ? st[r - 1] : 0;
    int64_t outer = count / inner;
    for (int64_t o = 0; o < outer; o++) {
        int64_t rem = o, off = 0;
        for (int i = r - 2; i >= 0; i--) {
            off += (rem % dims[i]) * st[i];
            rem /= dims[i];
        }
        const char *s = src + off * (int64_t)es;
        char *d = dst + o * inner * (int64_t)es;
        if (es == 4) {
            const float *sf = (const float *)s;
            float *df = (float *)d;
            for (int64_t i = 0; i < inner; i++)
                df[i] = sf[i * ist];
        } else {
            const int64_t *sq = (const int64_t *)s;
            int64_t *dq = (int64_t *)d;
            for (int64_t i = 0; i < inner; i++)
                dq[i] = sq[i * ist];
        }
    }
}

fs_status nn_ref_transpose(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0], *y = s->out[0];
    int64_t xst[NN_MAX_DIMS], st[NN_MAX_DIMS], stride = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        xst[i] = stride;
        stride *= x->dims[i];
    }
    for (int i = 0; i < y->ndim; i++) {
        int64_t p = s->node->p.has_ints ? s->node->p.ints[i] : x->ndim - 1 - i;
        st[i] = xst[p];
    }
    gather_strided(x->data, y->data, nn_dtype_size(y->dtype), y->ndim, y->dims, st);
    return FS_OK;
}

fs_status nn_ref_copy(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0], *y = s->out[0];
    if (y->count && x->data != y->data)
        memcpy(y->data, x->data, (size_t)y->count * nn_dtype_size(y->dtype));
    return FS_OK;
}

fs_status nn_ref_slice(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0], *y = s->out[0];
    nn_slice_spec spec;
    nn_slice_resolve(s->node, s->in, s->n_in, &spec);
    int64_t xst[NN_MAX_DIMS], st[NN_MAX_DIMS], stride = 1, off = 0;
    for (int i = x->ndim - 1; i >= 0; i--) {
        xst[i] = stride;
        stride *= x->dims[i];
    }
    if (y->count == 0)
        return FS_OK;
    for (int i = 0; i < x->ndim; i++) {
        off += spec.start[i] * xst[i];
        st[i] = spec.step[i] * xst[i];
    }
    size_t es = nn_dtype_size(x->dtype);
    gather_strided((const char *)x->data + off * (int64_t)es, y->data, es, y->ndim, y->dims, st);
    return FS_OK;
}

fs_status nn_ref_gather(const nn_step *s, fs_error *err)
{
    const nn_tensor *x = s->in[0], *idx = s->in[1], *y = s->out[0];
    int axis = nn_axis(s->node->p.axis, x->ndim, 0);
    int64_t outer = 1, inner = 1, dim = x->dims[axis];
    for (int i = 0; i < axis; i++)
        outer *= x->dims[i];
    for (int i = axis + 1; i < x->ndim; i++)
        inner *= x->dims[i];
    size_t es = nn_dtype_size(x->dtype), chunk = (size_t)inner * es;
    const int64_t *ind = idx->data;
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t k = 0; k < idx->count; k++) {
            int64_t v = ind[k];
            if (v < -dim || v >= dim)
                return util_fail(err, FS_ERR_FORMAT, "%s: node '%s' (Gather): index %lld is out "
                                 "of range [%lld, %lld)", s->model, s->node->label, (long long)v,
                                 (long long)-dim, (long long)dim);
            if (v < 0)
                v += dim;
            if (chunk)
                memcpy(dst, (const char *)x->data + ((size_t)(o * dim + v)) * chunk, chunk);
            dst += chunk;
        }
    }
    return FS_OK;
}

fs_status nn_ref_shape(const nn_step *s, fs_error *err)
{
    (void)err;
    const nn_tensor *x = s->in[0];
    const nn_params *p = &s->node->p;
    int64_t b = p->shape_start;
    if (b < 0)
        b += x->ndim;
    if (b < 0)
        b = 0;
    int64_t *y = s->out[0]->data;
    for (int64_t i = 0; i < s->out[0]->count; i++)
        y[i] = x->dims[b + i];
    return FS_OK;
}
