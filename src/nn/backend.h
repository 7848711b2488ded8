/*
 * backend.h — what the planner (plan.c) asks of a backend, ggml-style: a table of hooks called at
 * fixed points of planning, so that the planner knows no backend's internals. A NULL hook is
 * skipped. The reference backend (backend_ref.c) needs none: the kernels the planner sets by
 * default are its own (nn_ref_kernel). The fast backend (backend_fast.c, fast_layout.c) has all.
 *
 * Planning with a backend, in order:
 *   room        once per plan, before anything is allocated: the storage its rewrite may add;
 *   plan_begin  once, after shapes are resolved: creates the plan's state (e.g. a oneDNN context);
 *   rewrite     once, before buffers are assigned: may fuse steps, choose layouts, add steps;
 *   prepare     per step, after buffers are assigned: may replace the step's kernel;
 *   plan_end    when the plan is freed, after every step's free_state: releases the state.
 */
#ifndef FS_NN_BACKEND_H
#define FS_NN_BACKEND_H

#include "nn/graph.h"
#include "nn/kernel.h"
#include "nn/nn.h"

/* Storage a backend's rewrite may add to a plan beyond the graph's own: values (each with
 * one node and one step) and in/out pointer slots. */
typedef struct nn_plan_room {
    int values;
    size_t io;
} nn_plan_room;

typedef struct nn_backend_ops {
    const char *name;
    /* The room the rewrite needs for a plan of graph g. */
    nn_plan_room (*room)(const nn_graph *g);
    /* Creates the plan's state for `threads` threads at the net's precision into *state (may
     * stay NULL); every step gets it as step->backend before prepare. */
    fs_status (*plan_begin)(int threads, nn_precision precision, void **state, fs_error *err);
    void (*plan_end)(void *state);
    /* Rewrites p->steps (within the room reserved for it; p->backend is the state). */
    fs_status (*rewrite)(nn_plan *p, fs_error *err);
    /* Called for every step that has a kernel, data pointers fixed for the plan's life: may
     * replace step->run (and set state/free_state); FS_OK without touching it keeps the
     * reference kernel. An error fails plan creation. */
    fs_status (*prepare)(nn_step *step, fs_error *err);
} nn_backend_ops;

extern const nn_backend_ops nn_backend_ref_ops;  /* backend_ref.c */
extern const nn_backend_ops nn_backend_fast_ops; /* backend_fast.c */

/* The hooks of a backend kind (never NULL). */
const nn_backend_ops *nn_backend_ops_of(nn_backend_kind kind);

#endif
