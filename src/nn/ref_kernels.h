/*
 * ref_kernels.h — the plain-C reference kernels (one function per op family), grouped by file:
 * ref_conv.c (Conv, Gemm, MatMul), ref_elementwise.c (activations, arithmetic, Softmax, Cast),
 * ref_pool.c (pools, Resize), ref_layout.c (Concat, Transpose, copies, Slice, Gather, Shape).
 * backend_ref.c maps op kinds to them. All follow nn_kernel_fn (kernel.h).
 */
#ifndef FS_NN_REF_KERNELS_H
#define FS_NN_REF_KERNELS_H

#include "nn/kernel.h"

fs_status nn_ref_conv(const nn_step *s, fs_error *err);
fs_status nn_ref_gemm(const nn_step *s, fs_error *err);
fs_status nn_ref_matmul(const nn_step *s, fs_error *err);

fs_status nn_ref_unary(const nn_step *s, fs_error *err);      /* Relu, Sigmoid, Exp */
fs_status nn_ref_clip(const nn_step *s, fs_error *err);
fs_status nn_ref_binary(const nn_step *s, fs_error *err);     /* Add, Sub, Mul, Div, PRelu */
fs_status nn_ref_scale_shift(const nn_step *s, fs_error *err);
fs_status nn_ref_softmax(const nn_step *s, fs_error *err);
fs_status nn_ref_cast(const nn_step *s, fs_error *err);

fs_status nn_ref_pool(const nn_step *s, fs_error *err);       /* MaxPool, AveragePool */
fs_status nn_ref_global_pool(const nn_step *s, fs_error *err);
fs_status nn_ref_resize(const nn_step *s, fs_error *err);

fs_status nn_ref_concat(const nn_step *s, fs_error *err);
fs_status nn_ref_transpose(const nn_step *s, fs_error *err);
/* Reshape, Flatten, Squeeze, Unsqueeze, Identity */
fs_status nn_ref_copy(const nn_step *s, fs_error *err);
fs_status nn_ref_slice(const nn_step *s, fs_error *err);
fs_status nn_ref_gather(const nn_step *s, fs_error *err);
fs_status nn_ref_shape(const nn_step *s, fs_error *err);

/* The reference convolution on raw buffers (x: NCHW input, y: NCHW output), usable by other
 * backends as a fallback. */
void nn_conv_ref_compute(const nn_conv_geom *g, const float *x, float *y);

#endif
