/*
 * plan.h — internals shared by net.c (the nn.h API) and plan.c (planning and execution).
 */
#ifndef FS_NN_PLAN_H
#define FS_NN_PLAN_H

#include "nn/graph.h"
#include "nn/nn.h"

struct nn_net {
    nn_graph *graph;
    nn_backend_kind backend;
    int threads; /* resolved: >= 1 */
};

/* Resolves shapes for the input shape, folds what is constant, and (unless dry_run) assigns
 * buffers and kernels. dry_run only checks (used at load time with the declared shape):
 * *out is then left NULL. */
fs_status nn_plan_build(const nn_net *net, const int64_t *shape, int ndim, int dry_run,
                        nn_plan **out, fs_error *err);

#endif
