/*
 * graph_opt.c — load-time rewrites of the graph IR that do not depend on shapes:
 *   - BatchNormalization after a Conv (whose output nothing else reads) is folded into the Conv's
 *     weights and bias; any other BatchNormalization becomes a per-channel ScaleShift
 *     (y = x * scale[c] + shift[c] over axis 1);
 *   - Conv followed by Relu, PRelu (constant slope, scalar or per output channel) or Clip
 *     (constant bounds) becomes one Conv with a fused activation;
 *   - Conv (no activation) followed by Mul with a constant scalar or per-output-channel factor:
 *     the factor is folded into the Conv's weights and bias (fr_detect's scaled shortcut);
 *   - subnormal float constants (|x| < FLT_MIN, as trained weights hold by the thousand) become
 *     zero, after the folds above: a CPU that meets a subnormal operand can take a slow microcode
 *     path (measured on an Intel Xeon: fr_feature 19x slower); their contribution is < 1e-38.
 * Rewrites never create nodes; the absorbed node is marked dead and dropped from the order.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "util/error.h"
#include "util/grow.h"

void nn_graph_count_consumers(nn_graph *g);
fs_status nn_graph_optimize(nn_graph *g, fs_error *err);

void nn_graph_count_consumers(nn_graph *g)
{
    for (int v = 0; v < g->n_values; v++)
        g->values[v].n_consumers = 0;
    for (int k = 0; k < g->n_order; k++) {
        const nn_node *n = &g->nodes[g->order[k]];
        if (!n->live)
            continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0)
                g->values[n->in[j]].n_consumers++;
    }
}

/* Value v is a float constant with `count` elements (count < 0: any). */
static int const_f32(const nn_graph *g, int v, int64_t count)
{
    if (v < 0)
        return 0;
    const nn_value *x = &g->values[v];
    return x->is_const && x->c.dtype == NN_F32 && x->c.data &&
           (count < 0 || x->c.count == count);
}

/* A new 1-D float constant of count elements; returns its index or -1. */
static int new_const(nn_graph *g, const char *base, const char *suffix, int64_t count,
                     float **data)
{
    size_t len = strlen(base) + strlen(suffix) + 1;
    char *name = nn_arena_alloc(&g->arena, len);
    *data = nn_arena_calloc(&g->arena, (size_t)count, sizeof(float));
    if (!name || !*data)
        return -1;
    snprintf(name, len, "%s%s", base, suffix);
    nn_value *nv = util_grow(g->values, &g->cap_values, (size_t)g->n_values + 1, sizeof *nv, 64);
    if (!nv)
        return -1;
    g->values = nv;
    nn_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->producer = -1;
    v->is_const = 1;
    v->c.dtype = NN_F32;
    v->c.ndim = 1;
    v->c.dims[0] = count;
    v->c.count = count;
    v->c.data = *data;
    return g->n_values++;
}

/* The Conv producing value v if it may absorb the node that reads v: live, no activation yet,
 * v read by that node only and not an output. -1 otherwise. */
static int absorbing_conv(const nn_graph *g, int v)
{
    if (v < 0)
        return -1;
    const nn_value *x = &g->values[v];
    int p = x->producer;
    if (p < 0 || x->n_consumers != 1 || x->is_output)
        return -1;
    const nn_node *c = &g->nodes[p];
    if (!c->live || c->op != NN_OP_CONV || c->p.act != NN_ACT_NONE)
        return -1;
    return p;
}

/* Moves node n's output onto conv (which then produces it) and kills n. */
static void absorb(nn_graph *g, int conv, nn_node *n)
{
    nn_node *c = &g->nodes[conv];
    c->out[0] = n->out[0];
    g->values[n->out[0]].producer = conv;
    n->live = 0;
}

static fs_status fold_batchnorm(nn_graph *g, nn_node *n, fs_error *err)
{
    int64_t ch = const_f32(g, n->in[1], -1) ? g->values[n->in[1]].c.count : -1;
    if (ch < 1 || !const_f32(g, n->in[2], ch) || !const_f32(g, n->in[3], ch) ||
        !const_f32(g, n->in[4], ch))
        return util_fail(err, FS_ERR_UNSUPPORTED,
                         "%s: node '%s' (BatchNormalization): parameters must be constant and of "
                         "equal size", g->model, n->label);
    const float *gamma = g->values[n->in[1]].c.data, *beta = g->values[n->in[2]].c.data;
    const float *mean = g->values[n->in[3]].c.data, *var = g->values[n->in[4]].c.data;
    float *scale, *shift;
    int vs = new_const(g, n->label, ":scale", ch, &scale);
    int vt = vs < 0 ? -1 : new_const(g, n->label, ":shift", ch, &shift);
    if (vs < 0 || vt < 0)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", g->model);
    for (int64_t c = 0; c < ch; c++) {
        double s = (double)gamma[c] / sqrt((double)var[c] + (double)n->p.epsilon);
        scale[c] = (float)s;
        shift[c] = (float)((double)beta[c] - (double)mean[c] * s);
    }
    int conv = absorbing_conv(g, n->in[0]);
    if (conv >= 0) {
        nn_node *c = &g->nodes[conv];
        int w = c->in[1], b = c->in[2];
        const nn_value *wv = &g->values[w];
        if (const_f32(g, w, -1) && wv->c.ndim == 4 && wv->c.dims[0] == ch &&
            (b < 0 || const_f32(g, b, ch))) {
            float *nw, *nb;
            int vw = new_const(g, c->label, ":w_bn", g->values[w].c.count, &nw);
            int vb = vw < 0 ? -1 : new_const(g, c->label, ":b_bn", ch, &nb);
            if (vw < 0 || vb < 0)
                return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", g->model);
            wv = &g->values[w]; /* values may have moved */
            g->values[vw].c = wv->c;
            g->values[vw].c.data = nw;
            const float *ow = wv->c.data, *ob = b >= 0 ? g->values[b].c.data : NULL;
            int64_t per = wv->c.count / ch;
            for (int64_t o = 0; o < ch; o++) {
                for (int64_t i = 0; i < per; i++)
                    nw[o * per + i] = ow[o * per + i] * scale[o];
                nb[o] = (ob ? ob[o] : 0.0f) * scale[o] + shift[o];
            }
            c->in[1] = vw;
            c->in[2] = vb;
            if (c->n_in < 3)
                c->n_in = 3;
            absorb(g, conv, n);
            return FS_OK;
        }
    }
    n->op = NN_OP_SCALE_SHIFT;
    n->in[1] = vs;
    n->in[2] = vt;
    n->n_in = 3;
    return FS_OK;
}

/* A PRelu slope that applies per output channel of an NCHW conv output (or is a scalar). */
static int channel_slope(const nn_graph *g, int slope, int64_t channels)
{
    if (!const_f32(g, slope, -1))
        return 0;
    const nn_tensor *t = &g->values[slope].c;
    if (t->count == 1)
        return t->ndim <= 4;
    if (t->count != channels || t->ndim > 4)
        return 0;
    /* right-aligned against [N, C, H, W]: C at position 1, ones elsewhere */
    for (int i = 0; i < t->ndim; i++) {
        int pos = 4 - t->ndim + i;
        if (pos != 1 && t->dims[i] != 1)
            return 0;
    }
    return t->ndim >= 3;
}

static void fuse_activation(nn_graph *g, nn_node *n)
{
    int conv = absorbing_conv(g, n->in[0]);
    if (conv < 0)
        return;
    nn_node *c = &g->nodes[conv];
    switch (n->op) {
    case NN_OP_RELU:
        c->p.act = NN_ACT_RELU;
        break;
    case NN_OP_PRELU: {
        int w = c->in[1];
        if (!const_f32(g, w, -1) || g->values[w].c.ndim != 4 ||
            !channel_slope(g, n->in[1], g->values[w].c.dims[0]))
            return;
        c->p.act = NN_ACT_PRELU;
        c->in[3] = n->in[1];
        c->n_in = 4;
        break;
    }
    case NN_OP_CLIP: {
        float lo = n->p.clip_min, hi = n->p.clip_max;
        if (g->opset >= 11) {
            for (int j = 1; j < n->n_in && j < 3; j++) {
                if (n->in[j] < 0)
                    continue;
                if (!const_f32(g, n->in[j], 1))
                    return;
                float v = *(const float *)g->values[n->in[j]].c.data;
                if (j == 1)
                    lo = v;
                else
                    hi = v;
            }
        }
        c->p.act = NN_ACT_CLIP;
        c->p.act_min = lo;
        c->p.act_max = hi;
        break;
    }
    default:
        return;
    }
    if (c->n_in < 3)
        c->n_in = 3; /* bias slot (may be -1) before the slope slot */
    absorb(g, conv, n);
}

/* Mul(conv_out, k) with k a constant scalar or one value per output channel, on a Conv without
 * activation: folded into the Conv's weights and bias (new constants; the file's stay intact). */
static fs_status fold_scale(nn_graph *g, nn_node *n, fs_error *err)
{
    int conv = -1, k = -1;
    for (int j = 0; j < 2 && conv < 0; j++) {
        conv = absorbing_conv(g, n->in[j]);
        k = n->in[1 - j];
    }
    if (conv < 0 || !const_f32(g, k, -1))
        return FS_OK;
    nn_node *c = &g->nodes[conv];
    int w = c->in[1], b = c->n_in > 2 ? c->in[2] : -1;
    if (!const_f32(g, w, -1) || g->values[w].c.ndim != 4 || (b >= 0 && !const_f32(g, b, -1)))
        return FS_OK;
    int64_t ch = g->values[w].c.dims[0];
    if (!channel_slope(g, k, ch) || (b >= 0 && g->values[b].c.count != ch))
        return FS_OK;
    float *nw, *nb;
    int vw = new_const(g, c->label, ":w_scaled", g->values[w].c.count, &nw);
    int vb = vw < 0 ? -1 : new_const(g, c->label, ":b_scaled", ch, &nb);
    if (vw < 0 || vb < 0)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", g->model);
    const nn_value *wv = &g->values[w], *kv = &g->values[k];
    g->values[vw].c = wv->c;
    g->values[vw].c.data = nw;
    const float *ow = wv->c.data, *ob = b >= 0 ? g->values[b].c.data : NULL;
    const float *kd = kv->c.data;
    int64_t per = wv->c.count / ch;
    for (int64_t o = 0; o < ch; o++) {
        float f = kd[kv->c.count == 1 ? 0 : o];
        for (int64_t i = 0; i < per; i++)
            nw[o * per + i] = ow[o * per + i] * f;
        nb[o] = (ob ? ob[o] : 0.0f) * f;
    }
    c->in[1] = vw;
    c->in[2] = vb;
    if (c->n_in < 3)
        c->n_in = 3;
    absorb(g, conv, n);
    return FS_OK;
}

/* Sets every subnormal element of every float constant to zero (keeping its sign). */
static void flush_subnormals(nn_graph *g)
{
    for (int v = 0; v < g->n_values; v++) {
        if (!const_f32(g, v, -1))
            continue;
        float *x = g->values[v].c.data;
        for (int64_t i = 0; i < g->values[v].c.count; i++)
            if (x[i] != 0.0f && fabsf(x[i]) < FLT_MIN)
                x[i] = copysignf(0.0f, x[i]);
    }
}

fs_status nn_graph_optimize(nn_graph *g, fs_error *err)
{
    for (int k = 0; k < g->n_order; k++) {
        nn_node *n = &g->nodes[g->order[k]];
        if (!n->live)
            continue;
        if (n->op == NN_OP_BATCHNORM) {
            fs_status rc = fold_batchnorm(g, n, err);
            if (rc)
                return rc;
        } else if (n->op == NN_OP_RELU || n->op == NN_OP_PRELU || n->op == NN_OP_CLIP) {
            fuse_activation(g, n);
        } else if (n->op == NN_OP_MUL) {
            fs_status rc = fold_scale(g, n, err);
            if (rc)
                return rc;
        }
    }
    int m = 0;
    for (int k = 0; k < g->n_order; k++)
        if (g->nodes[g->order[k]].live)
            g->order[m++] = g->order[k];
    g->n_order = m;
    nn_graph_count_consumers(g);
    flush_subnormals(g);
    return FS_OK;
}
