/*
 * fast.h — internals of the fast backend shared by its files:
 *   fast_layout.c   the layout pass (which activations live in oneDNN's blocked nChw{B}c layout,
 *                   residual-Add fusion into convolutions, conversion steps);
 *   backend_fast.c  the kernel hook (nn_fast_prepare): oneDNN convolutions and our kernels;
 *   fast_kernels.c  the plain-C (OpenMP, vectorisable) kernels for the cheap ops, on dense NCHW
 *                   or blocked data.
 * The blocked layout and its zero padding lanes are defined in dnnl_conv.h. The planner reaches
 * the backend only through its hooks (nn_backend_fast_ops, backend.h), which are declared here.
 */
#ifndef FS_NN_FAST_H
#define FS_NN_FAST_H

#include "nn/backend.h"
#include "nn/kernel.h"

/* ---- the hooks (backend.h) -------------------------------------------------------------------- */

/* backend_fast.c. The plan's state is one oneDNN context for `threads` threads. */
fs_status nn_fast_plan_begin(int threads, nn_precision precision, void **state, fs_error *err);
void nn_fast_plan_end(void *state);
/* Every step gets its kernel (see backend_fast.c), in the layouts the layout pass chose. */
fs_status nn_fast_prepare(nn_step *step, fs_error *err);

/* fast_layout.c. The room the layout pass needs: a dense copy of any value (one more value,
 * node and step, two io slots each) and a residual input for any Conv (a new in array). */
nn_plan_room nn_fast_layout_room(const nn_graph *g);
/* The layout pass, run after the steps are made and before buffers are assigned: fuses residual
 * Adds (and a Relu/Clip after them) into the producing Conv, chooses for each activation the
 * dense or the blocked layout (block = nn_fast_block(p->backend)), and inserts conversion steps
 * where an op needs dense data. Rewrites p->steps; may add values (up to cap_vals) and io. */
fs_status nn_fast_layout(nn_plan *p, fs_error *err);

/* The channel block of the blocked layout the plan's backend state uses (8 or 16). */
int nn_fast_block(const void *state);

/* What the layout pass decided a step is, for the fast backend (nn_step.fast_kind). */
typedef enum nn_fast_kind {
    NN_FAST_OTHER = 0, /* dense inputs and outputs; kernel chosen by op (fast or reference) */
    NN_FAST_CONV,      /* Conv: any source layout, its own destination layout, optional residual */
    NN_FAST_CHANNEL,   /* y = f(x, per-channel constants), same shape: Relu, Clip, PRelu,
                        * ScaleShift, Add/Sub/Mul with a scalar or per-channel constant */
    NN_FAST_SAME,      /* Add/Sub/Mul of two activations of the output's shape (and layout) */
    NN_FAST_CONCAT,    /* Concat on axis 1 of 4-D tensors: blocked when every input but the
                        * last has a multiple of the block as channel count */
    NN_FAST_NHWC,      /* Transpose perm 0,2,3,1 of a 4-D tensor: reads either layout */
    NN_FAST_MAXPOOL    /* MaxPool of a 4-D tensor: output in its input's layout */
} nn_fast_kind;

/* The kind of a step as far as its op, shapes and constant inputs go (is_const: per value of
 * the plan, indexed by tensor pointer - vals). Constants never are blocked. *act_in gets the
 * activation input of NN_FAST_CHANNEL. */
nn_fast_kind nn_fast_classify(const nn_step *s, const nn_tensor *vals,
                              const unsigned char *is_const, int *act_in);

/* A per-channel elementwise op, prepared: y = f(x) per channel c with padded parameter arrays
 * (cp = channels rounded up to the block; padding entries make f(0) = 0). */
typedef enum nn_chan_mode { NN_CHAN_RELU, NN_CHAN_CLIP, NN_CHAN_PRELU, NN_CHAN_AFFINE } nn_chan_mode;

typedef struct nn_chan_op {
    nn_chan_mode mode;
    float *a, *b;  /* CLIP: lo, hi; PRELU: slope in a; AFFINE: y = a*x + b; cp floats each */
    int block;     /* 1 for dense NCHW */
    int64_t n, c, hw;
    int threads;
} nn_chan_op;

/* Runs op on x into y (may be the same buffer), writing padding lanes as 0. */
void nn_fast_chan_run(const nn_chan_op *op, const float *x, float *y);

/* y = a (+,-,*) b elementwise over count floats (same shapes and layouts; padding stays 0). */
void nn_fast_same_run(nn_op_kind op, const float *a, const float *b, float *y, int64_t count,
                      int threads);

/* Blocked n x c x h x w (block B) into dense NCHW. */
void nn_fast_blocked_to_nchw(const float *x, float *y, int64_t n, int64_t c, int64_t hw, int block,
                             int threads);

/* Transpose 0,2,3,1: a 4-D tensor (dense when block is 1, else blocked) into dense NHWC. */
void nn_fast_to_nhwc(const float *x, float *y, int64_t n, int64_t c, int64_t hw, int block,
                     int threads);

/* Concat on channels of blocked tensors: each input's blocks are copied in turn, per image. */
void nn_fast_concat_blocked(const float *const *x, const int64_t *c, int count, float *y, int64_t n,
                            int64_t hw, int block);

/* Dense float kernels (nn_kernel_fn) for the detector's decoding tail; nn_fast_prepare picks
 * them when their preconditions hold: Exp; Softmax whose reduced dims run to the last one;
 * Slice with step 1 on the last axis; Concat of float tensors. */
fs_status nn_fast_exp_step(const nn_step *s, fs_error *err);
fs_status nn_fast_softmax_step(const nn_step *s, fs_error *err);
fs_status nn_fast_slice_step(const nn_step *s, fs_error *err);
fs_status nn_fast_concat_step(const nn_step *s, fs_error *err);
/* MaxPool (any pads, strides, dilations, ceil_mode) from a blocked input into a blocked output:
 * the max over the window's taps inside the image, all lanes of a block at once; padding lanes
 * stay 0. */
fs_status nn_fast_maxpool_blocked_step(const nn_step *s, fs_error *err);

#endif
