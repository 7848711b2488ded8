/*
 * backend_ref.c — the reference backend: which plain-C kernel runs each op (ref_*.c). It is the
 * oracle the fast backend is checked against, and the fallback for every op the fast backend does
 * not accelerate.
 */
#include "nn/backend.h"
#include "nn/ref_kernels.h"

/* No hooks: the planner's default kernels (nn_ref_kernel) are this backend's. */
const nn_backend_ops nn_backend_ref_ops = {.name = "ref"};

const nn_backend_ops *nn_backend_ops_of(nn_backend_kind kind)
{
    return kind == NN_BACKEND_FAST ? &nn_backend_fast_ops : &nn_backend_ref_ops;
}

nn_kernel_fn nn_ref_kernel(nn_op_kind op)
{
    switch (op) {
    case NN_OP_CONV: return nn_ref_conv;
    case NN_OP_RELU: case NN_OP_SIGMOID: case NN_OP_EXP: return nn_ref_unary;
    case NN_OP_CLIP: return nn_ref_clip;
    case NN_OP_PRELU: case NN_OP_ADD: case NN_OP_SUB: case NN_OP_MUL: case NN_OP_DIV:
        return nn_ref_binary;
    case NN_OP_SCALE_SHIFT: return nn_ref_scale_shift;
    case NN_OP_SOFTMAX: return nn_ref_softmax;
    case NN_OP_CAST: return nn_ref_cast;
    case NN_OP_GEMM: return nn_ref_gemm;
    case NN_OP_MATMUL: return nn_ref_matmul;
    case NN_OP_MAXPOOL: case NN_OP_AVGPOOL: return nn_ref_pool;
    case NN_OP_GLOBALAVGPOOL: case NN_OP_GLOBALMAXPOOL: return nn_ref_global_pool;
    case NN_OP_RESIZE: return nn_ref_resize;
    case NN_OP_CONCAT: return nn_ref_concat;
    case NN_OP_TRANSPOSE: return nn_ref_transpose;
    case NN_OP_RESHAPE: case NN_OP_FLATTEN: case NN_OP_SQUEEZE: case NN_OP_UNSQUEEZE:
    case NN_OP_IDENTITY:
        return nn_ref_copy;
    case NN_OP_SLICE: return nn_ref_slice;
    case NN_OP_GATHER: return nn_ref_gather;
    case NN_OP_SHAPE: return nn_ref_shape;
    case NN_OP_BATCHNORM: case NN_OP_COUNT: break;
    }
    return NULL;
}
