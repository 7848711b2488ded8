/*
 * fast_layout.c — the fast backend's plan rewrite, run once per plan before buffers are assigned
 * (see nn_fast_layout in fast.h). Three passes over the steps, in order:
 *
 *   1. Residual fusion. Add(a, b) where a is made by a Conv read by nothing else (and not an
 *      output) and b exists before that Conv runs: the Conv computes act(conv) + b itself (a
 *      oneDNN sum post-op), its output becomes the Add's, and the Add step is dropped. A Relu or
 *      Clip that alone reads the sum is fused too (a post-op after the sum). b stays an input of
 *      the Conv step (step->residual), so liveness keeps it; the planner lets the Conv write in
 *      place over b when b is read by nothing later.
 *   1b. Depthwise fusion: a 3x3 depthwise Conv alone reading a large 1x1 Conv's output is run
 *      by the 1x1 Conv's step (see fuse_depthwise).
 *   2. Layouts, in step order (producers first). Blocked (oneDNN nChw{B}c, B = the backend's
 *      block) is chosen for: a Conv's output when some reader can take it blocked; the output of
 *      a per-channel op (NN_FAST_CHANNEL), a MaxPool or a same-shape Add/Sub/Mul when its
 *      activation inputs are blocked; a channel Concat when all its inputs are blocked and all
 *      but the last have a multiple of B channels (the last one's padding lanes become the
 *      output's). A Conv with a residual takes the residual's layout. Graph outputs are always
 *      dense.
 *   3. Conversions. A step that cannot read a blocked input gets a dense copy, made by a
 *      conversion step placed before its first such reader and shared by later ones.
 *
 * Everything else (Reshape, Transpose other than to NHWC, Softmax, Gemm, ...) sees dense data
 * only, so the reference kernels stay valid fallbacks for any op.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/fast.h"
#include "nn/plan.h"
#include "util/error.h"

static int vidx(const nn_tensor *vals, const nn_tensor *t)
{
    return (int)(t - vals);
}

/* t is a float constant that applies per channel of an n x c x h x w tensor: one value, or c
 * values on axis 1 (right-aligned against the 4 dims). */
static int per_channel_const(const nn_tensor *t, int64_t c)
{
    if (t->dtype != NN_F32 || !t->data || t->ndim > 4)
        return 0;
    if (t->count == 1)
        return 1;
    if (t->count != c)
        return 0;
    for (int i = 0; i < t->ndim; i++) {
        int pos = 4 - t->ndim + i;
        if (pos != 1 && t->dims[i] != 1)
            return 0;
    }
    return t->ndim >= 3;
}

static int same_dims(const nn_tensor *a, const nn_tensor *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

static int is_act4(const nn_tensor *t, const nn_tensor *vals, const unsigned char *is_const)
{
    return t && !is_const[vidx(vals, t)] && t->dtype == NN_F32 && t->ndim == 4;
}

nn_fast_kind nn_fast_classify(const nn_step *s, const nn_tensor *vals,
                              const unsigned char *is_const, int *act_in)
{
    const nn_tensor *y = s->out[0];
    *act_in = 0;
    if (s->to_plain || !y || y->dtype != NN_F32 || y->ndim != 4)
        return NN_FAST_OTHER;
    const nn_tensor *x = s->in[0];
    switch (s->node->op) {
    case NN_OP_CONV:
        return is_act4(x, vals, is_const) ? NN_FAST_CONV : NN_FAST_OTHER;
    case NN_OP_RELU:
        return is_act4(x, vals, is_const) && same_dims(x, y) ? NN_FAST_CHANNEL : NN_FAST_OTHER;
    case NN_OP_CLIP:
        for (int j = 1; j < s->n_in; j++)
            if (s->in[j] && (!is_const[vidx(vals, s->in[j])] || s->in[j]->count != 1 ||
                             s->in[j]->dtype != NN_F32))
                return NN_FAST_OTHER;
        return is_act4(x, vals, is_const) && same_dims(x, y) ? NN_FAST_CHANNEL : NN_FAST_OTHER;
    case NN_OP_PRELU:
    case NN_OP_SCALE_SHIFT:
        if (!is_act4(x, vals, is_const) || !same_dims(x, y))
            return NN_FAST_OTHER;
        for (int j = 1; j < s->n_in; j++)
            if (!s->in[j] || !is_const[vidx(vals, s->in[j])] ||
                !per_channel_const(s->in[j], y->dims[1]))
                return NN_FAST_OTHER;
        return NN_FAST_CHANNEL;
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL: {
        const nn_tensor *a = s->in[0], *b = s->in[1];
        int aa = is_act4(a, vals, is_const), ba = is_act4(b, vals, is_const);
        if (aa && ba)
            return same_dims(a, y) && same_dims(b, y) ? NN_FAST_SAME : NN_FAST_OTHER;
        if (aa && is_const[vidx(vals, b)] && same_dims(a, y) && per_channel_const(b, y->dims[1]))
            return NN_FAST_CHANNEL;
        if (ba && is_const[vidx(vals, a)] && same_dims(b, y) && per_channel_const(a, y->dims[1])) {
            *act_in = 1;
            return NN_FAST_CHANNEL;
        }
        return NN_FAST_OTHER;
    }
    case NN_OP_CONCAT: {
        if (nn_axis(s->node->p.axis, 4, 0) != 1)
            return NN_FAST_OTHER;
        for (int j = 0; j < s->n_in; j++)
            if (!is_act4(s->in[j], vals, is_const))
                return NN_FAST_OTHER;
        return NN_FAST_CONCAT;
    }
    case NN_OP_TRANSPOSE: {
        const nn_params *p = &s->node->p;
        if (!p->has_ints || p->n_ints != 4 || p->ints[0] != 0 || p->ints[1] != 2 ||
            p->ints[2] != 3 || p->ints[3] != 1 || !x || x->dtype != NN_F32 || x->ndim != 4)
            return NN_FAST_OTHER;
        return NN_FAST_NHWC;
    }
    case NN_OP_MAXPOOL:
        return is_act4(x, vals, is_const) && s->n_out == 1 ? NN_FAST_MAXPOOL : NN_FAST_OTHER;
    default:
        return NN_FAST_OTHER;
    }
}

/* Whether step s, of kind k, could read input j blocked (before its own layout is known). */
static int may_read_blocked(const nn_step *s, int k, int j)
{
    switch (k) {
    case NN_FAST_CONV: return j == 0 || (s->residual && s->in[j] == s->residual);
    case NN_FAST_CHANNEL: return j == s->fast_arg;
    case NN_FAST_SAME: return 1;
    case NN_FAST_CONCAT: return 1;
    case NN_FAST_NHWC: return j == 0;
    case NN_FAST_MAXPOOL: return j == 0;
    default: return 0;
    }
}

/* Whether step s (layouts decided) needs input j dense although it is blocked. */
static int needs_dense(const nn_step *s, int j)
{
    int out_blocked = s->out[0] && s->out[0]->blocked;
    switch (s->fast_kind) {
    case NN_FAST_CONV:
        if (j == 0)
            return 0;
        return s->residual && s->in[j] == s->residual && !out_blocked;
    case NN_FAST_CHANNEL:
    case NN_FAST_SAME:
    case NN_FAST_CONCAT:
        return !out_blocked;
    case NN_FAST_NHWC:
        return j != 0;
    case NN_FAST_MAXPOOL:
        return !out_blocked;
    default:
        return 1;
    }
}

/* Clip bounds of a Clip step (attribute form, overridden by constant inputs). */
static void clip_bounds(const nn_step *s, float *lo, float *hi)
{
    *lo = s->node->p.clip_min;
    *hi = s->node->p.clip_max;
    if (s->n_in > 1 && s->in[1])
        *lo = *(const float *)s->in[1]->data;
    if (s->n_in > 2 && s->in[2])
        *hi = *(const float *)s->in[2]->data;
}

typedef struct layout_state {
    nn_plan *p;
    int *prod;            /* producing step of each value, -1 for inputs and constants */
    int *uses;            /* reads of each value by live steps */
    unsigned char *is_out;
    unsigned char *dead;  /* per step: fused away */
} layout_state;

/* A fresh array of n tensor pointers from the plan's io storage, or NULL when it is used up. */
static nn_tensor **take_io(nn_plan *p, size_t n)
{
    if (p->n_io + n > p->cap_io)
        return NULL;
    nn_tensor **io = p->io + p->n_io;
    p->n_io += n;
    memset(io, 0, n * sizeof *io);
    return io;
}

/* The single live step reading value v, or -1. */
static int only_reader(const layout_state *ls, int v)
{
    const nn_plan *p = ls->p;
    if (ls->uses[v] != 1 || ls->is_out[v])
        return -1;
    for (int i = 0; i < p->n_steps; i++) {
        if (ls->dead[i])
            continue;
        for (int j = 0; j < p->steps[i].n_in; j++)
            if (p->steps[i].in[j] && vidx(p->vals, p->steps[i].in[j]) == v)
                return i;
    }
    return -1;
}

/* Pass 1: residual Adds (and a Relu/Clip after them) into the Conv that makes one operand. */
static fs_status fuse_residuals(layout_state *ls, fs_error *err)
{
    nn_plan *p = ls->p;
    for (int i = 0; i < p->n_steps; i++) {
        nn_step *s = &p->steps[i];
        if (ls->dead[i] || s->node->op != NN_OP_ADD || s->n_in != 2 || !s->in[0] || !s->in[1])
            continue;
        int act;
        if (nn_fast_classify(s, p->vals, p->is_const, &act) != NN_FAST_SAME)
            continue;
        int best = -1, best_k = -1;
        for (int k = 0; k < 2; k++) {
            int x = vidx(p->vals, s->in[k]), o = vidx(p->vals, s->in[1 - k]);
            int pc = ls->prod[x];
            if (pc < 0 || ls->dead[pc] || p->steps[pc].node->op != NN_OP_CONV ||
                p->steps[pc].residual || ls->uses[x] != 1 || ls->is_out[x] || x == o ||
                ls->prod[o] >= pc)
                continue;
            if (pc > best) {
                best = pc;
                best_k = k;
            }
        }
        if (best < 0)
            continue;
        nn_step *c = &p->steps[best];
        nn_tensor **in = take_io(p, 5);
        if (!in)
            return util_fail(err, FS_ERR_INTERNAL, "%s: layout pass out of step storage", c->model);
        for (int j = 0; j < c->n_in && j < 4; j++)
            in[j] = c->in[j];
        nn_tensor *other = s->in[1 - best_k];
        in[4] = other;
        c->in = in;
        c->n_in = 5;
        c->residual = other;
        ls->uses[vidx(p->vals, s->in[best_k])]--;
        c->out[0] = s->out[0];
        ls->prod[vidx(p->vals, s->out[0])] = best;
        ls->dead[i] = 1;
        /* an activation alone on the sum */
        int r = only_reader(ls, vidx(p->vals, c->out[0]));
        if (r < 0)
            continue;
        nn_step *a = &p->steps[r];
        int ak = nn_fast_classify(a, p->vals, p->is_const, &act);
        if (ak != NN_FAST_CHANNEL || (a->node->op != NN_OP_RELU && a->node->op != NN_OP_CLIP))
            continue;
        if (a->node->op == NN_OP_RELU) {
            c->after_sum = NN_ACT_RELU;
        } else {
            c->after_sum = NN_ACT_CLIP;
            clip_bounds(a, &c->after_min, &c->after_max);
            if (!(c->after_min <= c->after_max)) {
                c->after_sum = NN_ACT_NONE;
                continue;
            }
        }
        ls->uses[vidx(p->vals, c->out[0])]--;
        c->out[0] = a->out[0];
        ls->prod[vidx(p->vals, a->out[0])] = best;
        ls->dead[r] = 1;
    }
    return FS_OK;
}

/* Pass 1b: a depthwise 3x3 Conv (pads 1, stride 1 or 2, Relu/Clip or nothing after it) that alone
 * reads the output of a plain 1x1 Conv (Relu/Clip or nothing) is fused into it (dnnl_conv.h, dw),
 * when that output is at least DW_FUSE_MIN_FLOATS: then it no longer goes through memory, which
 * measured 35% faster for the detector's first pair at 960 px (32 x 352 x 480, 5.8 -> 3.7 ms);
 * below ~1M floats the pair runs no faster fused (oneDNN then runs its two kernels in turn). */
#define DW_FUSE_MIN_FLOATS (1 << 20)

static int plain_act(nn_act act)
{
    return act == NN_ACT_NONE || act == NN_ACT_RELU || act == NN_ACT_CLIP;
}

static int fusable_pointwise(const nn_step *s, const nn_tensor *vals, const unsigned char *is_const)
{
    int act;
    if (s->node->op != NN_OP_CONV || s->residual || s->dw_node ||
        nn_fast_classify(s, vals, is_const, &act) != NN_FAST_CONV)
        return 0;
    nn_conv_geom g;
    nn_conv_geometry(s, &g);
    return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 &&
           !g.pad_t && !g.pad_l && !g.pad_b && !g.pad_r && g.group == 1 && plain_act(g.act) &&
           s->out[0]->count >= DW_FUSE_MIN_FLOATS;
}

static int fusable_depthwise(const nn_step *s, const nn_tensor *vals, const unsigned char *is_const)
{
    int act;
    if (s->node->op != NN_OP_CONV || s->residual || s->dw_node ||
        nn_fast_classify(s, vals, is_const, &act) != NN_FAST_CONV || !s->in[1] ||
        !is_const[vidx(vals, s->in[1])] ||
        (s->n_in > 2 && s->in[2] && !is_const[vidx(vals, s->in[2])]))
        return 0;
    nn_conv_geom g;
    nn_conv_geometry(s, &g);
    return g.kh == 3 && g.kw == 3 && g.sh == g.sw && (g.sh == 1 || g.sh == 2) && g.dh == 1 &&
           g.dw == 1 && g.pad_t == 1 && g.pad_l == 1 && g.pad_b == 1 && g.pad_r == 1 &&
           g.group == g.c_in && g.c_out == g.c_in && plain_act(g.act);
}

static void fuse_depthwise(layout_state *ls)
{
    nn_plan *p = ls->p;
    for (int i = 0; i < p->n_steps; i++) {
        nn_step *a = &p->steps[i];
        if (ls->dead[i] || !fusable_pointwise(a, p->vals, p->is_const))
            continue;
        int x = vidx(p->vals, a->out[0]);
        int r = only_reader(ls, x);
        if (r < 0)
            continue;
        nn_step *b = &p->steps[r];
        if (b->in[0] != a->out[0] || !fusable_depthwise(b, p->vals, p->is_const))
            continue;
        a->dw_node = b->node;
        a->dw_mid = a->out[0];
        a->dw_weight = b->in[1];
        a->dw_bias = b->n_in > 2 ? b->in[2] : NULL;
        a->out[0] = b->out[0];
        ls->prod[vidx(p->vals, b->out[0])] = i;
        ls->uses[x]--;
        ls->dead[r] = 1;
    }
}

/* Pass 2: the layout of every step's output. */
static void choose_layouts(layout_state *ls, int block)
{
    nn_plan *p = ls->p;
    for (int i = 0; i < p->n_steps; i++) {
        if (ls->dead[i])
            continue;
        nn_step *s = &p->steps[i];
        s->fast_kind = (int)nn_fast_classify(s, p->vals, p->is_const, &s->fast_arg);
    }
    for (int i = 0; i < p->n_steps; i++) {
        if (ls->dead[i])
            continue;
        nn_step *s = &p->steps[i];
        nn_tensor *y = s->out[0];
        int blocked = 0;
        switch (s->fast_kind) {
        case NN_FAST_CONV:
            if (s->residual) {
                blocked = s->residual->blocked != 0;
                break;
            }
            /* blocked if some later reader can take it so */
            for (int k = i + 1; k < p->n_steps && !blocked; k++) {
                if (ls->dead[k])
                    continue;
                for (int j = 0; j < p->steps[k].n_in; j++)
                    if (p->steps[k].in[j] == y &&
                        may_read_blocked(&p->steps[k], p->steps[k].fast_kind, j))
                        blocked = 1;
            }
            break;
        case NN_FAST_CHANNEL:
            blocked = s->in[s->fast_arg]->blocked != 0;
            break;
        case NN_FAST_MAXPOOL:
            blocked = s->in[0]->blocked != 0;
            break;
        case NN_FAST_SAME:
            blocked = s->in[0]->blocked && s->in[1]->blocked;
            break;
        case NN_FAST_CONCAT:
            blocked = 1;
            for (int j = 0; j < s->n_in; j++)
                if (!s->in[j]->blocked || (j < s->n_in - 1 && s->in[j]->dims[1] % block != 0))
                    blocked = 0;
            break;
        default:
            break;
        }
        if (ls->is_out[vidx(p->vals, y)])
            blocked = 0;
        y->blocked = blocked ? block : 0;
    }
}

/* Pass 3: dense copies for the readers that need them; compacts the step list. */
static fs_status insert_conversions(layout_state *ls, fs_error *err)
{
    nn_plan *p = ls->p;
    int n_base = p->n_vals;
    int *dense_of = malloc((size_t)p->cap_vals * sizeof *dense_of);
    nn_step *out = calloc((size_t)p->cap_steps + 1, sizeof *out);
    if (!dense_of || !out) {
        free(dense_of);
        free(out);
        return util_fail(err, FS_ERR_NOMEM, "out of memory while planning");
    }
    for (int v = 0; v < p->cap_vals; v++)
        dense_of[v] = -1;
    int m = 0;
    fs_status rc = FS_OK;
    for (int i = 0; i < p->n_steps && !rc; i++) {
        if (ls->dead[i])
            continue;
        nn_step *s = &p->steps[i];
        for (int j = 0; j < s->n_in; j++) {
            nn_tensor *t = s->in[j];
            if (!t || !t->blocked || !needs_dense(s, j))
                continue;
            int v = vidx(p->vals, t);
            if (v >= n_base) {
                rc = util_fail(err, FS_ERR_INTERNAL, "%s: layout pass: bad value", s->model);
                break;
            }
            if (dense_of[v] < 0) {
                nn_tensor **io = take_io(p, 2);
                if (p->n_vals >= p->cap_vals || m >= p->cap_steps || !io ||
                    p->n_extra >= p->cap_vals - n_base) {
                    rc = util_fail(err, FS_ERR_INTERNAL, "%s: layout pass out of storage",
                                   s->model);
                    break;
                }
                int d = p->n_vals++;
                p->vals[d] = *t;
                p->vals[d].blocked = 0;
                p->vals[d].data = NULL;
                p->is_const[d] = 0;
                nn_node *node = &p->extra_nodes[p->n_extra++];
                memset(node, 0, sizeof *node);
                node->label = "to_dense";
                node->op_type = "Identity";
                node->op = NN_OP_IDENTITY;
                node->live = 1;
                io[0] = t;
                io[1] = &p->vals[d];
                nn_step *c = &out[m++];
                memset(c, 0, sizeof *c);
                c->node = node;
                c->model = s->model;
                c->n_in = c->n_out = 1;
                c->in = io;
                c->out = io + 1;
                c->run = nn_ref_kernel(NN_OP_IDENTITY); /* replaced by nn_fast_prepare */
                c->threads = s->threads;
                c->backend = s->backend;
                c->to_plain = 1;
                dense_of[v] = d;
            }
            if (s->residual == t)
                s->residual = &p->vals[dense_of[v]];
            s->in[j] = &p->vals[dense_of[v]];
        }
        if (m >= p->cap_steps) {
            rc = util_fail(err, FS_ERR_INTERNAL, "%s: layout pass out of storage", s->model);
            break;
        }
        out[m++] = *s;
    }
    free(dense_of);
    if (rc) {
        /* keep the old steps (their states are all NULL still) */
        free(out);
        return rc;
    }
    free(p->steps);
    p->steps = out;
    p->n_steps = m;
    return FS_OK;
}

nn_plan_room nn_fast_layout_room(const nn_graph *g)
{
    return (nn_plan_room){.values = g->n_values,
                          .io = 2 * (size_t)g->n_values + 8 * (size_t)g->n_order};
}

fs_status nn_fast_layout(nn_plan *p, fs_error *err)
{
    const nn_graph *g = p->net->graph;
    int block = nn_fast_block(p->backend);
    layout_state ls = {.p = p};
    ls.prod = malloc((size_t)p->cap_vals * sizeof *ls.prod);
    ls.uses = calloc((size_t)p->cap_vals, sizeof *ls.uses);
    ls.is_out = calloc((size_t)p->cap_vals, 1);
    ls.dead = calloc((size_t)p->n_steps + 1, 1);
    fs_status rc = FS_OK;
    if (!ls.prod || !ls.uses || !ls.is_out || !ls.dead) {
        rc = util_fail(err, FS_ERR_NOMEM, "%s: out of memory while planning", g->model);
        goto done;
    }
    for (int v = 0; v < p->cap_vals; v++)
        ls.prod[v] = -1;
    for (int k = 0; k < g->n_outputs; k++)
        ls.is_out[g->outputs[k]] = 1;
    for (int i = 0; i < p->n_steps; i++) {
        const nn_step *s = &p->steps[i];
        for (int j = 0; j < s->n_in; j++)
            if (s->in[j])
                ls.uses[vidx(p->vals, s->in[j])]++;
        for (int j = 0; j < s->n_out; j++)
            if (s->out[j])
                ls.prod[vidx(p->vals, s->out[j])] = i;
    }
    if (block > 0) {
        if ((rc = fuse_residuals(&ls, err)))
            goto done;
        fuse_depthwise(&ls);
        choose_layouts(&ls, block);
    }
    rc = insert_conversions(&ls, err);
done:
    free(ls.prod);
    free(ls.uses);
    free(ls.is_out);
    free(ls.dead);
    return rc;
}
