/*
 * plan.c — planning a network for one input shape and running the plan.
 *
 * Planning walks the live nodes in topological order: shape inference (shape.c), then either
 * constant folding (every input constant, or a Shape op: the node runs once, now, with the
 * reference kernel and its output becomes a plan constant) or scheduling as a step. Steps that
 * only reshape (Reshape, Flatten, Squeeze, Unsqueeze, Identity) alias their input's buffer.
 * The backend's rewrite hook (backend.h; the fast backend's layout pass) then rewrites the steps:
 * residual Adds fused into convs, blocked layouts, conversion steps. Buffers are then assigned by
 * liveness over the steps' tensors (a buffer is reused once every reader of its previous tensor
 * has run; a blocked tensor gets its padded size; a conv with a fused residual may write over the
 * residual) and allocated once; the kernels are chosen (reference, then the backend's prepare
 * hook).
 * Running is a loop over the steps: no allocation, no shape work.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/fpenv.h"
#include "nn/kernel.h"
#include "nn/plan.h"
#include "util/big_alloc.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/grow.h"

/* Folding a node whose output is larger than this is left to run time. */
#define FOLD_MAX_ELEMENTS ((int64_t)1 << 24)

static int own(nn_plan *p, void *mem)
{
    void **grown = util_grow(p->owned, &p->cap_owned, (size_t)p->n_owned + 1, sizeof *grown, 32);
    if (!grown)
        return -1;
    p->owned = grown;
    p->owned[p->n_owned++] = mem;
    return 0;
}

static void *alloc_owned(nn_plan *p, size_t size)
{
    size = (size + 63) / 64 * 64;
    void *m = util_big_alloc(size);
    if (m && own(p, m) != 0) {
        free(m);
        return NULL;
    }
    if (m)
        p->bytes += size;
    return m;
}

void nn_plan_free(nn_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_steps; i++)
        if (p->steps[i].free_state)
            p->steps[i].free_state(p->steps[i].state);
    if (p->has_backend && p->ops->plan_end)
        p->ops->plan_end(p->backend);
    for (int i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    free(p->owned);
    free(p->steps);
    free(p->io);
    free(p->extra_nodes);
    free(p->vals);
    free(p->is_const);
    free(p);
}

static int is_alias_op(nn_op_kind op)
{
    return op == NN_OP_RESHAPE || op == NN_OP_FLATTEN || op == NN_OP_SQUEEZE ||
           op == NN_OP_UNSQUEEZE || op == NN_OP_IDENTITY;
}

/* Value index of a tensor pointer of the plan (steps point into p->vals). */
static int val_index(const nn_plan *p, const nn_tensor *t)
{
    return (int)(t - p->vals);
}

/* Working state of buffer assignment. Per value: the value whose buffer it shares (itself, or
 * the input of the reshaping steps it comes from), the last step that touches it, its buffer.
 * Per step: whether its output is an alias. Per buffer: its size and the step after which it is
 * free. */
typedef struct buffer_plan {
    int *root, *last, *buf_of;
    int *alias;
    size_t *bsize;
    int *bfree;
    int nb;
} buffer_plan;

/* Aliases: the output of a reshaping step shares its input's root. */
static void find_aliases(const nn_plan *p, buffer_plan *b)
{
    for (int i = 0; i < p->n_steps; i++) {
        const nn_step *s = &p->steps[i];
        if (!is_alias_op(s->node->op) || s->to_plain || !s->in[0] || !s->out[0])
            continue;
        int in = val_index(p, s->in[0]), out = val_index(p, s->out[0]);
        if (!p->is_const[in] &&
            !p->vals[in].blocked && !p->vals[out].blocked &&
            p->vals[in].dtype == p->vals[out].dtype) {
            b->root[out] = b->root[in];
            b->alias[i] = 1;
        }
    }
}

/* Liveness: the last step reading or writing each root; outputs live until the next run. */
static void find_last_uses(const nn_plan *p, const nn_graph *g, buffer_plan *b)
{
    int *root = b->root, *last = b->last;
    for (int i = 0; i < p->n_steps; i++) {
        const nn_step *s = &p->steps[i];
        for (int j = 0; j < s->n_in; j++) {
            if (!s->in[j])
                continue;
            int v = val_index(p, s->in[j]);
            if (!p->is_const[v] && last[root[v]] < i)
                last[root[v]] = i;
        }
        for (int j = 0; j < s->n_out; j++) { /* written: live at least through this step */
            if (!s->out[j])
                continue;
            int v = val_index(p, s->out[j]);
            if (last[root[v]] < i)
                last[root[v]] = i;
        }
    }
    for (int k = 0; k < g->n_outputs; k++)
        last[root[g->outputs[k]]] = p->n_steps; /* outputs stay until the next run */
    if (p->input >= 0 && last[p->input] < 0)
        last[p->input] = 0;
}

/* The buffer for value v, the d-th value defined by step i (s; NULL for the input, i = -1),
 * needing `need` bytes: the residual's buffer for a fused conv when it can be overwritten, else
 * the smallest free buffer that fits, else the largest free one (grown), else a new one. */
static int pick_buffer(const nn_plan *p, buffer_plan *b, const nn_step *s, int i, int d,
                       size_t need)
{
    int best = -1;
    if (d == 0 && s && s->residual) {
        /* in place on the residual when nothing reads it later and it is not the conv's source
         * (oneDNN's dst must not overlap src) */
        int r = b->root[val_index(p, s->residual)], x = b->root[val_index(p, s->in[0])];
        if (r != x && b->last[r] == i && r != p->input && b->buf_of[r] >= 0 &&
            b->bsize[b->buf_of[r]] >= need)
            return b->buf_of[r];
    }
    const size_t *bsize = b->bsize;
    for (int k = 0; k < b->nb; k++) {
        if (b->bfree[k] >= i)
            continue;
        if (best < 0 ||
            (bsize[k] >= need ? (bsize[best] < need || bsize[k] < bsize[best])
                              : (bsize[best] < need && bsize[k] > bsize[best])))
            best = k;
    }
    if (best < 0) {
        best = b->nb++;
        b->bsize[best] = 0;
    }
    return best;
}

/* Greedy in definition order: the input (before step 0), then each step's outputs. */
static void place_values(const nn_plan *p, buffer_plan *b)
{
    for (int i = -1; i < p->n_steps; i++) {
        int defs[1 + 8], nd = 0;
        const nn_step *s = i >= 0 ? &p->steps[i] : NULL;
        if (i < 0) {
            if (p->input >= 0 && !p->is_const[p->input])
                defs[nd++] = p->input;
        } else if (!b->alias[i]) {
            assert(s->n_out <= 8); /* no op of the graph has more outputs */
            for (int j = 0; j < s->n_out && nd < 8; j++)
                if (s->out[j])
                    defs[nd++] = val_index(p, s->out[j]);
        }
        for (int d = 0; d < nd; d++) {
            int v = defs[d];
            size_t need = (size_t)nn_tensor_elements(&p->vals[v]) * nn_dtype_size(p->vals[v].dtype);
            if (need == 0)
                need = 1;
            int best = pick_buffer(p, b, s, i, d, need);
            assert(best >= 0 && best <= p->n_vals);
            if (b->bsize[best] < need)
                b->bsize[best] = need;
            b->bfree[best] = b->last[v] < 0 ? i : b->last[v];
            b->buf_of[v] = best;
        }
    }
}

/* Allocates the buffers (within NN_MAX_PLAN_BYTES) and points every non-constant value at its
 * own; alias steps are left with nothing to run. */
static fs_status allocate_buffers(nn_plan *p, const nn_graph *g, buffer_plan *b, fs_error *err)
{
    size_t total = 0;
    for (int k = 0; k < b->nb; k++) {
        b->bsize[k] = (b->bsize[k] + 63) / 64 * 64;
        total += b->bsize[k];
        if (total > NN_MAX_PLAN_BYTES)
            return util_fail(err, FS_ERR_LIMIT, "%s: the plan needs more than %zu MiB of buffers",
                             g->model, NN_MAX_PLAN_BYTES >> 20);
    }
    void **ptr = calloc((size_t)b->nb + 1, sizeof *ptr);
    if (!ptr)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory while planning", g->model);
    for (int k = 0; k < b->nb; k++) {
        ptr[k] = alloc_owned(p, b->bsize[k]);
        if (!ptr[k]) {
            free(ptr);
            return util_fail(err, FS_ERR_NOMEM, "%s: out of memory allocating %zu bytes of buffers",
                             g->model, total);
        }
    }
    for (int v = 0; v < p->n_vals; v++)
        if (!p->is_const[v] && b->buf_of[b->root[v]] >= 0)
            p->vals[v].data = ptr[b->buf_of[b->root[v]]];
    free(ptr);
    for (int i = 0; i < p->n_steps; i++)
        if (b->alias[i])
            p->steps[i].run = NULL; /* nothing to do: the data is already in place */
    return FS_OK;
}

/* Assigns a buffer to every non-constant tensor by liveness and allocates the buffers. Liveness
 * comes from the steps' in/out tensors (the layout pass may have rewired them). A blocked tensor
 * gets room for its padded channels. A Conv with a fused residual writes into the residual's
 * buffer when the residual is read by nothing later (the in-place Sum oneDNN does best). */
static fs_status assign_buffers(nn_plan *p, const nn_graph *g, fs_error *err)
{
    int nv = p->n_vals, ns = p->n_steps;
    buffer_plan b = {
        .root = malloc((size_t)nv * sizeof *b.root),
        .last = malloc((size_t)nv * sizeof *b.last),
        .buf_of = malloc((size_t)nv * sizeof *b.buf_of),
        .alias = calloc((size_t)ns + 1, sizeof *b.alias),
        .bsize = malloc(((size_t)nv + 1) * sizeof *b.bsize),
        .bfree = malloc(((size_t)nv + 1) * sizeof *b.bfree),
    };
    fs_status rc = FS_OK;
    if (!b.root || !b.last || !b.buf_of || !b.alias || !b.bsize || !b.bfree) {
        rc = util_fail(err, FS_ERR_NOMEM, "%s: out of memory while planning", g->model);
    } else {
        for (int v = 0; v < nv; v++) {
            b.root[v] = v;
            b.last[v] = -1;
            b.buf_of[v] = -1;
        }
        find_aliases(p, &b);
        find_last_uses(p, g, &b);
        place_values(p, &b);
        rc = allocate_buffers(p, g, &b, err);
    }
    free(b.root);
    free(b.last);
    free(b.buf_of);
    free(b.alias);
    free(b.bsize);
    free(b.bfree);
    return rc;
}

/* Runs node n now (all inputs known constants) and makes its outputs plan constants. */
static fs_status fold(nn_plan *p, const nn_graph *g, const nn_node *n, nn_tensor **in,
                      nn_tensor **out, fs_error *err)
{
    for (int j = 0; j < n->n_out; j++) {
        if (!out[j])
            continue;
        void *m = alloc_owned(p, (size_t)out[j]->count * nn_dtype_size(out[j]->dtype));
        if (!m)
            return util_fail(err, FS_ERR_NOMEM, "%s: out of memory while folding", g->model);
        out[j]->data = m;
        p->is_const[n->out[j]] = 1;
    }
    nn_step s = {.node = n, .model = g->model, .n_in = n->n_in, .n_out = n->n_out, .in = in,
                 .out = out, .run = nn_ref_kernel(n->op), .threads = 1};
    return s.run(&s, err);
}

/* An empty plan for net, with room for the graph's values, nodes and io plus what the backend's
 * rewrite asks for (its room hook). */
static fs_status plan_alloc(const nn_net *net, nn_plan **out, fs_error *err)
{
    const nn_graph *g = net->graph;
    nn_plan *p = calloc(1, sizeof *p);
    *out = p;
    if (!p)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    p->net = net;
    p->ops = nn_backend_ops_of(net->backend);
    p->input = g->input;
    nn_plan_room room = {0, 0};
    if (p->ops->room)
        room = p->ops->room(g);
    p->n_vals = g->n_values;
    p->cap_vals = g->n_values + room.values;
    p->vals = calloc((size_t)p->cap_vals + 1, sizeof *p->vals);
    p->is_const = calloc((size_t)p->cap_vals + 1, 1);
    p->cap_steps = g->n_order + room.values;
    p->steps = calloc((size_t)p->cap_steps + 1, sizeof *p->steps);
    size_t n_io = 0;
    for (int k = 0; k < g->n_order; k++)
        n_io += (size_t)g->nodes[g->order[k]].n_in + (size_t)g->nodes[g->order[k]].n_out;
    p->cap_io = n_io + room.io;
    p->io = calloc(p->cap_io + 1, sizeof *p->io);
    p->extra_nodes = calloc((size_t)room.values + 1, sizeof *p->extra_nodes);
    if (!p->vals || !p->is_const || !p->steps || !p->io || !p->extra_nodes)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    return FS_OK;
}

/* The graph's constants and the input's shape into the plan's values. */
static fs_status set_values(nn_plan *p, const nn_graph *g, const int64_t *shape, int ndim,
                            fs_error *err)
{
    fs_status rc = FS_OK;
    for (int v = 0; v < g->n_values; v++) {
        if (g->values[v].is_const) {
            p->vals[v] = g->values[v].c;
            p->is_const[v] = 1;
        }
    }
    nn_tensor *x = &p->vals[g->input];
    x->dtype = NN_F32;
    x->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            rc = util_fail(err, FS_ERR_ARG, "%s: input dimension %d is %lld", g->model, i,
                           (long long)shape[i]);
        x->dims[i] = shape[i];
    }
    if (rc)
        return rc;
    if (nn_dims_count(x->dims, ndim, &x->count) != 0)
        return util_fail(err, FS_ERR_LIMIT, "%s: the input shape is too large", g->model);
    return FS_OK;
}

/* Every live node in order: shapes resolved, then folded into a constant (all inputs constant,
 * or a Shape op) or made a step on the reference kernel. */
static fs_status schedule_nodes(nn_plan *p, const nn_graph *g, fs_error *err)
{
    nn_tensor **io = p->io;
    fs_status rc;
    for (int k = 0; k < g->n_order; k++) {
        const nn_node *n = &g->nodes[g->order[k]];
        nn_tensor **in = io, **outs = io + n->n_in;
        io += n->n_in + n->n_out;
        p->n_io += (size_t)n->n_in + (size_t)n->n_out;
        int all_const = 1;
        for (int j = 0; j < n->n_in; j++) {
            in[j] = n->in[j] >= 0 ? &p->vals[n->in[j]] : NULL;
            if (in[j] && !p->is_const[n->in[j]])
                all_const = 0;
        }
        for (int j = 0; j < n->n_out; j++)
            outs[j] = n->out[j] >= 0 ? &p->vals[n->out[j]] : NULL;
        if ((rc = nn_infer(g->model, n, in, outs, err)))
            return rc;
        if ((all_const || n->op == NN_OP_SHAPE) && outs[0]->count <= FOLD_MAX_ELEMENTS) {
            if ((rc = fold(p, g, n, in, outs, err)))
                return rc;
            continue;
        }
        nn_step *s = &p->steps[p->n_steps++];
        s->node = n;
        s->model = g->model;
        s->n_in = n->n_in;
        s->n_out = n->n_out;
        s->in = in;
        s->out = outs;
        s->threads = p->threads;
        s->run = nn_ref_kernel(n->op);
    }
    for (int k = 0; k < g->n_outputs; k++) {
        const nn_value *v = &g->values[g->outputs[k]];
        if (p->vals[g->outputs[k]].dtype != NN_F32)
            return util_fail(err, FS_ERR_UNSUPPORTED, "%s: output '%s' is not a float tensor",
                             g->model, v->name);
    }
    return FS_OK;
}

/* The input can be read where the caller has it unless a reshaping alias shares its buffer (the
 * alias's data pointer is fixed) or it is an output (returned after the run). */
static int input_is_direct(const nn_plan *p, const nn_graph *g)
{
    if (p->input < 0 || p->is_const[p->input])
        return 0;
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == p->input)
            return 0;
    for (int i = 0; i < p->n_steps; i++)
        if (!p->steps[i].run && p->steps[i].in[0] == &p->vals[p->input])
            return 0;
    return 1;
}

/* The backend's rewrite of the steps (after creating its plan state). */
static fs_status backend_rewrite(nn_plan *p, fs_error *err)
{
    fs_status rc;
    if (p->ops->plan_begin) {
        if ((rc = p->ops->plan_begin(p->threads, p->net->precision, &p->backend, err)))
            return rc;
        p->has_backend = 1;
    }
    return p->ops->rewrite ? p->ops->rewrite(p, err) : FS_OK;
}

/* The backend's kernels for the steps that have one to run. */
static fs_status backend_prepare(nn_plan *p, fs_error *err)
{
    fs_status rc;
    if (!p->ops->prepare)
        return FS_OK;
    for (int i = 0; i < p->n_steps; i++) {
        p->steps[i].backend = p->backend;
        if (p->steps[i].run && (rc = p->ops->prepare(&p->steps[i], err)))
            return rc;
    }
    return FS_OK;
}

fs_status nn_plan_build(const nn_net *net, const int64_t *shape, int ndim, int threads,
                        int dry_run, nn_plan **out, fs_error *err)
{
    const nn_graph *g = net->graph;
    *out = NULL;
    if (!shape || ndim < 1 || ndim > NN_MAX_DIMS)
        return util_fail(err, FS_ERR_ARG, "%s: input shape must have 1 to %d dims", g->model,
                         NN_MAX_DIMS);
    if (g->input_ndim > 0 && ndim != g->input_ndim)
        return util_fail(err, FS_ERR_ARG, "%s: input '%s' has %d dims, not %d", g->model,
                         g->values[g->input].name, g->input_ndim, ndim);
    nn_plan *p;
    fs_status rc;
    assert(threads >= 1);
    if ((rc = plan_alloc(net, &p, err)))
        goto fail;
    p->threads = threads;
    if ((rc = set_values(p, g, shape, ndim, err)) || (rc = schedule_nodes(p, g, err)))
        goto fail;
    if (dry_run) {
        nn_plan_free(p);
        return FS_OK;
    }
    if ((rc = backend_rewrite(p, err)) || (rc = assign_buffers(p, g, err)))
        goto fail;
    p->input_direct = input_is_direct(p, g);
    if ((rc = backend_prepare(p, err)))
        goto fail;
    *out = p;
    return FS_OK;
fail:
    nn_plan_free(p);
    return rc;
}

fs_status nn_plan_create(nn_net *net, const int64_t *input_shape, int ndim, int threads,
                         nn_plan **out, fs_error *err)
{
    if (!out)
        return util_fail(err, FS_ERR_ARG, "nn_plan_create: out is NULL");
    *out = NULL;
    if (!net)
        return util_fail(err, FS_ERR_ARG, "nn_plan_create: net is NULL");
    return nn_plan_build(net, input_shape, ndim, threads > 0 ? threads : net->threads, 0, out,
                         err);
}

/* Runs every step; with ms not NULL, adds each step's milliseconds to ms[step]. */
static fs_status run_steps(nn_plan *p, const float *input, double *ms, fs_error *err)
{
    void *own_buffer = NULL;
    if (p->input_direct) {
        /* kernels only read the input (never in place, never blocked): use the caller's copy */
        own_buffer = p->vals[p->input].data;
        p->vals[p->input].data = (void *)(uintptr_t)input;
    } else if (p->input >= 0 && p->vals[p->input].data) {
        memcpy(p->vals[p->input].data, input, (size_t)p->vals[p->input].count * sizeof(float));
    }
    fs_status rc = FS_OK;
    nn_fpenv fpenv;
    nn_fpenv_enter(&fpenv, p->threads);
    for (int i = 0; i < p->n_steps && !rc; i++) {
        nn_step *s = &p->steps[i];
        if (!s->run)
            continue;
        double t0 = ms ? (util_now() * 1e3) : 0;
        rc = s->run(s, err);
        if (ms)
            ms[i] += (util_now() * 1e3) - t0;
    }
    nn_fpenv_leave(&fpenv);
    if (p->input_direct)
        p->vals[p->input].data = own_buffer;
    return rc;
}

fs_status nn_plan_run(nn_plan *p, const float *input, fs_error *err)
{
    if (!p || !input)
        return util_fail(err, FS_ERR_ARG, "nn_plan_run: plan or input is NULL");
    return run_steps(p, input, NULL, err);
}

const float *nn_plan_output(const nn_plan *p, size_t i, int64_t shape[NN_MAX_DIMS], int *ndim)
{
    const nn_graph *g = p->net->graph;
    if (i >= (size_t)g->n_outputs)
        return NULL;
    const nn_tensor *t = &p->vals[g->outputs[i]];
    if (shape)
        for (int k = 0; k < t->ndim; k++)
            shape[k] = t->dims[k];
    if (ndim)
        *ndim = t->ndim;
    return t->data;
}

size_t nn_plan_memory(const nn_plan *p)
{
    return p ? p->bytes : 0;
}

int nn_plan_step_count(const nn_plan *p)
{
    return p ? p->n_steps : 0;
}

const nn_step *nn_plan_step(const nn_plan *p, int i)
{
    return p && i >= 0 && i < p->n_steps ? &p->steps[i] : NULL;
}

fs_status nn_plan_run_profiled(nn_plan *p, const float *input, double *ms, fs_error *err)
{
    if (!p || !input || !ms)
        return util_fail(err, FS_ERR_ARG, "nn_plan_run_profiled: plan, input or ms is NULL");
    return run_steps(p, input, ms, err);
}
