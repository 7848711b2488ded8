/*
 * op_params.c — the op table and the parsing of each op's attributes into nn_params,
 * resolving the differences between opset versions (see ops.h).
 */
#include "nn/ops.h"

#include <float.h>
#include <string.h>

#include "util/error.h"

static const nn_op_info OPS[] = {
    {"Conv", NN_OP_CONV, 2, 3, 1},
    {"Relu", NN_OP_RELU, 1, 1, 1},
    {"PRelu", NN_OP_PRELU, 2, 2, 1},
    {"Clip", NN_OP_CLIP, 1, 3, 1},
    {"Sigmoid", NN_OP_SIGMOID, 1, 1, 1},
    {"Exp", NN_OP_EXP, 1, 1, 1},
    {"Add", NN_OP_ADD, 2, 2, 1},
    {"Sub", NN_OP_SUB, 2, 2, 1},
    {"Mul", NN_OP_MUL, 2, 2, 1},
    {"Div", NN_OP_DIV, 2, 2, 1},
    {"Concat", NN_OP_CONCAT, 1, -1, 1},
    {"Reshape", NN_OP_RESHAPE, 1, 2, 1},
    {"Flatten", NN_OP_FLATTEN, 1, 1, 1},
    {"Transpose", NN_OP_TRANSPOSE, 1, 1, 1},
    {"Softmax", NN_OP_SOFTMAX, 1, 1, 1},
    {"Gemm", NN_OP_GEMM, 2, 3, 1},
    {"MatMul", NN_OP_MATMUL, 2, 2, 1},
    {"BatchNormalization", NN_OP_BATCHNORM, 5, 5, 1},
    {"MaxPool", NN_OP_MAXPOOL, 1, 1, 1},
    {"AveragePool", NN_OP_AVGPOOL, 1, 1, 1},
    {"GlobalAveragePool", NN_OP_GLOBALAVGPOOL, 1, 1, 1},
    {"GlobalMaxPool", NN_OP_GLOBALMAXPOOL, 1, 1, 1},
    {"Resize", NN_OP_RESIZE, 1, 4, 1},
    {"Upsample", NN_OP_RESIZE, 1, 2, 1},
    {"Slice", NN_OP_SLICE, 1, 5, 1},
    {"Shape", NN_OP_SHAPE, 1, 1, 1},
    {"Gather", NN_OP_GATHER, 2, 2, 1},
    {"Unsqueeze", NN_OP_UNSQUEEZE, 1, 2, 1},
    {"Squeeze", NN_OP_SQUEEZE, 1, 2, 1},
    {"Identity", NN_OP_IDENTITY, 1, 1, 1},
    {"Dropout", NN_OP_IDENTITY, 1, 3, 1},
    {"Cast", NN_OP_CAST, 1, 1, 1},
};

const nn_op_info *nn_op_lookup(const char *op_type)
{
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (!strcmp(OPS[i].name, op_type))
            return &OPS[i];
    return NULL;
}

const char *nn_op_name(nn_op_kind kind)
{
    if (kind == NN_OP_SCALE_SHIFT)
        return "ScaleShift";
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (OPS[i].kind == kind)
            return OPS[i].name;
    return "?";
}

/* ---- attribute access with type checks --------------------------------------------------- */

typedef struct actx {
    const onnx_node *node;
    const char *model, *label;
    fs_error *err;
} actx;

static fs_status attr_fail(actx *c, fs_status rc, const char *attr, const char *what)
{
    return util_fail(c->err, rc, "%s: node '%s' (%s): attribute '%s' %s", c->model, c->label,
                     c->node->op_type, attr, what);
}

static const onnx_attr *find(actx *c, const char *name, int type, fs_status *st)
{
    const onnx_attr *a = onnx_node_attr(c->node, name);
    *st = FS_OK;
    if (a && a->type != type) {
        *st = attr_fail(c, FS_ERR_FORMAT, name, "has the wrong type");
        return NULL;
    }
    return a;
}

static fs_status get_int(actx *c, const char *name, int64_t def, int64_t *out)
{
    fs_status rc;
    const onnx_attr *a = find(c, name, ONNX_ATTR_INT, &rc);
    *out = a ? a->i : def;
    return rc;
}

static fs_status get_float(actx *c, const char *name, float def, float *out)
{
    fs_status rc;
    const onnx_attr *a = find(c, name, ONNX_ATTR_FLOAT, &rc);
    *out = a ? a->f : def;
    return rc;
}

static fs_status get_string(actx *c, const char *name, const char *def, const char **out)
{
    fs_status rc;
    const onnx_attr *a = find(c, name, ONNX_ATTR_STRING, &rc);
    *out = a ? a->s : def;
    return rc;
}

/* An INTS attribute of at most NN_MAX_DIMS values; *n = -1 when absent. */
static fs_status get_ints(actx *c, const char *name, int64_t out[NN_MAX_DIMS], int *n)
{
    fs_status rc;
    const onnx_attr *a = find(c, name, ONNX_ATTR_INTS, &rc);
    *n = -1;
    if (rc || !a)
        return rc;
    if (a->n_ints > NN_MAX_DIMS)
        return attr_fail(c, FS_ERR_UNSUPPORTED, name, "has too many values");
    for (size_t i = 0; i < a->n_ints; i++)
        out[i] = a->ints[i];
    *n = (int)a->n_ints;
    return FS_OK;
}

/* kernel_shape, strides, dilations, pads, auto_pad of a 2-D Conv or pool. */
static fs_status parse_window(actx *c, nn_params *p, int pool)
{
    int64_t v[NN_MAX_DIMS];
    int n;
    fs_status rc;
    const char *ap;
    if ((rc = get_ints(c, "kernel_shape", v, &n)))
        return rc;
    if (n >= 0) {
        if (n != 2)
            return attr_fail(c, FS_ERR_UNSUPPORTED, "kernel_shape",
                             "is not 2-D (only 2-D convolutions and pools are supported)");
        p->has_kernel = 1;
        p->kernel[0] = v[0];
        p->kernel[1] = v[1];
        for (int i = 0; i < 2; i++)
            if (p->kernel[i] < 1 || p->kernel[i] > 65536)
                return attr_fail(c, FS_ERR_FORMAT, "kernel_shape", "is out of range");
    } else if (pool) {
        return attr_fail(c, FS_ERR_FORMAT, "kernel_shape", "is missing");
    }
    static const char *const names[2] = {"strides", "dilations"};
    int64_t *dst[2] = {p->strides, p->dilations};
    for (int k = 0; k < 2; k++) {
        dst[k][0] = dst[k][1] = 1;
        if ((rc = get_ints(c, names[k], v, &n)))
            return rc;
        if (n < 0)
            continue;
        if (n != 2)
            return attr_fail(c, FS_ERR_UNSUPPORTED, names[k], "is not 2-D");
        for (int i = 0; i < 2; i++) {
            if (v[i] < 1 || v[i] > 65536)
                return attr_fail(c, FS_ERR_FORMAT, names[k], "is out of range");
            dst[k][i] = v[i];
        }
    }
    if ((rc = get_ints(c, "pads", v, &n)))
        return rc;
    if (n >= 0) {
        if (n != 4)
            return attr_fail(c, FS_ERR_UNSUPPORTED, "pads", "does not have 4 values");
        for (int i = 0; i < 4; i++)
            if (v[i] < 0 || v[i] > 65536)
                return attr_fail(c, FS_ERR_FORMAT, "pads", "is out of range");
        /* ONNX order: x1_begin, x2_begin, x1_end, x2_end = top, left, bottom, right */
        memcpy(p->pads, v, sizeof p->pads);
    }
    if ((rc = get_string(c, "auto_pad", "NOTSET", &ap)))
        return rc;
    if (!strcmp(ap, "NOTSET") || !*ap)
        p->auto_pad = NN_PAD_NOTSET;
    else if (!strcmp(ap, "SAME_UPPER"))
        p->auto_pad = NN_PAD_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER"))
        p->auto_pad = NN_PAD_SAME_LOWER;
    else if (!strcmp(ap, "VALID"))
        p->auto_pad = NN_PAD_VALID;
    else
        return attr_fail(c, FS_ERR_FORMAT, "auto_pad", "has an unknown value");
    return FS_OK;
}

static fs_status parse_resize(actx *c, nn_params *p, int upsample, int64_t opset)
{
    fs_status st;
    const char *mode, *coord, *nearest;
    int64_t v;
    if ((st = get_string(c, "mode", "nearest", &mode)))
        return st;
    if (!strcmp(mode, "nearest"))
        p->resize_mode = NN_RESIZE_NEAREST;
    else if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear"))
        p->resize_mode = NN_RESIZE_LINEAR;
    else
        return attr_fail(c, FS_ERR_UNSUPPORTED, "mode", "is not nearest or linear");
    if (upsample || opset < 11) {
        p->coord_mode = NN_COORD_ASYMMETRIC;
        p->nearest_mode = NN_NEAREST_LEGACY;
        if (upsample && opset < 9) {
            fs_status s2;
            const onnx_attr *a = find(c, "scales", ONNX_ATTR_FLOATS, &s2);
            if (s2)
                return s2;
            if (!a || a->n_floats == 0 || a->n_floats > NN_MAX_DIMS)
                return attr_fail(c, FS_ERR_FORMAT, "scales", "is missing or has a bad size");
            for (size_t i = 0; i < a->n_floats; i++)
                p->scales[i] = a->floats[i];
            p->n_scales = (int)a->n_floats;
            p->resize_inputs = 0;
        } else {
            p->resize_inputs = 1;
        }
        return FS_OK;
    }
    p->resize_inputs = 2;
    if ((st = get_string(c, "coordinate_transformation_mode", "half_pixel", &coord)))
        return st;
    if (!strcmp(coord, "half_pixel"))
        p->coord_mode = NN_COORD_HALF_PIXEL;
    else if (!strcmp(coord, "asymmetric"))
        p->coord_mode = NN_COORD_ASYMMETRIC;
    else if (!strcmp(coord, "align_corners"))
        p->coord_mode = NN_COORD_ALIGN_CORNERS;
    else if (!strcmp(coord, "pytorch_half_pixel"))
        p->coord_mode = NN_COORD_PYTORCH_HALF_PIXEL;
    else if (!strcmp(coord, "tf_half_pixel_for_nn"))
        p->coord_mode = NN_COORD_TF_HALF_PIXEL_FOR_NN;
    else
        return attr_fail(c, FS_ERR_UNSUPPORTED, "coordinate_transformation_mode",
                         "has a value that is not supported");
    if ((st = get_string(c, "nearest_mode", "round_prefer_floor", &nearest)))
        return st;
    if (!strcmp(nearest, "round_prefer_floor"))
        p->nearest_mode = NN_NEAREST_ROUND_PREFER_FLOOR;
    else if (!strcmp(nearest, "round_prefer_ceil"))
        p->nearest_mode = NN_NEAREST_ROUND_PREFER_CEIL;
    else if (!strcmp(nearest, "floor"))
        p->nearest_mode = NN_NEAREST_FLOOR;
    else if (!strcmp(nearest, "ceil"))
        p->nearest_mode = NN_NEAREST_CEIL;
    else
        return attr_fail(c, FS_ERR_FORMAT, "nearest_mode", "has an unknown value");
    if ((st = get_int(c, "antialias", 0, &v)))
        return st;
    if (v)
        return attr_fail(c, FS_ERR_UNSUPPORTED, "antialias", "is set (not supported)");
    if (onnx_node_attr(c->node, "axes"))
        return attr_fail(c, FS_ERR_UNSUPPORTED, "axes", "is set (not supported)");
    const char *policy;
    if ((st = get_string(c, "keep_aspect_ratio_policy", "stretch", &policy)))
        return st;
    if (strcmp(policy, "stretch"))
        return attr_fail(c, FS_ERR_UNSUPPORTED, "keep_aspect_ratio_policy", "is not stretch");
    return FS_OK;
}

static nn_dtype cast_target(int64_t to)
{
    switch (to) {
    case 1: case 10: case 11: case 16: return NN_F32;
    case 2: case 3: case 4: case 5: case 6: case 7: case 9: case 12: case 13: return NN_I64;
    default: return NN_DTYPE_NONE;
    }
}

fs_status nn_params_parse(const onnx_node *node, nn_op_kind kind, int64_t opset,
                          const char *model, const char *label, nn_params *p, fs_error *err)
{
    actx c = {node, model, label, err};
    fs_status rc = FS_OK;
    int64_t v;
    memset(p, 0, sizeof *p);
    p->clip_min = -FLT_MAX;
    p->clip_max = FLT_MAX;
    p->alpha = p->beta = 1.0f;
    p->group = 1;
    switch (kind) {
    case NN_OP_CONV:
        if ((rc = parse_window(&c, p, 0)) || (rc = get_int(&c, "group", 1, &p->group)))
            return rc;
        if (p->group < 1 || p->group > NN_MAX_DIM)
            return attr_fail(&c, FS_ERR_FORMAT, "group", "is out of range");
        return FS_OK;
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
        if ((rc = parse_window(&c, p, 1)) || (rc = get_int(&c, "ceil_mode", 0, &v)))
            return rc;
        p->ceil_mode = v != 0;
        if ((rc = get_int(&c, "count_include_pad", 0, &v)))
            return rc;
        p->count_include_pad = v != 0;
        if (kind == NN_OP_MAXPOOL && (rc = get_int(&c, "storage_order", 0, &v)))
            return rc;
        return FS_OK;
    case NN_OP_CLIP:
        if (opset < 11) {
            if ((rc = get_float(&c, "min", -FLT_MAX, &p->clip_min)) ||
                (rc = get_float(&c, "max", FLT_MAX, &p->clip_max)))
                return rc;
        }
        return FS_OK;
    case NN_OP_GEMM:
        if ((rc = get_float(&c, "alpha", 1.0f, &p->alpha)) ||
            (rc = get_float(&c, "beta", 1.0f, &p->beta)) ||
            (rc = get_int(&c, "transA", 0, &v)))
            return rc;
        p->trans_a = v != 0;
        if ((rc = get_int(&c, "transB", 0, &v)))
            return rc;
        p->trans_b = v != 0;
        return FS_OK;
    case NN_OP_BATCHNORM:
        if ((rc = get_float(&c, "epsilon", 1e-5f, &p->epsilon)) ||
            (rc = get_int(&c, "training_mode", 0, &v)))
            return rc;
        if (v)
            return attr_fail(&c, FS_ERR_UNSUPPORTED, "training_mode", "is set");
        return FS_OK;
    case NN_OP_CONCAT: {
        const onnx_attr *a = find(&c, "axis", ONNX_ATTR_INT, &rc);
        if (rc)
            return rc;
        if (!a)
            return attr_fail(&c, FS_ERR_FORMAT, "axis", "is missing");
        p->axis = a->i;
        return FS_OK;
    }
    case NN_OP_SOFTMAX:
        p->softmax_legacy = opset < 13;
        return get_int(&c, "axis", opset < 13 ? 1 : -1, &p->axis);
    case NN_OP_FLATTEN:
        return get_int(&c, "axis", 1, &p->axis);
    case NN_OP_GATHER:
        return get_int(&c, "axis", 0, &p->axis);
    case NN_OP_TRANSPOSE:
        if ((rc = get_ints(&c, "perm", p->ints, &p->n_ints)))
            return rc;
        p->has_ints = p->n_ints >= 0;
        return FS_OK;
    case NN_OP_SQUEEZE:
    case NN_OP_UNSQUEEZE:
        if (opset < 13) {
            if ((rc = get_ints(&c, "axes", p->ints, &p->n_ints)))
                return rc;
            p->has_ints = p->n_ints >= 0;
            if (kind == NN_OP_UNSQUEEZE && !p->has_ints)
                return attr_fail(&c, FS_ERR_FORMAT, "axes", "is missing");
        }
        return FS_OK;
    case NN_OP_RESHAPE:
        if (opset < 5) {
            if ((rc = get_ints(&c, "shape", p->ints, &p->n_ints)))
                return rc;
            if (p->n_ints < 0)
                return attr_fail(&c, FS_ERR_FORMAT, "shape", "is missing");
            p->has_ints = 1;
        } else if (node->n_inputs < 2) {
            return util_fail(err, FS_ERR_FORMAT, "%s: node '%s' (Reshape): needs 2 inputs", model,
                             label);
        }
        if ((rc = get_int(&c, "allowzero", 0, &v)))
            return rc;
        p->allowzero = v != 0;
        return FS_OK;
    case NN_OP_SLICE:
        if (opset < 10) {
            if ((rc = get_ints(&c, "starts", p->ints, &p->n_ints)) ||
                (rc = get_ints(&c, "ends", p->ends, &p->n_ends)) ||
                (rc = get_ints(&c, "axes", p->axes, &p->n_axes)))
                return rc;
            if (p->n_ints < 0 || p->n_ends != p->n_ints)
                return attr_fail(&c, FS_ERR_FORMAT, "starts",
                                 "is missing or does not match ends");
            if (p->n_axes >= 0 && p->n_axes != p->n_ints)
                return attr_fail(&c, FS_ERR_FORMAT, "axes", "does not match starts");
            p->has_ints = 1;
            p->has_axes = p->n_axes >= 0;
        } else if (node->n_inputs < 3) {
            return util_fail(err, FS_ERR_FORMAT, "%s: node '%s' (Slice): needs at least 3 inputs",
                             model, label);
        }
        return FS_OK;
    case NN_OP_RESIZE:
        return parse_resize(&c, p, !strcmp(node->op_type, "Upsample"), opset);
    case NN_OP_SHAPE: {
        if ((rc = get_int(&c, "start", 0, &p->shape_start)))
            return rc;
        const onnx_attr *a = find(&c, "end", ONNX_ATTR_INT, &rc);
        if (rc)
            return rc;
        if (a) {
            p->has_shape_end = 1;
            p->shape_end = a->i;
        }
        return FS_OK;
    }
    case NN_OP_CAST:
        if ((rc = get_int(&c, "to", 0, &v)))
            return rc;
        p->cast_to = cast_target(v);
        if (p->cast_to == NN_DTYPE_NONE)
            return attr_fail(&c, FS_ERR_UNSUPPORTED, "to", "names an unsupported type");
        return FS_OK;
    default:
        return FS_OK;
    }
}
