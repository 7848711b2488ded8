/*
 * test_nn_fast.c — the fast backend's layout pass and kernels against the reference backend, on
 * small models built in memory (tests/nn/onnx_builder.h) whose shapes hit the edge cases:
 * channel counts that are not multiples of the block (3, 5, 12, 37), conv chains that end in a
 * channel Concat (blocked and dense), Transpose to NHWC, Reshape and graph outputs, per-channel
 * ops between convs (Relu, PRelu, ScaleShift, Mul/Add by constants, Clip), residual Adds fused
 * into the conv (in place, with the residual read again later, with the conv's own source as the
 * residual, with a Relu after the sum, and ending in a dense graph output), MaxPools on the
 * blocked layout (pads, ceil_mode, dilations, 12 and 21 channels), at 1 and 2 threads;
 * and two plans running on two threads at once (OpenMP + oneDNN under pthreads); subnormal
 * weights and subnormal results become zero, and the caller's floating-point mode is restored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>
#include <cmocka.h>
#include <xmmintrin.h>

#include "nn/nn.h"
#include "nn/onnx_builder.h"
#include "nn/plan.h"

#define SHAPE(...) ((int64_t[]){__VA_ARGS__})
#define MAX_OUT 4

/* Deterministic pseudo-random floats in [-scale, scale]. */
static void fill(float *v, size_t n, unsigned seed, float scale)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = ((float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f) * scale;
    }
}

/* Adds initializers name_w [cout][cin/group][k][k] and name_b [cout] and a Conv node. */
static void conv(mb *m, const char *in, const char *out, int cin, int cout, int k, int stride,
                 int group, unsigned seed)
{
    char w[64], b[64], ins[200];
    snprintf(w, sizeof w, "%s_w", out);
    snprintf(b, sizeof b, "%s_b", out);
    size_t nw = (size_t)cout * (size_t)(cin / group) * (size_t)(k * k);
    float *wd = malloc(nw * sizeof *wd), bd[64];
    assert_non_null(wd);
    fill(wd, nw, seed, 1.0f / sqrtf((float)(cin / group * k * k)));
    fill(bd, (size_t)cout, seed + 7, 0.2f);
    mb_init_f32(m, w, 4, SHAPE(cout, cin / group, k, k), wd);
    mb_init_f32(m, b, 1, SHAPE(cout), bd);
    free(wd);
    snprintf(ins, sizeof ins, "%s,%s,%s", in, w, b);
    int64_t p = k / 2;
    mb_node(m, "Conv", ins, out, 3, a_ints("pads", 4, SHAPE(p, p, p, p)),
            a_ints("strides", 2, SHAPE(stride, stride)), a_int("group", group));
}

/* Runs model bytes on both backends with `threads` threads and compares every output:
 * max|fast - ref| <= 1e-4 * max(1, max|ref|). Returns the number of outputs. */
static int compare_backends(const uint8_t *bytes, size_t len, const int64_t *shape, int threads)
{
    size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    fill(x, n, 99, 1.0f);
    float *res[2][MAX_OUT] = {{0}};
    int64_t counts[MAX_OUT] = {0};
    int n_out = 0;
    for (int backend = 0; backend < 2; backend++) {
        nn_options opt = {.backend = backend ? NN_BACKEND_REF : NN_BACKEND_FAST,
                          .threads = threads};
        nn_net *net;
        nn_plan *plan;
        fs_error err = {0};
        if (nn_net_load_buffer(bytes, len, "fast.onnx", &opt, &net, &err) != FS_OK)
            fail_msg("load: %s", err.message);
        if (nn_plan_create(net, shape, 4, 0, &plan, &err) != FS_OK)
            fail_msg("plan: %s", err.message);
        for (int rep = 0; rep < 2; rep++) /* a second run sees dirty buffers */
            if (nn_plan_run(plan, x, &err) != FS_OK)
                fail_msg("run: %s", err.message);
        n_out = (int)nn_net_output_count(net);
        assert_true(n_out <= MAX_OUT);
        for (int i = 0; i < n_out; i++) {
            int64_t s[NN_MAX_DIMS];
            int nd;
            const float *y = nn_plan_output(plan, (size_t)i, s, &nd);
            assert_non_null(y);
            int64_t c = 1;
            for (int d = 0; d < nd; d++)
                c *= s[d];
            if (backend)
                assert_int_equal(c, counts[i]);
            counts[i] = c;
            res[backend][i] = malloc((size_t)c * sizeof(float));
            assert_non_null(res[backend][i]);
            memcpy(res[backend][i], y, (size_t)c * sizeof(float));
        }
        nn_plan_free(plan);
        nn_net_free(net);
    }
    for (int i = 0; i < n_out; i++) {
        double maxref = 1.0, maxdiff = 0.0;
        for (int64_t k = 0; k < counts[i]; k++) {
            double r = res[1][i][k], f = res[0][i][k];
            if (fabs(r) > maxref)
                maxref = fabs(r);
            if (!(fabs(f - r) <= maxdiff)) /* also catches NaN */
                maxdiff = isnan(f) ? INFINITY : fabs(f - r);
        }
        if (!(maxdiff <= 1e-4 * maxref))
            fail_msg("output %d (threads %d): max|fast-ref| = %g, max|ref| = %g", i, threads,
                     maxdiff, maxref);
        free(res[0][i]);
        free(res[1][i]);
    }
    free(x);
    return n_out;
}

/* What the fast plan of a model looks like after the layout pass. */
typedef struct plan_stats {
    int adds, residuals, relu_after, blocked_out, to_dense, blocked_concat, dense_concat;
    int blocked_pool, dense_pool;
} plan_stats;

static plan_stats stats_of(const uint8_t *bytes, size_t len, const int64_t *shape)
{
    nn_options opt = {.backend = NN_BACKEND_FAST, .threads = 1};
    nn_net *net;
    nn_plan *plan;
    fs_error err = {0};
    plan_stats st = {0};
    assert_int_equal(nn_net_load_buffer(bytes, len, "stats.onnx", &opt, &net, &err), FS_OK);
    assert_int_equal(nn_plan_create(net, shape, 4, 0, &plan, &err), FS_OK);
    for (int i = 0; i < nn_plan_step_count(plan); i++) {
        const nn_step *s = nn_plan_step(plan, i);
        st.adds += s->node->op == NN_OP_ADD;
        st.residuals += s->residual != NULL;
        st.relu_after += s->after_sum == NN_ACT_RELU;
        st.blocked_out += s->out[0]->blocked != 0;
        st.to_dense += s->to_plain;
        if (s->node->op == NN_OP_CONCAT) {
            st.blocked_concat += s->out[0]->blocked != 0;
            st.dense_concat += s->out[0]->blocked == 0;
        }
        if (s->node->op == NN_OP_MAXPOOL) {
            st.blocked_pool += s->out[0]->blocked != 0;
            st.dense_pool += s->out[0]->blocked == 0;
        }
    }
    /* graph outputs stay dense */
    for (size_t k = 0; k < nn_net_output_count(net); k++) {
        int64_t sh[NN_MAX_DIMS];
        int nd;
        assert_non_null(nn_plan_output(plan, k, sh, &nd));
    }
    nn_plan_free(plan);
    nn_net_free(net);
    return st;
}

/* Convs with 3 -> 5 -> 12 channels, per-channel ops, a residual whose reader is also the conv's
 * source, a dense Concat (12 + 5 channels), a blocked Concat (16 + 16 + 5), Transpose to NHWC,
 * Reshape, and a blocked value that is also a graph output. */
static uint8_t *model_chain(size_t *len)
{
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 4, SHAPE(1, 3, 9, 11));
    conv(&m, "x", "c1", 3, 5, 3, 1, 1, 1);
    mb_node(&m, "Relu", "c1", "r1", 0);
    conv(&m, "r1", "c2", 5, 12, 1, 1, 1, 2);
    float slope[12];
    fill(slope, 12, 3, 0.3f);
    mb_init_f32(&m, "slope", 3, SHAPE(12, 1, 1), slope);
    mb_node(&m, "PRelu", "c2,slope", "p2", 0);
    conv(&m, "p2", "c3", 12, 12, 3, 1, 12, 4);
    mb_node(&m, "Add", "c3,p2", "s3", 0);     /* residual p2 is also c3's source */
    mb_node(&m, "Relu", "s3", "r3", 0);
    float bn[4][12];
    for (int i = 0; i < 4; i++)
        fill(bn[i], 12, 10 + (unsigned)i, 0.5f);
    for (int c = 0; c < 12; c++)
        bn[3][c] = 1.0f + fabsf(bn[3][c]);
    mb_init_f32(&m, "bn_s", 1, SHAPE(12), bn[0]);
    mb_init_f32(&m, "bn_b", 1, SHAPE(12), bn[1]);
    mb_init_f32(&m, "bn_m", 1, SHAPE(12), bn[2]);
    mb_init_f32(&m, "bn_v", 1, SHAPE(12), bn[3]);
    mb_node(&m, "BatchNormalization", "r3,bn_s,bn_b,bn_m,bn_v", "bn", 0);
    mb_init_f32(&m, "k", 0, NULL, (float[]){1.5f});
    mb_node(&m, "Mul", "bn,k", "m1", 0);
    float chan[12];
    fill(chan, 12, 21, 0.4f);
    mb_init_f32(&m, "chan", 3, SHAPE(12, 1, 1), chan);
    mb_node(&m, "Sub", "chan,m1", "m2", 0);
    mb_init_f32(&m, "lo", 0, NULL, (float[]){-0.25f});
    mb_init_f32(&m, "hi", 0, NULL, (float[]){0.75f});
    mb_node(&m, "Clip", "m2,lo,hi", "cl", 0);
    mb_node(&m, "Concat", "cl,c1", "cat1", 1, a_int("axis", 1)); /* 12 + 5: dense */
    mb_init_i64(&m, "shape1", 1, SHAPE(3), SHAPE(1, 17, -1));
    mb_node(&m, "Reshape", "cat1,shape1", "out1", 0);
    conv(&m, "cl", "q1", 12, 16, 3, 2, 1, 5);
    conv(&m, "cl", "q2", 12, 16, 1, 2, 1, 6);
    conv(&m, "cl", "q3", 12, 5, 3, 2, 1, 7);
    /* 16 + 16 + 5: blocked with 8- and 16-channel blocks alike */
    mb_node(&m, "Concat", "q1,q2,q3", "cat2", 1, a_int("axis", 1));
    conv(&m, "cat2", "t", 37, 7, 1, 1, 1, 8);
    mb_node(&m, "Transpose", "t", "tt", 1, a_ints("perm", 4, SHAPE(0, 2, 3, 1)));
    mb_init_i64(&m, "shape2", 1, SHAPE(3), SHAPE(1, -1, 7));
    mb_node(&m, "Reshape", "tt,shape2", "out2", 0);
    mb_output(&m, "out1");
    mb_output(&m, "out2");
    mb_output(&m, "r3"); /* blocked inside, a graph output too */
    return mb_finish(&m, len);
}

/* Residual Adds: b + a where a is read again later (no in place), a Relu after the sum, and a
 * last residual Add whose sum is a graph output (dense dst, blocked residual), after a dilated
 * conv with a large pad (explicit padding path). 16 channels. */
static uint8_t *model_residual(size_t *len)
{
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 4, SHAPE(1, 4, 10, 7));
    conv(&m, "x", "a0", 4, 16, 3, 1, 1, 11);
    mb_node(&m, "Relu", "a0", "a", 0);
    conv(&m, "a", "b", 16, 16, 3, 1, 1, 12);
    mb_node(&m, "Add", "b,a", "s", 0);
    mb_node(&m, "Relu", "s", "r", 0);
    conv(&m, "a", "c", 16, 16, 1, 1, 1, 13); /* a read after the fused Add */
    mb_node(&m, "Add", "r,c", "out0", 0);
    /* dilated 3x3 with pad 5: oneDNN's JIT refuses the padding, the backend pads explicitly */
    float wd[16 * 16 * 9], bd[16];
    fill(wd, sizeof wd / sizeof *wd, 14, 0.1f);
    fill(bd, 16, 15, 0.1f);
    mb_init_f32(&m, "wd", 4, SHAPE(16, 16, 3, 3), wd);
    mb_init_f32(&m, "bd", 1, SHAPE(16), bd);
    mb_node(&m, "Conv", "out0,wd,bd", "d", 2, a_ints("pads", 4, SHAPE(5, 5, 5, 5)),
            a_ints("dilations", 2, SHAPE(5, 5)));
    mb_node(&m, "Add", "d,out0", "out", 0);
    mb_output(&m, "out");
    return mb_finish(&m, len);
}

/* MaxPools between convs, as dlib's recognizer has one after its first conv: 12 channels (a
 * padding lane block), windows of negative values only (the first pool), pads with ceil_mode, a
 * dilated window, a window wider than the padded image's edge, and a pool whose output is a graph
 * output (dense) beside one read by a conv (blocked). */
static uint8_t *model_pool(size_t *len)
{
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 4, SHAPE(1, 3, 23, 19));
    conv(&m, "x", "c1", 3, 12, 7, 2, 1, 31);
    mb_init_f32(&m, "shift", 0, NULL, (float[]){3.0f});
    mb_node(&m, "Sub", "c1,shift", "c1m", 0); /* mostly negative: whole windows below 0 */
    mb_node(&m, "MaxPool", "c1m", "p1", 2, a_ints("kernel_shape", 2, SHAPE(3, 3)),
            a_ints("strides", 2, SHAPE(2, 2)));
    conv(&m, "p1", "c2", 12, 21, 3, 1, 1, 32);
    mb_node(&m, "MaxPool", "c2", "p2", 4, a_ints("kernel_shape", 2, SHAPE(3, 2)),
            a_ints("strides", 2, SHAPE(2, 1)), a_ints("pads", 4, SHAPE(1, 0, 1, 1)),
            a_int("ceil_mode", 1));
    conv(&m, "p2", "c3", 21, 16, 1, 1, 1, 33);
    mb_node(&m, "MaxPool", "c3", "p3", 3, a_ints("kernel_shape", 2, SHAPE(2, 2)),
            a_ints("dilations", 2, SHAPE(2, 2)), a_ints("pads", 4, SHAPE(1, 1, 1, 1)));
    conv(&m, "p3", "c4", 16, 5, 3, 1, 1, 34);
    mb_node(&m, "MaxPool", "c2", "out2", 2, a_ints("kernel_shape", 2, SHAPE(5, 5)),
            a_ints("pads", 4, SHAPE(4, 4, 4, 4)));
    mb_output(&m, "c4");
    mb_output(&m, "out2");
    return mb_finish(&m, len);
}

static void test_maxpool_blocked(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = model_pool(&len);
    for (int t = 1; t <= 2; t++) {
        assert_int_equal(compare_backends(bytes, len, SHAPE(1, 3, 23, 19), t), 2);
        assert_int_equal(compare_backends(bytes, len, SHAPE(1, 3, 40, 33), t), 2);
    }
    plan_stats st = stats_of(bytes, len, SHAPE(1, 3, 23, 19));
    assert_int_equal(st.blocked_pool, 3); /* every pool read by a conv */
    assert_int_equal(st.dense_pool, 1);   /* the graph output */
    free(bytes);
}

static void test_chain_edges(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = model_chain(&len);
    for (int t = 1; t <= 2; t++) {
        assert_int_equal(compare_backends(bytes, len, SHAPE(1, 3, 9, 11), t), 3);
        assert_int_equal(compare_backends(bytes, len, SHAPE(1, 3, 16, 5), t), 3);
    }
    plan_stats st = stats_of(bytes, len, SHAPE(1, 3, 9, 11));
    assert_int_equal(st.adds, 0);          /* c3 + p2 fused into c3's conv ... */
    assert_int_equal(st.residuals, 1);
    assert_int_equal(st.relu_after, 1);    /* ... with the Relu after it */
    assert_int_equal(st.blocked_concat, 1); /* 16 + 16 + 5 */
    assert_int_equal(st.dense_concat, 1);   /* 12 + 5 */
    assert_true(st.to_dense >= 2);          /* at least before the dense Concat */
    assert_true(st.blocked_out >= 8);
    free(bytes);
}

static void test_residual_fusion(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = model_residual(&len);
    for (int t = 1; t <= 2; t++)
        compare_backends(bytes, len, SHAPE(1, 4, 10, 7), t);
    /* the plan: both Adds and the Relu after the first are fused into convs */
    nn_options opt = {.backend = NN_BACKEND_FAST, .threads = 1};
    nn_net *net;
    nn_plan *plan;
    fs_error err = {0};
    assert_int_equal(nn_net_load_buffer(bytes, len, "res.onnx", &opt, &net, &err), FS_OK);
    assert_int_equal(nn_plan_create(net, SHAPE(1, 4, 10, 7), 4, 0, &plan, &err), FS_OK);
    int adds = 0, fused = 0, relu_after = 0, blocked = 0;
    for (int i = 0; i < nn_plan_step_count(plan); i++) {
        const nn_step *s = nn_plan_step(plan, i);
        adds += s->node->op == NN_OP_ADD;
        fused += s->residual != NULL;
        relu_after += s->after_sum == NN_ACT_RELU;
        blocked += s->out[0]->blocked != 0;
    }
    assert_int_equal(adds, 0);
    assert_int_equal(fused, 3);
    assert_int_equal(relu_after, 1);
    assert_true(blocked >= 2);
    /* the graph output stays dense */
    int64_t s[NN_MAX_DIMS];
    int nd;
    assert_non_null(nn_plan_output(plan, 0, s, &nd));
    assert_int_equal(nd, 4);
    nn_plan_free(plan);
    nn_net_free(net);
    free(bytes);
}

typedef struct job {
    const uint8_t *bytes;
    size_t len;
    int threads;
    float *out;  /* first output of the last run, copied */
    int64_t count;
    int runs;
    int failed;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    nn_options opt = {.backend = NN_BACKEND_FAST, .threads = j->threads};
    nn_net *net = NULL;
    nn_plan *plan = NULL;
    fs_error err = {0};
    float x[1 * 4 * 10 * 7];
    fill(x, sizeof x / sizeof *x, 5, 1.0f);
    if (nn_net_load_buffer(j->bytes, j->len, "job.onnx", &opt, &net, &err) != FS_OK ||
        nn_plan_create(net, SHAPE(1, 4, 10, 7), 4, 0, &plan, &err) != FS_OK) {
        j->failed = 1;
        nn_net_free(net);
        return NULL;
    }
    for (int r = 0; r < j->runs && !j->failed; r++)
        if (nn_plan_run(plan, x, &err) != FS_OK)
            j->failed = 1;
    int64_t s[NN_MAX_DIMS];
    int nd;
    const float *y = nn_plan_output(plan, 0, s, &nd);
    j->count = 1;
    for (int d = 0; d < nd; d++)
        j->count *= s[d];
    j->out = malloc((size_t)j->count * sizeof(float));
    if (j->out)
        memcpy(j->out, y, (size_t)j->count * sizeof(float));
    else
        j->failed = 1;
    nn_plan_free(plan);
    nn_net_free(net);
    return NULL;
}

/* Two plans on two pthreads at once (threads 1 each, then 2 each): the same results as alone. */
static void test_plans_on_two_threads(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = model_residual(&len);
    for (int t = 1; t <= 2; t++) {
        job alone = {bytes, len, t, NULL, 0, 1, 0};
        run_job(&alone);
        assert_false(alone.failed);
        job jobs[2] = {{bytes, len, t, NULL, 0, 50, 0}, {bytes, len, t, NULL, 0, 50, 0}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < 2; i++) {
            assert_false(jobs[i].failed);
            assert_int_equal(jobs[i].count, alone.count);
            assert_memory_equal(jobs[i].out, alone.out, (size_t)alone.count * sizeof(float));
            free(jobs[i].out);
        }
        free(alone.out);
    }
    free(bytes);
}

/* A 16 -> 16 1x1 conv whose weights are all w, run on an input of all x: each output is 16*w*x
 * computed in fp32, or 0 where the runtime keeps subnormals out. */
static void conv_of_constants(float w, float x, int threads, nn_backend_kind backend,
                              float *max_abs, unsigned int *csr_after)
{
    float wv[16 * 16];
    for (size_t i = 0; i < 16 * 16; i++)
        wv[i] = w;
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 4, SHAPE(1, 16, 3, 3));
    mb_init_f32(&m, "w", 4, SHAPE(16, 16, 1, 1), wv);
    mb_node(&m, "Conv", "x,w", "y", 0);
    mb_output(&m, "y");
    size_t len;
    uint8_t *bytes = mb_finish(&m, &len);
    float in[16 * 9];
    for (size_t i = 0; i < 16 * 9; i++)
        in[i] = x;
    nn_options opt = {.backend = backend, .threads = threads};
    nn_net *net;
    nn_plan *plan;
    fs_error err = {0};
    assert_int_equal(nn_net_load_buffer(bytes, len, "tiny.onnx", &opt, &net, &err), FS_OK);
    assert_int_equal(nn_plan_create(net, SHAPE(1, 16, 3, 3), 4, 0, &plan, &err), FS_OK);
    assert_int_equal(nn_plan_run(plan, in, &err), FS_OK);
    *csr_after = _mm_getcsr() & ~0x3fu; /* the mode bits, not the sticky exception flags */
    const float *y = nn_plan_output(plan, 0, NULL, NULL);
    assert_non_null(y);
    *max_abs = 0;
    for (size_t i = 0; i < 16 * 9; i++)
        *max_abs = fmaxf(*max_abs, fabsf(y[i]));
    nn_plan_free(plan);
    nn_net_free(net);
    free(bytes);
}

static void test_subnormals_become_zero(void **state)
{
    (void)state;
    unsigned int csr = _mm_getcsr() & ~0x3fu;
    for (int backend = 0; backend < 2; backend++) {
        for (int t = 1; t <= 2; t++) {
            nn_backend_kind b = backend ? NN_BACKEND_REF : NN_BACKEND_FAST;
            float y;
            unsigned int after;
            /* normal weights and input: the product is normal and computed */
            conv_of_constants(1e-20f, 1e-10f, t, b, &y, &after);
            assert_float_equal(y, 16e-30f, 1e-35f);
            assert_int_equal(after, csr);
            /* subnormal weights (1e-39), huge input: 1.6e-28 if they were used, 0 when zeroed */
            conv_of_constants(1e-39f, 1e10f, t, b, &y, &after);
            assert_true(y == 0.0f);
            /* normal weights and input, subnormal products (1e-40): flushed to 0 in the run */
            conv_of_constants(1e-25f, 1e-15f, t, b, &y, &after);
            assert_true(y == 0.0f);
            assert_int_equal(after, csr); /* the caller's mode is back */
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_edges),
        cmocka_unit_test(test_maxpool_blocked),
        cmocka_unit_test(test_residual_fusion),
        cmocka_unit_test(test_plans_on_two_threads),
        cmocka_unit_test(test_subnormals_become_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
