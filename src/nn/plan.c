/*
 * plan.c — planning a network for one input shape and running the plan.
 *
 * Planning walks the live nodes in topological order: shape inference (shape.c), then either
 * constant folding (every input constant, or a Shape op: the node runs once, now, with the
 * reference kernel and its output becomes a plan constant) or scheduling as a step. Steps that
 * only reshape (Reshape, Flatten, Squeeze, Unsqueeze, Identity) alias their input's buffer.
 * Buffers are then assigned by liveness (a buffer is reused once every reader of its previous
 * tensor has run) and allocated once; the kernels are chosen (reference, then the fast backend's
 * hook). Running is a loop over the steps: no allocation, no shape work.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/kernel.h"
#include "nn/plan.h"
#include "util/error.h"

/* Folding a node whose output is larger than this is left to run time. */
#define FOLD_MAX_ELEMENTS ((int64_t)1 << 24)

struct nn_plan {
    const nn_net *net;
    nn_tensor *vals;      /* per graph value: shape and data */
    unsigned char *is_const;
    nn_step *steps;
    int n_steps;
    nn_tensor **io;       /* storage for the steps' in/out pointer arrays */
    void **owned;         /* folded constants and buffers, freed with the plan */
    int n_owned, cap_owned;
    size_t bytes;         /* total of owned allocations (nn_plan_memory) */
    int input;            /* value index of the input; its buffer gets the caller's data */
    void *backend;        /* the fast backend's plan state (nn_fast_plan_begin) */
    int has_backend;
};

static int own(nn_plan *p, void *mem)
{
    if (p->n_owned == p->cap_owned) {
        int cap = p->cap_owned ? p->cap_owned * 2 : 32;
        void **o = realloc(p->owned, (size_t)cap * sizeof *o);
        if (!o)
            return -1;
        p->owned = o;
        p->cap_owned = cap;
    }
    p->owned[p->n_owned++] = mem;
    return 0;
}

static void *alloc_owned(nn_plan *p, size_t size)
{
    size = (size + 63) / 64 * 64;
    void *m = aligned_alloc(64, size ? size : 64);
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
    if (p->has_backend)
        nn_fast_plan_end(p->backend);
    for (int i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    free(p->owned);
    free(p->steps);
    free(p->io);
    free(p->vals);
    free(p->is_const);
    free(p);
}

static int is_alias_op(nn_op_kind op)
{
    return op == NN_OP_RESHAPE || op == NN_OP_FLATTEN || op == NN_OP_SQUEEZE ||
           op == NN_OP_UNSQUEEZE || op == NN_OP_IDENTITY;
}

/* Assigns a buffer to every non-constant tensor by liveness and allocates the buffers. */
static fs_status assign_buffers(nn_plan *p, const nn_graph *g, fs_error *err)
{
    int nv = g->n_values, ns = p->n_steps;
    int *root = malloc((size_t)nv * sizeof *root);
    int *last = malloc((size_t)nv * sizeof *last);
    int *buf_of = malloc((size_t)nv * sizeof *buf_of);
    int *alias = calloc((size_t)ns + 1, sizeof *alias);
    /* buffers: size and the step after which they are free */
    size_t *bsize = malloc(((size_t)nv + 1) * sizeof *bsize);
    int *bfree = malloc(((size_t)nv + 1) * sizeof *bfree);
    int nb = 0;
    fs_status st = FS_OK;
    if (!root || !last || !buf_of || !alias || !bsize || !bfree) {
        st = fs_fail(err, FS_ERR_NOMEM, "%s: out of memory while planning", g->model);
        goto done;
    }
    for (int v = 0; v < nv; v++) {
        root[v] = v;
        last[v] = -1;
        buf_of[v] = -1;
    }
    /* aliases: the output of a reshaping step shares its input's root */
    for (int i = 0; i < ns; i++) {
        nn_step *s = &p->steps[i];
        int in = s->node->in[0], out = s->node->out[0];
        if (is_alias_op(s->node->op) && !p->is_const[in] &&
            p->vals[in].dtype == p->vals[out].dtype) {
            root[out] = root[in];
            alias[i] = 1;
        }
    }
    for (int i = 0; i < ns; i++) {
        const nn_node *n = p->steps[i].node;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && !p->is_const[n->in[j]] && last[root[n->in[j]]] < i)
                last[root[n->in[j]]] = i;
        for (int j = 0; j < n->n_out; j++) /* written: live at least through this step */
            if (n->out[j] >= 0 && last[root[n->out[j]]] < i)
                last[root[n->out[j]]] = i;
    }
    for (int k = 0; k < g->n_outputs; k++)
        last[root[g->outputs[k]]] = ns; /* outputs stay until the next run */
    if (p->input >= 0 && last[p->input] < 0)
        last[p->input] = 0;
    /* greedy in definition order: the input (before step 0), then each step's outputs */
    size_t total = 0;
    for (int i = -1; i < ns; i++) {
        int defs[1 + 8], nd = 0;
        if (i < 0) {
            if (p->input >= 0 && !p->is_const[p->input])
                defs[nd++] = p->input;
        } else if (!alias[i]) {
            const nn_node *n = p->steps[i].node;
            for (int j = 0; j < n->n_out && nd < 8; j++)
                if (n->out[j] >= 0)
                    defs[nd++] = n->out[j];
        }
        for (int d = 0; d < nd; d++) {
            int v = defs[d];
            size_t need = (size_t)p->vals[v].count * nn_dtype_size(p->vals[v].dtype);
            if (need == 0)
                need = 1;
            int best = -1;
            for (int b = 0; b < nb; b++) {
                if (bfree[b] >= i)
                    continue;
                if (best < 0 ||
                    (bsize[b] >= need ? (bsize[best] < need || bsize[b] < bsize[best])
                                      : (bsize[best] < need && bsize[b] > bsize[best])))
                    best = b;
            }
            if (best < 0) {
                best = nb++;
                bsize[best] = 0;
            }
            if (bsize[best] < need)
                bsize[best] = need;
            bfree[best] = last[v] < 0 ? i : last[v];
            buf_of[v] = best;
        }
    }
    for (int b = 0; b < nb; b++) {
        bsize[b] = (bsize[b] + 63) / 64 * 64;
        total += bsize[b];
        if (total > NN_MAX_PLAN_BYTES) {
            st = fs_fail(err, FS_ERR_LIMIT, "%s: the plan needs more than %zu MiB of buffers",
                         g->model, NN_MAX_PLAN_BYTES >> 20);
            goto done;
        }
    }
    void **ptr = calloc((size_t)nb + 1, sizeof *ptr);
    if (!ptr) {
        st = fs_fail(err, FS_ERR_NOMEM, "%s: out of memory while planning", g->model);
        goto done;
    }
    for (int b = 0; b < nb; b++) {
        ptr[b] = alloc_owned(p, bsize[b]);
        if (!ptr[b]) {
            free(ptr);
            st = fs_fail(err, FS_ERR_NOMEM, "%s: out of memory allocating %zu bytes of buffers",
                         g->model, total);
            goto done;
        }
    }
    for (int v = 0; v < nv; v++)
        if (!p->is_const[v] && buf_of[root[v]] >= 0)
            p->vals[v].data = ptr[buf_of[root[v]]];
    free(ptr);
    for (int i = 0; i < ns; i++)
        if (alias[i])
            p->steps[i].run = NULL; /* nothing to do: the data is already in place */
done:
    free(root);
    free(last);
    free(buf_of);
    free(alias);
    free(bsize);
    free(bfree);
    return st;
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
            return fs_fail(err, FS_ERR_NOMEM, "%s: out of memory while folding", g->model);
        out[j]->data = m;
        p->is_const[n->out[j]] = 1;
    }
    nn_step s = {.node = n, .model = g->model, .n_in = n->n_in, .n_out = n->n_out, .in = in,
                 .out = out, .run = nn_ref_kernel(n->op), .threads = 1};
    return s.run(&s, err);
}

fs_status nn_plan_build(const nn_net *net, const int64_t *shape, int ndim, int dry_run,
                        nn_plan **out, fs_error *err)
{
    const nn_graph *g = net->graph;
    *out = NULL;
    if (!shape || ndim < 1 || ndim > NN_MAX_DIMS)
        return fs_fail(err, FS_ERR_ARG, "%s: input shape must have 1 to %d dims", g->model,
                       NN_MAX_DIMS);
    if (g->input_ndim > 0 && ndim != g->input_ndim)
        return fs_fail(err, FS_ERR_ARG, "%s: input '%s' has %d dims, not %d", g->model,
                       g->values[g->input].name, g->input_ndim, ndim);
    nn_plan *p = calloc(1, sizeof *p);
    if (!p)
        return fs_fail(err, FS_ERR_NOMEM, "out of memory");
    p->net = net;
    p->input = g->input;
    fs_status st = FS_OK;
    p->vals = calloc((size_t)g->n_values, sizeof *p->vals);
    p->is_const = calloc((size_t)g->n_values, 1);
    p->steps = calloc((size_t)g->n_order + 1, sizeof *p->steps);
    size_t n_io = 0;
    for (int k = 0; k < g->n_order; k++)
        n_io += (size_t)g->nodes[g->order[k]].n_in + (size_t)g->nodes[g->order[k]].n_out;
    p->io = calloc(n_io + 1, sizeof *p->io);
    if (!p->vals || !p->is_const || !p->steps || !p->io) {
        st = fs_fail(err, FS_ERR_NOMEM, "out of memory");
        goto fail;
    }
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
            st = fs_fail(err, FS_ERR_ARG, "%s: input dimension %d is %lld", g->model, i,
                         (long long)shape[i]);
        x->dims[i] = shape[i];
    }
    if (st)
        goto fail;
    if (nn_dims_count(x->dims, ndim, &x->count) != 0) {
        st = fs_fail(err, FS_ERR_LIMIT, "%s: the input shape is too large", g->model);
        goto fail;
    }
    nn_tensor **io = p->io;
    for (int k = 0; k < g->n_order; k++) {
        const nn_node *n = &g->nodes[g->order[k]];
        nn_tensor **in = io, **outs = io + n->n_in;
        io += n->n_in + n->n_out;
        int all_const = 1;
        for (int j = 0; j < n->n_in; j++) {
            in[j] = n->in[j] >= 0 ? &p->vals[n->in[j]] : NULL;
            if (in[j] && !p->is_const[n->in[j]])
                all_const = 0;
        }
        for (int j = 0; j < n->n_out; j++)
            outs[j] = n->out[j] >= 0 ? &p->vals[n->out[j]] : NULL;
        if ((st = nn_infer(g->model, n, in, outs, err)))
            goto fail;
        if ((all_const || n->op == NN_OP_SHAPE) && outs[0]->count <= FOLD_MAX_ELEMENTS) {
            if ((st = fold(p, g, n, in, outs, err)))
                goto fail;
            continue;
        }
        nn_step *s = &p->steps[p->n_steps++];
        s->node = n;
        s->model = g->model;
        s->n_in = n->n_in;
        s->n_out = n->n_out;
        s->in = in;
        s->out = outs;
        s->threads = net->threads;
        s->run = nn_ref_kernel(n->op);
    }
    for (int k = 0; k < g->n_outputs; k++) {
        const nn_value *v = &g->values[g->outputs[k]];
        if (p->vals[g->outputs[k]].dtype != NN_F32) {
            st = fs_fail(err, FS_ERR_UNSUPPORTED, "%s: output '%s' is not a float tensor",
                         g->model, v->name);
            goto fail;
        }
    }
    if (dry_run) {
        nn_plan_free(p);
        return FS_OK;
    }
    if ((st = assign_buffers(p, g, err)))
        goto fail;
    if (net->backend == NN_BACKEND_FAST) {
        if ((st = nn_fast_plan_begin(net->threads, &p->backend, err)))
            goto fail;
        p->has_backend = 1;
        for (int i = 0; i < p->n_steps; i++) {
            p->steps[i].backend = p->backend;
            if (p->steps[i].run && (st = nn_fast_prepare(&p->steps[i], err)))
                goto fail;
        }
    }
    *out = p;
    return FS_OK;
fail:
    nn_plan_free(p);
    return st;
}

fs_status nn_plan_create(nn_net *net, const int64_t *input_shape, int ndim, nn_plan **out,
                         fs_error *err)
{
    if (!out)
        return fs_fail(err, FS_ERR_ARG, "nn_plan_create: out is NULL");
    *out = NULL;
    if (!net)
        return fs_fail(err, FS_ERR_ARG, "nn_plan_create: net is NULL");
    return nn_plan_build(net, input_shape, ndim, 0, out, err);
}

fs_status nn_plan_run(nn_plan *p, const float *input, fs_error *err)
{
    if (!p || !input)
        return fs_fail(err, FS_ERR_ARG, "nn_plan_run: plan or input is NULL");
    if (p->input >= 0 && p->vals[p->input].data)
        memcpy(p->vals[p->input].data, input, (size_t)p->vals[p->input].count * sizeof(float));
    for (int i = 0; i < p->n_steps; i++) {
        nn_step *s = &p->steps[i];
        if (!s->run)
            continue;
        fs_status st = s->run(s, err);
        if (st)
            return st;
    }
    return FS_OK;
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
