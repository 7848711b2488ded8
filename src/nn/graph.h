/*
 * graph.h — our graph IR, built from a parsed ONNX model (onnx.h) at load time.
 *
 * Values (tensors) and nodes are referenced by index. Building resolves names, drops everything
 * the requested outputs do not need (dead nodes), orders the live nodes topologically (a cycle is
 * an error), turns Constant nodes into constant values, checks that every live op is supported,
 * folds BatchNormalization into the preceding Conv (or turns it into a per-channel ScaleShift),
 * and fuses Conv+Relu/PRelu/Clip. Shapes are not known here: they are resolved per input shape by
 * the planner (plan.c, shape.c), which also folds the shape-computing chains into constants.
 */
#ifndef FS_NN_GRAPH_H
#define FS_NN_GRAPH_H

#include "nn/arena.h"
#include "nn/onnx.h"
#include "nn/ops.h"
#include "nn/tensor.h"

typedef struct nn_value {
    const char *name;
    int producer;    /* node index; -1 for the graph input and constants; -2: not computed */
    int is_input;    /* the graph's single input */
    int is_const;    /* c holds the data (c.data NULL only when c.count is 0) */
    nn_tensor c;
    int n_consumers; /* uses by live nodes */
    int is_output;   /* one of the network's outputs */
} nn_value;

typedef struct nn_node {
    const char *label;   /* node name, or its first output's name, for messages */
    const char *op_type; /* as in the file */
    nn_op_kind op;
    int n_in, n_out;
    int *in, *out;       /* value indices; -1 for an omitted optional input/output */
    nn_params p;
    int live;
} nn_node;

typedef struct nn_graph {
    nn_arena arena;      /* owns the parsed model, names, constants and folded weights */
    const char *model;   /* model name for messages */
    int64_t opset;
    nn_value *values;    /* malloc'd, grows */
    int n_values;
    size_t cap_values;
    nn_node *nodes;
    int n_nodes;
    int *order;          /* live nodes in topological order */
    int n_order;
    int input;           /* value index of the graph input, -1 if none is needed */
    int input_ndim;
    int64_t input_dims[NN_MAX_DIMS]; /* as declared; 0 = symbolic */
    int *outputs;
    int n_outputs;
} nn_graph;

/* Parses data (not retained) and builds the graph. outputs/n_outputs: names of the tensors to use
 * as outputs, or NULL for the file's graph outputs. name is the model's name in messages.
 * On success *out owns everything; release with nn_graph_free. On failure *out is NULL. */
fs_status nn_graph_build(const void *data, size_t size, const char *name,
                         const char *const *outputs, size_t n_outputs, nn_graph **out,
                         fs_error *err);
void nn_graph_free(nn_graph *g);

#endif
