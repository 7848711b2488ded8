/*
 * graph.c — building the graph IR from a parsed ONNX model: names → indices, Constant nodes →
 * constant values, liveness from the requested outputs, topological order with cycle detection,
 * op support and attribute checks. The rewrites (BN folding, activation fusion) are in
 * graph_opt.c.
 */
#include "nn/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/grow.h"

/* Implemented in graph_opt.c. */
fs_status nn_graph_optimize(nn_graph *g, fs_error *err);
void nn_graph_count_consumers(nn_graph *g);

/* ---- name → value index: open addressing, built once --------------------------------------- */

typedef struct name_map {
    int *slots; /* value index or -1 */
    size_t mask;
} name_map;

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 1099511628211ull;
    return h;
}

static int map_init(name_map *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2 + 1)
        cap *= 2;
    m->slots = malloc(cap * sizeof *m->slots);
    if (!m->slots)
        return -1;
    for (size_t i = 0; i < cap; i++)
        m->slots[i] = -1;
    m->mask = cap - 1;
    return 0;
}

static int map_find(const name_map *m, const nn_value *values, const char *name)
{
    for (size_t i = hash_name(name) & m->mask;; i = (i + 1) & m->mask) {
        int v = m->slots[i];
        if (v < 0 || !strcmp(values[v].name, name))
            return v;
    }
}

/* Inserts; the table never fills (sized for every name up front). */
static void map_put(name_map *m, const nn_value *values, int index)
{
    size_t i = hash_name(values[index].name) & m->mask;
    while (m->slots[i] >= 0)
        i = (i + 1) & m->mask;
    m->slots[i] = index;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static int add_value(nn_graph *g, const char *name)
{
    nn_value *grown = util_grow(g->values, &g->cap_values, (size_t)g->n_values + 1, sizeof *grown,
                                64);
    if (!grown)
        return -1;
    g->values = grown;
    nn_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->producer = -1;
    return g->n_values++;
}

/* Constant node → tensor. */
static fs_status constant_value(nn_graph *g, const onnx_node *n, const char *label,
                                nn_tensor *t, fs_error *err)
{
    memset(t, 0, sizeof *t);
    if (n->n_attrs != 1)
        return util_fail(err, FS_ERR_FORMAT,
                         "%s: node '%s' (Constant): needs exactly one attribute", g->model, label);
    const onnx_attr *a = &n->attrs[0];
    if (!strcmp(a->name, "value") && a->type == ONNX_ATTR_TENSOR) {
        *t = a->t->t;
        return FS_OK;
    }
    int is_float = !strcmp(a->name, "value_float") && a->type == ONNX_ATTR_FLOAT;
    int is_int = !strcmp(a->name, "value_int") && a->type == ONNX_ATTR_INT;
    int is_floats = !strcmp(a->name, "value_floats") && a->type == ONNX_ATTR_FLOATS;
    int is_ints = !strcmp(a->name, "value_ints") && a->type == ONNX_ATTR_INTS;
    if (!is_float && !is_int && !is_floats && !is_ints)
        return util_fail(err, FS_ERR_UNSUPPORTED,
                         "%s: node '%s' (Constant): attribute '%s' is not supported", g->model,
                         label, a->name);
    size_t count = is_floats ? a->n_floats : is_ints ? a->n_ints : 1;
    t->dtype = (is_float || is_floats) ? NN_F32 : NN_I64;
    t->ndim = (is_floats || is_ints) ? 1 : 0;
    t->dims[0] = (int64_t)count;
    t->count = (int64_t)count;
    if (count == 0)
        return FS_OK;
    t->data = nn_arena_calloc(&g->arena, count, nn_dtype_size(t->dtype));
    if (!t->data)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", g->model);
    if (is_float)
        *(float *)t->data = a->f;
    else if (is_int)
        *(int64_t *)t->data = a->i;
    else if (is_floats)
        memcpy(t->data, a->floats, count * sizeof(float));
    else
        memcpy(t->data, a->ints, count * sizeof(int64_t));
    return FS_OK;
}

static const char *node_label(nn_graph *g, const onnx_node *n, size_t index)
{
    if (*n->name)
        return n->name;
    for (size_t i = 0; i < n->n_outputs; i++)
        if (*n->outputs[i])
            return n->outputs[i];
    char buf[32];
    snprintf(buf, sizeof buf, "#%zu", index);
    char *s = nn_arena_strndup(&g->arena, buf, strlen(buf));
    return s ? s : "?";
}

/* ---- build ------------------------------------------------------------------------------- */

/* Initializers become named constant values. */
static fs_status add_initializers(nn_graph *g, const onnx_graph *og, name_map *map, fs_error *err)
{
    const char *model = g->model;
    for (size_t i = 0; i < og->n_initializers; i++) {
        const onnx_tensor *t = &og->initializers[i];
        if (!*t->name)
            return util_fail(err, FS_ERR_FORMAT, "%s: malformed ONNX model: initializer #%zu has "
                             "no name", model, i);
        if (map_find(map, g->values, t->name) >= 0)
            return util_fail(err, FS_ERR_FORMAT, "%s: malformed ONNX model: tensor '%s' is "
                             "defined twice", model, t->name);
        int v = add_value(g, t->name);
        if (v < 0)
            return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", model);
        g->values[v].is_const = 1;
        g->values[v].c = t->t;
        map_put(map, g->values, v);
    }
    return FS_OK;
}

/* The graph input: the one graph input that is not an initializer (float32, any declared shape). */
static fs_status add_input(nn_graph *g, const onnx_graph *og, name_map *map, fs_error *err)
{
    const char *model = g->model;
    g->input = -1;
    for (size_t i = 0; i < og->n_inputs; i++) {
        const onnx_value_info *vi = &og->inputs[i];
        if (!*vi->name)
            return util_fail(err, FS_ERR_FORMAT, "%s: malformed ONNX model: graph input #%zu has "
                             "no name", model, i);
        if (map_find(map, g->values, vi->name) >= 0)
            continue; /* an initializer listed as input (IR < 4): a constant for us */
        if (g->input >= 0)
            return util_fail(err, FS_ERR_UNSUPPORTED,
                             "%s: the model has several inputs ('%s', '%s'); only one is supported",
                             model, g->values[g->input].name, vi->name);
        if (vi->elem_type != 0 && vi->elem_type != 1)
            return util_fail(err, FS_ERR_UNSUPPORTED,
                             "%s: input '%s' has element type %d; only float32 is supported", model,
                             vi->name, vi->elem_type);
        int v = add_value(g, vi->name);
        if (v < 0)
            return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", model);
        g->values[v].is_input = 1;
        g->input = v;
        g->input_ndim = vi->ndim < 0 ? 0 : vi->ndim;
        memcpy(g->input_dims, vi->dims, sizeof g->input_dims);
        map_put(map, g->values, v);
    }
    if (g->input < 0)
        return util_fail(err, FS_ERR_FORMAT, "%s: malformed ONNX model: the graph has no input",
                         model);
    return FS_OK;
}

/* Node i of the file: its label, op and value slots, and a value for each named output (a
 * Constant node's output becomes a constant value and the node is left with nothing to run). */
static fs_status add_node(nn_graph *g, const onnx_node *on, size_t i, name_map *map,
                          fs_error *err)
{
    const char *model = g->model;
    nn_node *n = &g->nodes[i];
    n->label = node_label(g, on, i);
    n->op_type = on->op_type;
    n->n_in = (int)on->n_inputs;
    n->n_out = (int)on->n_outputs;
    /* room for the fused PReLU slope of a Conv (input 3) */
    size_t cap_in = on->n_inputs < 4 ? 4 : on->n_inputs;
    n->in = nn_arena_calloc(&g->arena, cap_in, sizeof(int));
    n->out = nn_arena_calloc(&g->arena, on->n_outputs ? on->n_outputs : 1, sizeof(int));
    if (!n->in || !n->out)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", model);
    for (size_t j = 0; j < cap_in; j++)
        n->in[j] = -1;
    int is_constant = !strcmp(on->op_type, "Constant") && (!*on->domain ||
                                                            !strcmp(on->domain, "ai.onnx"));
    for (size_t j = 0; j < on->n_outputs; j++) {
        const char *name = on->outputs[j];
        n->out[j] = -1;
        if (!*name)
            continue;
        if (map_find(map, g->values, name) >= 0)
            return util_fail(err, FS_ERR_FORMAT, "%s: malformed ONNX model: tensor '%s' is "
                             "defined twice", model, name);
        int v = add_value(g, name);
        if (v < 0)
            return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", model);
        map_put(map, g->values, v);
        n->out[j] = v;
        if (is_constant) {
            if (j > 0)
                return util_fail(err, FS_ERR_FORMAT, "%s: node '%s' (Constant): has more "
                                 "than one output", model, n->label);
            nn_tensor t;
            fs_status rc = constant_value(g, on, n->label, &t, err);
            if (rc)
                return rc;
            g->values[v].is_const = 1;
            g->values[v].c = t;
        } else {
            g->values[v].producer = (int)i;
        }
    }
    n->live = 0;
    if (is_constant)
        n->n_out = 0; /* nothing left to run */
    return FS_OK;
}

/* Every node, outputs first (so that the order in the file does not matter). */
static fs_status add_nodes(nn_graph *g, const onnx_graph *og, name_map *map, fs_error *err)
{
    g->n_nodes = (int)og->n_nodes;
    if (og->n_nodes > (size_t)(1 << 24))
        return util_fail(err, FS_ERR_LIMIT, "%s: too many nodes", g->model);
    g->nodes = nn_arena_calloc(&g->arena, og->n_nodes ? og->n_nodes : 1, sizeof(nn_node));
    if (!g->nodes)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", g->model);
    for (size_t i = 0; i < og->n_nodes; i++) {
        fs_status rc = add_node(g, &og->nodes[i], i, map, err);
        if (rc)
            return rc;
    }
    return FS_OK;
}

/* Resolves every node's input names, once all values exist. */
static void link_inputs(nn_graph *g, const onnx_graph *og, const name_map *map)
{
    for (size_t i = 0; i < og->n_nodes; i++) {
        const onnx_node *on = &og->nodes[i];
        nn_node *n = &g->nodes[i];
        for (size_t j = 0; j < on->n_inputs; j++) {
            if (!*on->inputs[j]) {
                n->in[j] = -1;
                continue;
            }
            int v = map_find(map, g->values, on->inputs[j]);
            /* -2 (undefined) is an error only if the node is live */
            n->in[j] = v < 0 ? -2 : v;
        }
    }
}

/* The network's outputs: the requested names (req, n_req) or the file's graph outputs. */
static fs_status add_outputs(nn_graph *g, const onnx_graph *og, const char *const *req,
                             size_t n_req, const name_map *map, fs_error *err)
{
    const char *model = g->model;
    size_t n_out = req ? n_req : og->n_outputs;
    if (n_out == 0)
        return util_fail(err, FS_ERR_FORMAT, "%s: malformed ONNX model: the graph has no output",
                         model);
    g->outputs = nn_arena_calloc(&g->arena, n_out, sizeof(int));
    if (!g->outputs)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", model);
    for (size_t i = 0; i < n_out; i++) {
        const char *name = req ? req[i] : og->outputs[i].name;
        int v = name ? map_find(map, g->values, name) : -1;
        if (v < 0)
            return util_fail(err, req ? FS_ERR_ARG : FS_ERR_FORMAT,
                             "%s: no tensor named '%s' in the model", model,
                             name ? name : "(null)");
        g->outputs[i] = v;
        g->values[v].is_output = 1;
    }
    g->n_outputs = (int)n_out;
    return FS_OK;
}

/* Names → values and nodes: initializers, the input, the nodes (Constants → values), their
 * inputs, the requested outputs. */
static fs_status build(nn_graph *g, const onnx_model *m, const char *const *req,
                       size_t n_req, name_map *map, fs_error *err)
{
    const onnx_graph *og = &m->graph;
    size_t n_names = og->n_initializers + og->n_inputs + n_req;
    for (size_t i = 0; i < og->n_nodes; i++)
        n_names += og->nodes[i].n_outputs;
    if (map_init(map, n_names) != 0)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", g->model);
    g->opset = m->opset;
    fs_status rc;
    if ((rc = add_initializers(g, og, map, err)) || (rc = add_input(g, og, map, err)) ||
        (rc = add_nodes(g, og, map, err)))
        return rc;
    link_inputs(g, og, map);
    return add_outputs(g, og, req, n_req, map, err);
}

/* Marks the nodes the outputs depend on (iteratively; no recursion on hostile depth). */
static fs_status mark_live(nn_graph *g, const onnx_model *m, fs_error *err)
{
    int *stack = malloc(((size_t)g->n_nodes + 1) * sizeof *stack);
    if (!stack)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", g->model);
    int top = 0;
    for (int i = 0; i < g->n_outputs; i++) {
        int p = g->values[g->outputs[i]].producer;
        if (p >= 0 && !g->nodes[p].live) {
            g->nodes[p].live = 1;
            stack[top++] = p;
        }
    }
    while (top > 0) {
        int index = stack[--top];
        nn_node *n = &g->nodes[index];
        for (int j = 0; j < n->n_in; j++) {
            if (n->in[j] == -2) {
                free(stack);
                return util_fail(err, FS_ERR_FORMAT,
                                 "%s: node '%s' (%s): input '%s' is not produced by any node, "
                                 "initializer or graph input",
                                 g->model, n->label, n->op_type, m->graph.nodes[index].inputs[j]);
            }
            int p = n->in[j] >= 0 ? g->values[n->in[j]].producer : -1;
            if (p >= 0 && !g->nodes[p].live) {
                g->nodes[p].live = 1;
                stack[top++] = p;
            }
        }
    }
    free(stack);
    return FS_OK;
}

/* Kahn's algorithm over live nodes; stable (file order among ready nodes). */
static fs_status topo_sort(nn_graph *g, fs_error *err)
{
    int n = g->n_nodes;
    int *indeg = calloc((size_t)n + 1, sizeof *indeg);
    int *queue = malloc(((size_t)n + 1) * sizeof *queue);
    /* consumers lists: CSR over value → consumer node indices */
    int *start = calloc((size_t)g->n_values + 1, sizeof *start);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        if (g->nodes[i].live)
            total += (size_t)g->nodes[i].n_in;
    int *cons = malloc((total + 1) * sizeof *cons);
    int *fill = calloc((size_t)g->n_values + 1, sizeof *fill);
    fs_status rc = FS_OK;
    if (!indeg || !queue || !start || !cons || !fill) {
        rc = util_fail(err, FS_ERR_NOMEM, "%s: out of memory", g->model);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        nn_node *nd = &g->nodes[i];
        if (!nd->live)
            continue;
        for (int j = 0; j < nd->n_in; j++) {
            int v = nd->in[j];
            if (v >= 0 && g->values[v].producer >= 0) {
                indeg[i]++;
                start[v + 1]++;
            }
        }
    }
    for (int v = 0; v < g->n_values; v++)
        start[v + 1] += start[v];
    for (int i = 0; i < n; i++) {
        nn_node *nd = &g->nodes[i];
        if (!nd->live)
            continue;
        for (int j = 0; j < nd->n_in; j++) {
            int v = nd->in[j];
            if (v >= 0 && g->values[v].producer >= 0)
                cons[start[v] + fill[v]++] = i;
        }
    }
    int head = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (g->nodes[i].live && indeg[i] == 0)
            queue[tail++] = i;
    g->n_order = 0;
    g->order = nn_arena_calloc(&g->arena, (size_t)n + 1, sizeof(int));
    if (!g->order) {
        rc = util_fail(err, FS_ERR_NOMEM, "%s: out of memory", g->model);
        goto done;
    }
    while (head < tail) {
        int i = queue[head++];
        g->order[g->n_order++] = i;
        nn_node *nd = &g->nodes[i];
        for (int j = 0; j < nd->n_out; j++) {
            int v = nd->out[j];
            if (v < 0)
                continue;
            for (int k = start[v]; k < start[v + 1]; k++)
                if (--indeg[cons[k]] == 0)
                    queue[tail++] = cons[k];
        }
    }
    for (int i = 0; i < n; i++) {
        if (g->nodes[i].live && indeg[i] > 0) {
            rc = util_fail(err, FS_ERR_FORMAT, "%s: malformed ONNX model: the graph has a cycle "
                           "(through node '%s' (%s))", g->model, g->nodes[i].label,
                           g->nodes[i].op_type);
            break;
        }
    }
done:
    free(indeg);
    free(queue);
    free(start);
    free(cons);
    free(fill);
    return rc;
}

/* Op support, input counts, attributes, extra outputs unused. */
static fs_status check_ops(nn_graph *g, const onnx_model *m, fs_error *err)
{
    for (int k = 0; k < g->n_order; k++) {
        int i = g->order[k];
        nn_node *n = &g->nodes[i];
        const onnx_node *on = &m->graph.nodes[i];
        const nn_op_info *info = NULL;
        if (!*on->domain || !strcmp(on->domain, "ai.onnx"))
            info = nn_op_lookup(on->op_type);
        if (!info) {
            if (*on->domain)
                return util_fail(err, FS_ERR_UNSUPPORTED,
                                 "%s: node '%s': unsupported op '%s' (domain '%s')", g->model,
                                 n->label, on->op_type, on->domain);
            return util_fail(err, FS_ERR_UNSUPPORTED, "%s: node '%s': unsupported op '%s'",
                             g->model, n->label, on->op_type);
        }
        n->op = info->kind;
        int present = 0;
        for (int j = 0; j < n->n_in; j++)
            present += n->in[j] >= 0;
        if (n->n_in < info->min_in || (info->max_in >= 0 && n->n_in > info->max_in) ||
            n->n_out < 1 || n->out[0] < 0 || (present == 0))
            return util_fail(err, FS_ERR_FORMAT, "%s: node '%s' (%s): wrong number of inputs or "
                             "outputs (%d in, %d out)", g->model, n->label, n->op_type, n->n_in,
                             n->n_out);
        for (int j = 0; j < info->min_in; j++)
            if (n->in[j] < 0 && !(n->op == NN_OP_RESIZE && j > 0))
                return util_fail(err, FS_ERR_FORMAT, "%s: node '%s' (%s): required input #%d is "
                                 "missing", g->model, n->label, n->op_type, j);
        for (int j = info->n_out; j < n->n_out; j++) {
            int v = n->out[j];
            if (v >= 0)
                g->values[v].producer = -2;
        }
        n->n_out = info->n_out;
        fs_status rc = nn_params_parse(on, n->op, g->opset, g->model, n->label, &n->p, err);
        if (rc)
            return rc;
    }
    /* a value that we do not compute must not be used */
    for (int k = 0; k < g->n_order; k++) {
        nn_node *n = &g->nodes[g->order[k]];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && g->values[n->in[j]].producer == -2)
                return util_fail(err, FS_ERR_UNSUPPORTED,
                                 "%s: node '%s' (%s) uses '%s', an optional output that is not "
                                 "supported", g->model, n->label, n->op_type,
                                 g->values[n->in[j]].name);
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->values[g->outputs[i]].producer == -2)
            return util_fail(err, FS_ERR_UNSUPPORTED, "%s: output '%s' is an optional output that "
                             "is not supported", g->model, g->values[g->outputs[i]].name);
    return FS_OK;
}

fs_status nn_graph_build(const void *data, size_t size, const char *name,
                         const char *const *outputs, size_t n_outputs, nn_graph **out,
                         fs_error *err)
{
    *out = NULL;
    nn_graph *g = calloc(1, sizeof *g);
    if (!g)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    nn_arena_init(&g->arena, 0);
    g->model = nn_arena_strndup(&g->arena, name ? name : "model", strlen(name ? name : "model"));
    name_map map = {NULL, 0};
    onnx_model m;
    fs_status rc;
    if (!g->model) {
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = onnx_parse(data, size, g->model, &g->arena, &m, err)))
        goto fail;
    if ((rc = build(g, &m, outputs, n_outputs, &map, err)) ||
        (rc = mark_live(g, &m, err)) || (rc = topo_sort(g, err)) ||
        (rc = check_ops(g, &m, err)))
        goto fail;
    nn_graph_count_consumers(g);
    if ((rc = nn_graph_optimize(g, err)))
        goto fail;
    free(map.slots);
    *out = g;
    return FS_OK;
fail:
    free(map.slots);
    nn_graph_free(g);
    return rc;
}

void nn_graph_free(nn_graph *g)
{
    if (!g)
        return;
    free(g->values);
    nn_arena_free(&g->arena);
    free(g);
}
