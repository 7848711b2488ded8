/*
 * onnx.h — the parsed form of an ONNX file (ModelProto), as plain structs in an arena.
 *
 * onnx_parse reads the protobuf with protobuf.c, checks every length and count, converts tensor
 * data to the runtime's two element types (float32, int64; see tensor.h) and copies it out of the
 * caller's buffer. Subgraph attributes (If/Loop bodies) are recorded as present but not parsed:
 * no op we run uses them.
 */
#ifndef FS_NN_ONNX_H
#define FS_NN_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch.h"
#include "nn/arena.h"
#include "nn/tensor.h"

/* AttributeProto.AttributeType */
enum {
    ONNX_ATTR_UNDEFINED = 0, ONNX_ATTR_FLOAT = 1, ONNX_ATTR_INT = 2, ONNX_ATTR_STRING = 3,
    ONNX_ATTR_TENSOR = 4, ONNX_ATTR_GRAPH = 5, ONNX_ATTR_FLOATS = 6, ONNX_ATTR_INTS = 7,
    ONNX_ATTR_STRINGS = 8, ONNX_ATTR_TENSORS = 9, ONNX_ATTR_GRAPHS = 10,
    ONNX_ATTR_SPARSE_TENSOR = 11, ONNX_ATTR_SPARSE_TENSORS = 12, ONNX_ATTR_TYPE_PROTO = 13,
    ONNX_ATTR_TYPE_PROTOS = 14
};

typedef struct onnx_tensor {
    const char *name;
    int onnx_type;  /* TensorProto.DataType as in the file */
    nn_tensor t;    /* converted data (t.data in the arena; NULL when count is 0) */
} onnx_tensor;

typedef struct onnx_attr {
    const char *name;
    int type;             /* ONNX_ATTR_*; inferred from the fields present when the file omits it */
    float f;
    int64_t i;
    const char *s;        /* NUL-terminated copy */
    size_t s_len;
    onnx_tensor *t;
    float *floats;
    size_t n_floats;
    int64_t *ints;
    size_t n_ints;
    char **strings;
    size_t n_strings;
    onnx_tensor *tensors;
    size_t n_tensors;
    size_t n_graphs;      /* subgraphs present (g or graphs), not parsed */
} onnx_attr;

typedef struct onnx_node {
    const char *name, *op_type, *domain;
    char **inputs;        /* "" marks an omitted optional input */
    size_t n_inputs;
    char **outputs;
    size_t n_outputs;
    onnx_attr *attrs;
    size_t n_attrs;
} onnx_node;

typedef struct onnx_value_info {
    const char *name;
    int elem_type;             /* 0 when absent */
    int ndim;                  /* -1 when the shape is absent */
    int64_t dims[NN_MAX_DIMS]; /* 0 for a symbolic or unknown dimension */
} onnx_value_info;

typedef struct onnx_graph {
    onnx_node *nodes;
    size_t n_nodes;
    onnx_tensor *initializers;
    size_t n_initializers;
    onnx_value_info *inputs;
    size_t n_inputs;
    onnx_value_info *outputs;
    size_t n_outputs;
} onnx_graph;

typedef struct onnx_model {
    int64_t ir_version;
    int64_t opset;       /* version of the default ("" / "ai.onnx") domain */
    onnx_graph graph;
} onnx_model;

/* Parses an ONNX model from data[0..size). name is used in error messages ("NAME: what is wrong").
 * Everything is allocated in arena (freed with it, also on failure); data is not retained. */
fs_status onnx_parse(const void *data, size_t size, const char *name, nn_arena *arena,
                     onnx_model *out, fs_error *err);

/* The attribute called name, or NULL. */
const onnx_attr *onnx_node_attr(const onnx_node *node, const char *name);

#endif
