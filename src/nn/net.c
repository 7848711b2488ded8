/*
 * net.c — the nn.h entry points for networks: load (file or buffer) → graph (graph.c), checked
 * once at the declared input shape when the file fixes it, so that a model whose shapes do not
 * work out is rejected at load time rather than at first use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/plan.h"
#include "util/big_alloc.h"
#include "util/error.h"

/* Model files larger than this are refused (ours are a few MB; insightface's are < 200 MB). */
#define NN_MAX_FILE_BYTES ((long)1 << 30)

fs_status nn_net_load_buffer(const void *data, size_t size, const char *name, const nn_options *opt,
                             nn_net **out, fs_error *err)
{
    if (!out)
        return util_fail(err, FS_ERR_ARG, "nn_net_load_buffer: out is NULL");
    *out = NULL;
    if (!name)
        name = "model";
    nn_net *net = calloc(1, sizeof *net);
    if (!net)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", name);
    net->backend = opt ? opt->backend : NN_BACKEND_FAST;
    net->precision = opt && opt->precision == NN_PRECISION_BF16 ? NN_PRECISION_BF16
                                                                 : NN_PRECISION_FP32;
    int threads = opt ? opt->threads : 0;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    net->threads = threads;
    if (opt && opt->outputs && opt->output_count == 0) {
        free(net);
        return util_fail(err, FS_ERR_ARG, "%s: outputs given but output_count is 0", name);
    }
    fs_status rc = nn_graph_build(data, size, name, opt ? opt->outputs : NULL,
                                  opt && opt->outputs ? opt->output_count : 0, &net->graph, err);
    if (rc) {
        free(net);
        return rc;
    }
    const nn_graph *g = net->graph;
    int fixed = g->input_ndim > 0;
    for (int i = 0; i < g->input_ndim; i++)
        fixed = fixed && g->input_dims[i] > 0;
    if (fixed) {
        nn_plan *unused;
        rc = nn_plan_build(net, g->input_dims, g->input_ndim, 1, 1, &unused, err);
        if (rc) {
            nn_net_free(net);
            return rc;
        }
    }
    *out = net;
    return FS_OK;
}

fs_status nn_net_load(const char *path, const nn_options *opt, nn_net **out, fs_error *err)
{
    if (!out || !path)
        return util_fail(err, FS_ERR_ARG, "nn_net_load: path or out is NULL");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return util_fail(err, errno == ENOENT ? FS_ERR_NOT_FOUND : FS_ERR_IO, "%s: %s", path,
                         strerror(errno));
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return util_fail(err, FS_ERR_IO, "%s: cannot determine the file size", path);
    }
    if (size > NN_MAX_FILE_BYTES) {
        fclose(f);
        return util_fail(err, FS_ERR_LIMIT, "%s: model file is too large (%ld bytes)", path, size);
    }
    void *data = util_big_alloc((size_t)size);
    if (!data) {
        fclose(f);
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory reading the model", path);
    }
    size_t got = fread(data, 1, (size_t)size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != (size_t)size) {
        free(data);
        return util_fail(err, FS_ERR_IO, "%s: read error", path);
    }
    fs_status rc = nn_net_load_buffer(data, (size_t)size, path, opt, out, err);
    free(data);
    return rc;
}

void nn_net_free(nn_net *net)
{
    if (!net)
        return;
    nn_graph_free(net->graph);
    free(net);
}

int nn_net_input_shape(const nn_net *net, int64_t shape[NN_MAX_DIMS])
{
    const nn_graph *g = net->graph;
    for (int i = 0; i < g->input_ndim; i++)
        shape[i] = g->input_dims[i];
    return g->input_ndim;
}

size_t nn_net_output_count(const nn_net *net)
{
    return (size_t)net->graph->n_outputs;
}

const char *nn_net_output_name(const nn_net *net, size_t i)
{
    if (i >= (size_t)net->graph->n_outputs)
        return NULL;
    return net->graph->values[net->graph->outputs[i]].name;
}

nn_precision nn_net_precision(const nn_net *net)
{
    return net->precision;
}
