/*
 * ops.h — the operators the runtime knows, their parsed attributes (nn_params), and the op table
 * that maps ONNX op_type names to them with their input/output counts.
 *
 * Attribute parsing (op_params.c) resolves opset differences once, at load time: e.g. Clip's
 * min/max come from attributes before opset 11 and from inputs after; the kernels only look at
 * nn_params and their input tensors.
 */
#ifndef FS_NN_OPS_H
#define FS_NN_OPS_H

#include <stdint.h>

#include "facesearch.h"
#include "nn/onnx.h"
#include "nn/tensor.h"

typedef enum nn_op_kind {
    NN_OP_CONV, NN_OP_RELU, NN_OP_PRELU, NN_OP_CLIP, NN_OP_SIGMOID, NN_OP_EXP,
    NN_OP_ADD, NN_OP_SUB, NN_OP_MUL, NN_OP_DIV,
    NN_OP_CONCAT, NN_OP_RESHAPE, NN_OP_FLATTEN, NN_OP_TRANSPOSE, NN_OP_SOFTMAX,
    NN_OP_GEMM, NN_OP_MATMUL, NN_OP_BATCHNORM, NN_OP_SCALE_SHIFT,
    NN_OP_MAXPOOL, NN_OP_AVGPOOL, NN_OP_GLOBALAVGPOOL, NN_OP_GLOBALMAXPOOL,
    NN_OP_RESIZE, NN_OP_SLICE, NN_OP_SHAPE, NN_OP_GATHER, NN_OP_UNSQUEEZE, NN_OP_SQUEEZE,
    NN_OP_IDENTITY, NN_OP_CAST,
    NN_OP_COUNT
} nn_op_kind;

/* Activation fused into a Conv (applied after bias). */
typedef enum nn_act {
    NN_ACT_NONE = 0,
    NN_ACT_RELU,
    NN_ACT_PRELU, /* slope tensor is the Conv's input 3: 1 value or one per output channel */
    NN_ACT_CLIP   /* act_min..act_max */
} nn_act;

enum { NN_PAD_NOTSET = 0, NN_PAD_SAME_UPPER, NN_PAD_SAME_LOWER, NN_PAD_VALID };
enum { NN_RESIZE_NEAREST = 0, NN_RESIZE_LINEAR };
enum {
    NN_COORD_HALF_PIXEL = 0, NN_COORD_ASYMMETRIC, NN_COORD_ALIGN_CORNERS,
    NN_COORD_PYTORCH_HALF_PIXEL, NN_COORD_TF_HALF_PIXEL_FOR_NN
};
enum {
    NN_NEAREST_ROUND_PREFER_FLOOR = 0, NN_NEAREST_ROUND_PREFER_CEIL, NN_NEAREST_FLOOR,
    NN_NEAREST_CEIL,
    NN_NEAREST_LEGACY /* opset < 11 Resize and Upsample: floor when upsampling, ceil when down */
};

typedef struct nn_params {
    /* Conv, MaxPool, AveragePool (2-D spatial only) */
    int has_kernel;
    int64_t kernel[2], strides[2], dilations[2];
    int64_t pads[4]; /* top, left, bottom, right */
    int auto_pad;
    int64_t group;
    int ceil_mode, count_include_pad;
    /* fused activation of a Conv */
    nn_act act;
    float act_min, act_max;
    /* Clip (attribute form; inputs override), Gemm */
    float clip_min, clip_max;
    float alpha, beta;
    int trans_a, trans_b;
    float epsilon; /* BatchNormalization */
    /* axis of Concat, Softmax, Flatten, Gather */
    int64_t axis;
    int softmax_legacy; /* opset < 13: softmax over the flattened dims from axis on */
    /* Transpose perm; Squeeze/Unsqueeze axes; Reshape shape (opset < 5); Slice starts */
    int64_t ints[NN_MAX_DIMS];
    int n_ints, has_ints;
    /* Slice (opset < 10) ends and axes */
    int64_t ends[NN_MAX_DIMS], axes[NN_MAX_DIMS];
    int n_ends, n_axes, has_axes;
    int allowzero; /* Reshape */
    /* Resize / Upsample */
    int resize_mode, coord_mode, nearest_mode;
    /* where scales come from: 0 the attribute (Upsample-7), 1 input 1 (Upsample-9, Resize-10),
     * 2 inputs roi, scales, sizes (Resize-11+) */
    int resize_inputs;
    float scales[NN_MAX_DIMS];
    int n_scales;
    /* Shape start/end (opset 15) */
    int64_t shape_start, shape_end;
    int has_shape_end;
    nn_dtype cast_to;
} nn_params;

typedef struct nn_op_info {
    const char *name;  /* ONNX op_type */
    nn_op_kind kind;
    int min_in, max_in; /* inputs accepted (max -1: any number) */
    int n_out;          /* outputs computed; further outputs in the file must be unused */
} nn_op_info;

/* The op called op_type in the default domain, or NULL if unsupported. */
const nn_op_info *nn_op_lookup(const char *op_type);
/* The ONNX name of a kind ("Conv"). */
const char *nn_op_name(nn_op_kind kind);

/* Fills p from the node's attributes for the given opset. On a bad attribute: FS_ERR_FORMAT or
 * FS_ERR_UNSUPPORTED with a message naming model, node and attribute. */
fs_status nn_params_parse(const onnx_node *node, nn_op_kind kind, int64_t opset,
                          const char *model, const char *label, nn_params *p, fs_error *err);

#endif
