/*
 * tensor.h — the tensor descriptor shared by the parser, the graph, the planner and the kernels,
 * and the size limits that keep hostile model files from making us allocate absurd memory.
 *
 * Layout: dense row-major (C order); activations are NCHW float32. Only two element types exist
 * inside the runtime: float32 (all real-valued data; doubles and halves are converted on load) and
 * int64 (all integer and boolean data: shapes, indices, axes).
 */
#ifndef FS_NN_TENSOR_H
#define FS_NN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"

/* Limits: a tensor may hold at most NN_MAX_ELEMENTS elements and no dimension may exceed
 * NN_MAX_DIM; a plan may allocate at most NN_MAX_PLAN_BYTES of activations. */
#define NN_MAX_ELEMENTS ((int64_t)1 << 28)
#define NN_MAX_DIM ((int64_t)1 << 28)
#define NN_MAX_PLAN_BYTES ((size_t)4 << 30)

typedef enum nn_dtype {
    NN_DTYPE_NONE = 0,
    NN_F32 = 1, /* same numbers as ONNX's TensorProto.DataType */
    NN_I64 = 7
} nn_dtype;

typedef struct nn_tensor {
    nn_dtype dtype;
    int ndim;
    int64_t dims[NN_MAX_DIMS];
    int64_t count; /* product of dims (1 for a scalar) */
    void *data;    /* NULL while not known (planning) or not yet allocated */
    /* 0: dense row-major (the default everywhere). B > 0: a 4-D float activation stored in
     * oneDNN's blocked nChw{B}c layout by the fast backend (see dnnl_conv.h: channels padded to a
     * multiple of B, padding lanes 0); only fast kernels that say so read or write it. */
    int blocked;
} nn_tensor;

/* Floats (or int64s) a tensor's buffer holds: count, or the padded count of a blocked tensor. */
static inline int64_t nn_tensor_elements(const nn_tensor *t)
{
    if (!t->blocked || t->ndim != 4)
        return t->count;
    int64_t b = t->blocked, cp = (t->dims[1] + b - 1) / b * b;
    return t->dims[0] * cp * t->dims[2] * t->dims[3];
}

static inline size_t nn_dtype_size(nn_dtype t)
{
    return t == NN_I64 ? 8 : 4;
}

/* Product of dims[0..ndim) into *count; returns -1 if a dim is negative or above NN_MAX_DIM, or the
 * product exceeds NN_MAX_ELEMENTS. */
static inline int nn_dims_count(const int64_t *dims, int ndim, int64_t *count)
{
    int64_t c = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0 || dims[i] > NN_MAX_DIM)
            return -1;
        if (dims[i] && c > NN_MAX_ELEMENTS / dims[i])
            return -1;
        c *= dims[i];
    }
    if (c > NN_MAX_ELEMENTS)
        return -1;
    *count = c;
    return 0;
}

#endif
