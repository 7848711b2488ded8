/*
 * identify.c — the role of an ONNX model from its signature (rules in identify.h), and the
 * detector + recognizer of a pack folder without a manifest, found the way insightface's
 * FaceAnalysis finds them: every .onnx file in name order, the first model of each role wins.
 *
 * Models are loaded with our own runtime on the plain-C backend, one thread, and planned once
 * without running: planning resolves every output shape, and a model whose shapes do not work out
 * is refused here rather than at the first photo.
 */
#include "models/identify.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/paths.h"

/* Spatial size at which a detector with a symbolic input size is planned: small (planning the
 * real det_10g costs little at this size) and a multiple of 32, so every stride divides it. */
#define FS_PROBE_SIDE 128
#define REC_SIDE 112
#define EMBEDDING 512
#define SCRFD_ANCHORS 2

static const int scrfd_strides[3] = {8, 16, 32};

/* Writes "(d0,d1,...)" into buf. */
static void shape_text(const int64_t *dims, int nd, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < nd && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%" PRId64, i ? "," : "(", dims[i]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
    if (used < size)
        snprintf(buf + used, size - used, nd ? ")" : "()");
}

/* Recognizer rule on a net whose input is [N,3,112,112]: one output of shape (1,512).
 * Returns 1 if it holds, else 0 with why filled. */
static int recognizer_ok(nn_net *net, char *why, size_t why_size, fs_status *st, fs_error *err)
{
    size_t n_out = nn_net_output_count(net);
    if (n_out != 1) {
        snprintf(why, why_size, "%zu outputs, expected one embedding", n_out);
        return 0;
    }
    const int64_t shape[4] = {1, 3, REC_SIDE, REC_SIDE};
    nn_plan *plan;
    if ((*st = nn_plan_create(net, shape, 4, 0, &plan, err)) != FS_OK)
        return 0;
    int64_t dims[NN_MAX_DIMS];
    int nd = 0;
    nn_plan_output(plan, 0, dims, &nd);
    nn_plan_free(plan);
    if (nd == 2 && dims[0] == 1 && dims[1] == EMBEDDING)
        return 1;
    char text[96];
    shape_text(dims, nd, text, sizeof text);
    if (nd == 2 && dims[0] == 1)
        snprintf(why, why_size, "its embedding has %" PRId64 " values, expected %d", dims[1],
                 EMBEDDING);
    else
        snprintf(why, why_size, "its output has shape %s, expected (1,%d)", text, EMBEDDING);
    return 0;
}

/* Detector rule on a net with a 4-D 3-channel input and 6 or 9 outputs, planned at in_h x in_w. */
static int detector_ok(nn_net *net, int64_t in_h, int64_t in_w, char *why, size_t why_size,
                       fs_status *st, fs_error *err)
{
    size_t n_out = nn_net_output_count(net);
    const int64_t shape[4] = {1, 3, in_h, in_w};
    nn_plan *plan;
    if ((*st = nn_plan_create(net, shape, 4, 0, &plan, err)) != FS_OK)
        return 0;
    static const char *const what[3] = {"score", "box", "keypoint"};
    static const int64_t per_row[3] = {1, 4, 10};
    int ok = 1;
    for (size_t i = 0; ok && i < n_out; i++) {
        int64_t dims[NN_MAX_DIMS];
        int nd = 0;
        nn_plan_output(plan, i, dims, &nd);
        size_t kind = i / 3;
        int stride = scrfd_strides[i % 3];
        int64_t rows = (in_h / stride) * (in_w / stride) * SCRFD_ANCHORS;
        int64_t numel = 1;
        for (int d = 0; d < nd; d++)
            numel *= dims[d];
        char text[96];
        shape_text(dims, nd, text, sizeof text);
        if (nd < 1 || dims[nd - 1] != per_row[kind]) {
            snprintf(why, why_size,
                     "output %zu (stride-%d %ss) has shape %s, expected (N,%" PRId64 ")", i + 1,
                     stride, what[kind], text, per_row[kind]);
            ok = 0;
        } else if (numel != rows * per_row[kind]) {
            snprintf(why, why_size,
                     "output %zu (stride-%d %ss) has shape %s at a %" PRId64 "x%" PRId64
                     " input, expected (%" PRId64 ",%" PRId64 ")",
                     i + 1, stride, what[kind], text, in_w, in_h, rows, per_row[kind]);
            ok = 0;
        }
    }
    nn_plan_free(plan);
    return ok;
}

/* Decides the role of a loaded net. A planning failure is returned as an error. */
static fs_status classify(nn_net *net, model_role *role, char *why, size_t why_size,
                          fs_error *err)
{
    *role = FS_ROLE_OTHER;
    int64_t in[NN_MAX_DIMS];
    int nd = nn_net_input_shape(net, in);
    size_t n_out = nn_net_output_count(net);
    fs_status rc = FS_OK;
    if (nd != 4 || (in[1] != 0 && in[1] != 3)) {
        char text[96];
        shape_text(in, nd, text, sizeof text);
        snprintf(why, why_size, "its input %s is not an RGB image (N,3,H,W)", text);
        return FS_OK;
    }
    if (in[2] == REC_SIDE && in[3] == REC_SIDE && n_out < 6) {
        if (recognizer_ok(net, why, why_size, &rc, err))
            *role = FS_ROLE_RECOGNIZER;
        return rc;
    }
    if (n_out == 6 || n_out == 9) {
        int64_t h = in[2] > 0 ? in[2] : FS_PROBE_SIDE, w = in[3] > 0 ? in[3] : FS_PROBE_SIDE;
        if (detector_ok(net, h, w, why, why_size, &rc, err))
            *role = FS_ROLE_DETECTOR;
        return rc;
    }
    char text[96];
    shape_text(in, nd, text, sizeof text);
    snprintf(why, why_size, "input %s with %zu output%s: neither a %dx%d recognizer nor an SCRFD "
             "detector (6 or 9 outputs)", text, n_out, n_out == 1 ? "" : "s", REC_SIDE, REC_SIDE);
    return FS_OK;
}

fs_status model_identify(const char *path, model_role *role, char *why, size_t why_size,
                         fs_error *err)
{
    *role = FS_ROLE_OTHER;
    if (why_size)
        why[0] = '\0';
    nn_options opt = {.backend = NN_BACKEND_REF, .threads = 1};
    nn_net *net;
    fs_status rc = nn_net_load(path, &opt, &net, err);
    if (rc)
        return rc;
    rc = classify(net, role, why, why_size, err);
    nn_net_free(net);
    return rc;
}

fs_status model_check_role(const char *path, model_role role, fs_error *err)
{
    if (role != FS_ROLE_DETECTOR && role != FS_ROLE_RECOGNIZER)
        return util_fail(err, FS_ERR_INTERNAL, "model_check_role: bad role %d", (int)role);
    model_role found;
    char why[256];
    fs_status rc = model_identify(path, &found, why, sizeof why, err);
    if (rc)
        return rc;
    if (found == role)
        return FS_OK;
    if (found != FS_ROLE_OTHER)
        snprintf(why, sizeof why, "it has the signature of a face %s",
                 found == FS_ROLE_DETECTOR ? "detector" : "recognizer");
    return util_fail(err, FS_ERR_FORMAT, "%s: not %s: %s", path,
                     role == FS_ROLE_DETECTOR ? "an SCRFD face detector" : "a face recognizer",
                     why);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_onnx(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".onnx") == 0;
}

/* The .onnx file names of dir, sorted; *names malloc'd (each entry too). */
static fs_status list_onnx(const char *dir, char ***names, size_t *count, fs_error *err)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return util_fail(err, FS_ERR_IO, "%s: cannot list the folder", dir);
    fs_status rc = FS_OK;
    size_t cap = 0;
    struct dirent *e;
    while (rc == FS_OK && (e = readdir(d)) != NULL) {
        if (!is_onnx(e->d_name))
            continue;
        char **grown = util_grow(*names, &cap, *count + 1, sizeof *grown, 8);
        if (!grown) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        *names = grown;
        if (!((*names)[*count] = strdup(e->d_name)))
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory listing %s", dir);
        else
            (*count)++;
    }
    closedir(d);
    if (rc == FS_OK && *count)
        qsort(*names, *count, sizeof **names, by_name);
    return rc;
}

fs_status model_identify_pack(const char *dir, char **detector, char **recognizer, fs_error *err)
{
    *detector = *recognizer = NULL;
    char **names;
    size_t count;
    fs_status st = list_onnx(dir, &names, &count, err);
    char skipped[256] = ""; /* the first file that did not load, and why */
    for (size_t i = 0; st == FS_OK && i < count && !(*detector && *recognizer); i++) {
        char path[4096];
        if (util_path_join(path, sizeof path, dir, names[i]))
            continue;
        model_role role;
        char why[256];
        fs_error ferr;
        fs_status mst = model_identify(path, &role, why, sizeof why, &ferr);
        if (mst == FS_ERR_NOMEM) {
            st = util_fail(err, mst, "%s", ferr.message);
        } else if (mst != FS_OK) {
            /* the loader's message starts with the path: keep what follows it */
            const char *msg = ferr.message;
            size_t len = strlen(path);
            if (strncmp(msg, path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
                msg += len + 2;
            if (!skipped[0])
                snprintf(skipped, sizeof skipped, "; %.60s did not load: %.160s", names[i], msg);
        } else if (role == FS_ROLE_DETECTOR && !*detector) {
            *detector = names[i];
            names[i] = NULL;
        } else if (role == FS_ROLE_RECOGNIZER && !*recognizer) {
            *recognizer = names[i];
            names[i] = NULL;
        }
    }
    if (st == FS_OK && (!*detector || !*recognizer)) {
        const char *missing = !*detector && !*recognizer
                                  ? "no SCRFD face detector and no face recognizer"
                              : !*detector ? "no SCRFD face detector"
                                           : "no face recognizer";
        st = util_fail(err, FS_ERR_NOT_FOUND,
                       "%s: %s among its %zu .onnx file%s and no manifest (a detector has 6 or 9 "
                       "outputs for strides 8, 16, 32; a recognizer takes 112x112 and gives 512 "
                       "values)%s", dir, missing, count, count == 1 ? "" : "s", skipped);
    }
    if (st != FS_OK) {
        free(*detector);
        free(*recognizer);
        *detector = *recognizer = NULL;
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return st;
}
