/*
 * plan.h — internals shared by net.c (the nn.h API) and plan.c (planning and execution).
 */
#ifndef FS_NN_PLAN_H
#define FS_NN_PLAN_H

#include "nn/backend.h"
#include "nn/graph.h"
#include "nn/kernel.h"
#include "nn/nn.h"

struct nn_net {
    nn_graph *graph;
    nn_backend_kind backend;
    nn_precision precision;
    int threads; /* default for its plans, resolved: >= 1 */
};

/* A plan (plan.c). Steps refer to tensors by pointer into vals; vals never moves after the steps
 * are made (it is allocated with the backend's room, backend.h). */
struct nn_plan {
    const nn_net *net;
    int threads;          /* threads of one run (>= 1) */
    nn_tensor *vals;      /* per value: shape and data; the graph's n_values first, then values
                           * the backend's rewrite adds (e.g. dense copies of blocked tensors) */
    int n_vals, cap_vals;
    unsigned char *is_const;
    nn_step *steps;
    int n_steps, cap_steps;
    nn_tensor **io;       /* storage for the steps' in/out pointer arrays */
    size_t n_io, cap_io;
    nn_node *extra_nodes; /* nodes of the steps the backend's rewrite adds (room.values) */
    int n_extra;
    void **owned;         /* folded constants and buffers, freed with the plan */
    int n_owned;
    size_t cap_owned;
    size_t bytes;         /* total of owned allocations (nn_plan_memory) */
    int input;            /* value index of the input; its buffer gets the caller's data */
    int input_direct;     /* steps read the caller's input in place (no copy): nothing aliases
                           * or caches the input's buffer and it is not an output */
    const nn_backend_ops *ops; /* the net's backend */
    void *backend;        /* its plan state (ops->plan_begin) */
    int has_backend;      /* plan_begin succeeded: plan_end is due */
};

/* Resolves shapes for the input shape, folds what is constant, and (unless dry_run) assigns
 * buffers and kernels for runs on threads threads (>= 1). dry_run only checks (used at load time
 * with the declared shape): *out is then left NULL. */
fs_status nn_plan_build(const nn_net *net, const int64_t *shape, int ndim, int threads,
                        int dry_run, nn_plan **out, fs_error *err);

/* ---- introspection, for bench/nn_profile and tests ------------------------------------------ */

/* Number of steps of a plan (folded nodes are not steps). */
int nn_plan_step_count(const nn_plan *p);
/* Step i (0 <= i < nn_plan_step_count) or NULL. */
const struct nn_step *nn_plan_step(const nn_plan *p, int i);
/* Runs the plan like nn_plan_run and adds each step's wall time (ms) into ms[i]. */
fs_status nn_plan_run_profiled(nn_plan *p, const float *input, double *ms, fs_error *err);

#endif
