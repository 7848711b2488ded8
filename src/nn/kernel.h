/*
 * kernel.h — a prepared op ("step") of a plan, the kernel function type, and the shared geometry
 * helpers that shape inference (shape.c) and the kernels both use, so that they can never disagree.
 *
 * The per-node kernel hook: every step carries `run`, chosen at plan time. The planner first sets
 * the reference kernel (nn_ref_kernel), then calls its backend's prepare hook (backend.h), which
 * may replace run/state/free_state for the ops it accelerates (e.g. the fast backend's oneDNN
 * convolution for NN_OP_CONV). Tensors are dense row-major NCHW float32 (int64 for shape data),
 * except that on the fast backend its layout pass (fast_layout.c) may keep 4-D activations
 * between fast kernels in oneDNN's blocked layout (nn_tensor.blocked); a step left on a reference
 * kernel only ever sees dense tensors. Data pointers are fixed when the plan is created (buffers are
 * preallocated), so a kernel may prepare anything that depends on shapes or constant inputs
 * (weights) once, in its prepare function.
 */
#ifndef FS_NN_KERNEL_H
#define FS_NN_KERNEL_H

#include "nn/graph.h"

typedef struct nn_step nn_step;

/* Runs a step: reads step->in[i]->data, writes step->out[j]->data (both already allocated).
 * Returns FS_OK or an error filled into err (e.g. a Gather index out of range). */
typedef fs_status (*nn_kernel_fn)(const nn_step *step, fs_error *err);

struct nn_step {
    const nn_node *node;   /* op kind, parameters (fused activation), label for messages */
    const char *model;     /* model name for messages */
    int n_in, n_out;
    nn_tensor **in;        /* in[i] NULL for an omitted optional input; shapes resolved */
    nn_tensor **out;
    nn_kernel_fn run;
    void *state;           /* owned by the kernel; released with free_state(state) */
    void (*free_state)(void *state);
    int threads;           /* threads the kernel may use (the net's option; >= 1) */
    void *backend;         /* the plan's backend state (backend.h: plan_begin), or NULL */
    /* Set by the fast backend's layout pass (fast_layout.c) only; zero otherwise: */
    nn_tensor *residual;   /* Conv: a fused residual Add, y = act(conv(x)) + residual; it is
                            * also the step's last input (in[n_in-1]) so that liveness sees it */
    nn_act after_sum;      /* Conv with residual: NN_ACT_RELU/CLIP fused after the Add */
    float after_min, after_max;
    /* Conv: a depthwise 3x3 Conv fused after this 1x1 one: its node (stride, activation),
     * weights and bias. out[0] is then the depthwise conv's output, and dw_mid the 1x1's own
     * output, never stored (kept for its shape). */
    const nn_node *dw_node;
    nn_tensor *dw_mid, *dw_weight, *dw_bias;
    int to_plain;          /* a layout conversion (blocked in[0] -> dense out[0]); never aliased */
    int fast_kind;         /* nn_fast_kind (fast.h) the layout pass chose, 0 = none */
    int fast_arg;          /* NN_FAST_CHANNEL: index of the activation input */
};

/* ---- the reference backend (backend_ref.c) --------------------------------------------------- */

/* The reference kernel of an op (never NULL for a kind that the graph accepts). */
nn_kernel_fn nn_ref_kernel(nn_op_kind op);

/* ---- geometry -------------------------------------------------------------------------------- */

/* A Conv step's resolved geometry (pads after auto_pad), for kernels. */
typedef struct nn_conv_geom {
    int64_t n, c_in, h_in, w_in;    /* input NCHW */
    int64_t c_out, h_out, w_out;    /* output NCHW */
    int64_t kh, kw, sh, sw, dh, dw; /* kernel, strides, dilations */
    int64_t pad_t, pad_l, pad_b, pad_r;
    int64_t group;                  /* c_in/group input and c_out/group output channels each */
    const float *weight;            /* [c_out][c_in/group][kh][kw] */
    const float *bias;              /* [c_out] or NULL */
    nn_act act;                     /* applied after the bias */
    float act_min, act_max;         /* NN_ACT_CLIP */
    const float *slope;             /* NN_ACT_PRELU: slope_count (1 or c_out) values */
    int64_t slope_count;
} nn_conv_geom;

void nn_conv_geometry(const nn_step *s, nn_conv_geom *g);

/* One spatial axis of a Conv/pool window: input size, kernel, stride, dilation, auto_pad,
 * ceil_mode and the explicit pads in; the effective pads and output size out. Returns -1 when the
 * window does not fit (output would be empty). */
int nn_window_axis(int64_t in, int64_t k, int64_t s, int64_t d, int auto_pad, int ceil_mode,
                   int64_t pad_begin, int64_t pad_end, int64_t *pb, int64_t *pe, int64_t *out);

/* The taps [*k0, *k1) of a window starting at `start` (dilation d >= 1, `kernel` taps) that fall
 * inside [0, size): a pooling loop visits only those (a huge kernel over padding costs nothing). */
void nn_window_taps(int64_t start, int64_t d, int64_t kernel, int64_t size, int64_t *k0,
                    int64_t *k1);

/* Resolved Slice: for every axis of the input, start and step; out dims. */
typedef struct nn_slice_spec {
    int64_t start[NN_MAX_DIMS], step[NN_MAX_DIMS], dims[NN_MAX_DIMS];
} nn_slice_spec;

/* Resize: per-axis scale used for coordinates, output dims. */
typedef struct nn_resize_spec {
    float scale[NN_MAX_DIMS];
    int64_t dims[NN_MAX_DIMS];
} nn_resize_spec;

/* Shape inference for one node: inputs have dtype/shape (data non-NULL when constant); fills
 * dtype/ndim/dims/count of the outputs. Errors name model, node and what does not fit. */
fs_status nn_infer(const char *model, const nn_node *n, nn_tensor *const *in, nn_tensor **out,
                   fs_error *err);

/* Helpers shared with the kernels; they only fail for inputs nn_infer has rejected. */
int nn_slice_resolve(const nn_node *n, nn_tensor *const *in, int n_in, nn_slice_spec *spec);
int nn_resize_resolve(const nn_node *n, nn_tensor *const *in, int n_in, nn_resize_spec *spec);
/* Normalises axis into [0, rank) (rank+1 when allow_end); -1 if out of range. */
int nn_axis(int64_t axis, int rank, int allow_end);

#endif
