/*
 * test_nn_ops.c — every op of the runtime on tiny models (built in memory with
 * tests/nn/onnx_builder.h) against values computed by hand: Conv in its variants (padding,
 * strides, dilations, groups, auto_pad, fused Relu/PRelu/Clip, folded BatchNormalization), the
 * element-wise ops with broadcasting, layout ops, pools, Resize/Upsample, Slice, Gather, Softmax
 * in both opset semantics, Gemm/MatMul, constant folding of Shape chains at several input sizes,
 * and stopping at an intermediate tensor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "nn/nn.h"
#include "nn/onnx_builder.h"

/* Finishes m, plans it for x's shape, runs it and compares output 0 with want (abs 1e-5). */
static void run_check_outs(mb *m, const char *const *outs, size_t n_outs, int ndim,
                           const int64_t *shape, const float *x, int want_ndim,
                           const int64_t *want_shape, const float *want)
{
    size_t len;
    uint8_t *bytes = mb_finish(m, &len);
    for (int backend = 0; backend < 2; backend++) {
        nn_net *net;
        nn_plan *plan;
        fs_error err = {0};
        nn_options opt = {.backend = backend ? NN_BACKEND_REF : NN_BACKEND_FAST, .threads = 1,
                          .outputs = outs, .output_count = n_outs};
        if (nn_net_load_buffer(bytes, len, "op.onnx", &opt, &net, &err) != FS_OK)
            fail_msg("load: %s", err.message);
        if (nn_plan_create(net, shape, ndim, 0, &plan, &err) != FS_OK)
            fail_msg("plan: %s", err.message);
        if (nn_plan_run(plan, x, &err) != FS_OK)
            fail_msg("run: %s", err.message);
        int64_t s[NN_MAX_DIMS];
        int nd;
        const float *y = nn_plan_output(plan, 0, s, &nd);
        assert_non_null(y);
        assert_int_equal(nd, want_ndim);
        int64_t count = 1;
        for (int i = 0; i < nd; i++) {
            assert_int_equal(s[i], want_shape[i]);
            count *= s[i];
        }
        for (int64_t i = 0; i < count; i++)
            if (fabsf(y[i] - want[i]) > 1e-5f * (1.0f + fabsf(want[i])))
                fail_msg("element %lld: got %.7g, want %.7g", (long long)i, y[i], want[i]);
        nn_plan_free(plan);
        nn_net_free(net);
    }
    free(bytes);
}

static void run_check(mb *m, int ndim, const int64_t *shape, const float *x, int want_ndim,
                      const int64_t *want_shape, const float *want)
{
    run_check_outs(m, NULL, 0, ndim, shape, x, want_ndim, want_shape, want);
}

#define SHAPE(...) ((int64_t[]){__VA_ARGS__})
#define DATA(...) ((float[]){__VA_ARGS__})
#define I64(...) ((int64_t[]){__VA_ARGS__})

static const float X9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const float ONES[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};

static void test_conv_pad_bias(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 1, 3, 3));
    mb_init_f32(&m, "w", 4, SHAPE(1, 1, 3, 3), ONES);
    mb_init_f32(&m, "b", 1, SHAPE(1), DATA(1));
    mb_node(&m, "Conv", "x,w,b", "y", 2, a_ints("pads", 4, I64(1, 1, 1, 1)),
            a_ints("kernel_shape", 2, I64(3, 3)));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 3, 3), X9, 4, SHAPE(1, 1, 3, 3),
              DATA(13, 22, 17, 28, 46, 34, 25, 40, 29));
}

static void test_conv_stride_dilation_group(void **state)
{
    (void)state;
    float x16[16];
    for (int i = 0; i < 16; i++)
        x16[i] = (float)i;
    mb m;
    /* 1x1 stride 2 picks every other pixel */
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 1, 4, 4));
    mb_init_f32(&m, "w", 4, SHAPE(1, 1, 1, 1), DATA(2));
    mb_node(&m, "Conv", "x,w", "y", 1, a_ints("strides", 2, I64(2, 2)));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 4, 4), x16, 4, SHAPE(1, 1, 2, 2), DATA(0, 4, 16, 20));
    /* 2x2 kernel dilated by 2 over 3x3: the four corners */
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 1, 3, 3));
    mb_init_f32(&m, "w", 4, SHAPE(1, 1, 2, 2), ONES);
    mb_node(&m, "Conv", "x,w", "y", 1, a_ints("dilations", 2, I64(2, 2)));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 3, 3), X9, 4, SHAPE(1, 1, 1, 1), DATA(20));
    /* depthwise: 2 channels, 1x1 weights 2 and 3 */
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 2, 1, 2));
    mb_init_f32(&m, "w", 4, SHAPE(2, 1, 1, 1), DATA(2, 3));
    mb_node(&m, "Conv", "x,w", "y", 1, a_int("group", 2));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 2, 1, 2), DATA(1, 2, 3, 4), 4, SHAPE(1, 2, 1, 2),
              DATA(2, 4, 9, 12));
    /* grouped: 4 in, 2 out, 2 groups; out0 = x0 + x1, out1 = x2 - x3 */
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 4, 1, 1));
    mb_init_f32(&m, "w", 4, SHAPE(2, 2, 1, 1), DATA(1, 1, 1, -1));
    mb_node(&m, "Conv", "x,w", "y", 1, a_int("group", 2));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 4, 1, 1), DATA(1, 2, 10, 3), 4, SHAPE(1, 2, 1, 1), DATA(3, 7));
    /* SAME_UPPER 2x2 on 2x2: pad at the end only */
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 1, 2, 2));
    mb_init_f32(&m, "w", 4, SHAPE(1, 1, 2, 2), ONES);
    mb_node(&m, "Conv", "x,w", "y", 1, a_str("auto_pad", "SAME_UPPER"));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 2, 2), DATA(1, 2, 3, 4), 4, SHAPE(1, 1, 2, 2),
              DATA(10, 6, 7, 4));
    /* SAME_LOWER: pad at the beginning */
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 1, 2, 2));
    mb_init_f32(&m, "w", 4, SHAPE(1, 1, 2, 2), ONES);
    mb_node(&m, "Conv", "x,w", "y", 1, a_str("auto_pad", "SAME_LOWER"));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 2, 2), DATA(1, 2, 3, 4), 4, SHAPE(1, 1, 2, 2),
              DATA(1, 3, 4, 10));
}

/* Conv (w = 1, b = 0.5) on [-2,-1,1,2] = [-1.5,-0.5,1.5,2.5], then the op under test. */
static void conv_then(const char *op, int opset, const char *extra_inputs, int n_attrs,
                      pbuf attr, const float *want)
{
    mb m;
    char ins[64];
    mb_init(&m, opset);
    mb_input(&m, "x", 4, SHAPE(1, 1, 2, 2));
    mb_init_f32(&m, "w", 4, SHAPE(1, 1, 1, 1), DATA(1));
    mb_init_f32(&m, "b", 1, SHAPE(1), DATA(0.5f));
    mb_init_f32(&m, "slope", 3, SHAPE(1, 1, 1), DATA(0.1f));
    mb_init_f32(&m, "lo", 0, NULL, DATA(0));
    mb_init_f32(&m, "hi", 0, NULL, DATA(2));
    mb_init_f32(&m, "bn_s", 1, SHAPE(1), DATA(2));
    mb_init_f32(&m, "bn_b", 1, SHAPE(1), DATA(1));
    mb_init_f32(&m, "bn_m", 1, SHAPE(1), DATA(0.5f));
    mb_init_f32(&m, "bn_v", 1, SHAPE(1), DATA(3));
    mb_node(&m, "Conv", "x,w,b", "c", 0);
    snprintf(ins, sizeof ins, "c%s", extra_inputs);
    if (n_attrs)
        mb_node(&m, op, ins, "y", 1, attr);
    else
        mb_node(&m, op, ins, "y", 0);
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 2, 2), DATA(-2, -1, 1, 2), 4, SHAPE(1, 1, 2, 2), want);
}

static void test_conv_fusions(void **state)
{
    (void)state;
    pbuf none = {0};
    conv_then("Relu", 11, "", 0, none, DATA(0, 0, 1.5f, 2.5f));
    conv_then("PRelu", 11, ",slope", 0, none, DATA(-0.15f, -0.05f, 1.5f, 2.5f));
    conv_then("Clip", 11, ",lo,hi", 0, none, DATA(0, 0, 1.5f, 2));
    conv_then("Clip", 6, "", 1, a_float("max", 2), DATA(-1.5f, -0.5f, 1.5f, 2));
    /* BN: (c - 0.5) * 2 / sqrt(3 + 1) + 1 = c + 0.5 */
    conv_then("BatchNormalization", 9, ",bn_s,bn_b,bn_m,bn_v", 1, a_float("epsilon", 1),
              DATA(-1, 0, 2, 3));
}

static void test_unary(void **state)
{
    (void)state;
    const char *ops[] = {"Relu", "Sigmoid", "Exp", "Identity"};
    float e = expf(1.0f);
    const float want[4][3] = {{0, 0, 1},
                              {1.0f / (1.0f + e), 0.5f, e / (1.0f + e)},
                              {1.0f / e, 1, e},
                              {-1, 0, 1}};
    for (int i = 0; i < 4; i++) {
        mb m;
        mb_init(&m, 13);
        mb_input(&m, "x", 1, SHAPE(3));
        mb_node(&m, ops[i], "x", "y", 0);
        mb_output(&m, "y");
        run_check(&m, 1, SHAPE(3), DATA(-1, 0, 1), 1, SHAPE(3), want[i]);
    }
    /* PRelu on its own, slope per channel [2,1,1] */
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 4, SHAPE(1, 2, 1, 2));
    mb_init_f32(&m, "s", 3, SHAPE(2, 1, 1), DATA(0.1f, 0.2f));
    mb_node(&m, "PRelu", "x,s", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 2, 1, 2), DATA(-1, 1, -2, 2), 4, SHAPE(1, 2, 1, 2),
              DATA(-0.1f, 1, -0.4f, 2));
    /* Clip with attributes (opset 6) */
    mb_init(&m, 6);
    mb_input(&m, "x", 1, SHAPE(3));
    mb_node(&m, "Clip", "x", "y", 2, a_float("min", 0), a_float("max", 0.5f));
    mb_output(&m, "y");
    run_check(&m, 1, SHAPE(3), DATA(-1, 0.25f, 1), 1, SHAPE(3), DATA(0, 0.25f, 0.5f));
}

static void test_binary_broadcast(void **state)
{
    (void)state;
    const float x6[6] = {1, 2, 3, 4, 5, 6};
    struct {
        const char *op;
        int ndim;
        int64_t dims[2];
        float b[3];
        float want[6];
    } cases[] = {
        {"Add", 1, {3}, {10, 20, 30}, {11, 22, 33, 14, 25, 36}},
        {"Mul", 2, {2, 1}, {2, 3}, {2, 4, 6, 12, 15, 18}},
        {"Sub", 0, {0}, {1}, {0, 1, 2, 3, 4, 5}},
        {"Div", 2, {1, 3}, {1, 2, 4}, {1, 1, 0.75f, 4, 2.5f, 1.5f}},
    };
    for (int i = 0; i < 4; i++) {
        mb m;
        mb_init(&m, 13);
        mb_input(&m, "x", 2, SHAPE(2, 3));
        mb_init_f32(&m, "b", cases[i].ndim, cases[i].dims, cases[i].b);
        mb_node(&m, cases[i].op, "x,b", "y", 0);
        mb_output(&m, "y");
        run_check(&m, 2, SHAPE(2, 3), x6, 2, SHAPE(2, 3), cases[i].want);
    }
    /* broadcasting both ways: [2,1] + [1,3] → [2,3], with the constant first */
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(2, 1));
    mb_init_f32(&m, "b", 2, SHAPE(1, 3), DATA(10, 20, 30));
    mb_node(&m, "Add", "b,x", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(2, 1), DATA(1, 2), 2, SHAPE(2, 3), DATA(11, 21, 31, 12, 22, 32));
}

static void test_layout(void **state)
{
    (void)state;
    const float x6[6] = {1, 2, 3, 4, 5, 6};
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(2, 3));
    mb_node(&m, "Transpose", "x", "y", 1, a_ints("perm", 2, I64(1, 0)));
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(2, 3), x6, 2, SHAPE(3, 2), DATA(1, 4, 2, 5, 3, 6));
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(2, 3));
    mb_init_i64(&m, "s", 1, SHAPE(2), I64(3, -1));
    mb_node(&m, "Reshape", "x,s", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(2, 3), x6, 2, SHAPE(3, 2), x6);
    mb_init(&m, 13);
    mb_input(&m, "x", 3, SHAPE(2, 3, 1));
    mb_init_i64(&m, "s", 1, SHAPE(2), I64(0, -1));
    mb_node(&m, "Reshape", "x,s", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 3, SHAPE(2, 3, 1), x6, 2, SHAPE(2, 3), x6);
    mb_init(&m, 13);
    mb_input(&m, "x", 4, SHAPE(1, 2, 3, 1));
    mb_node(&m, "Flatten", "x", "y", 1, a_int("axis", 2));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 2, 3, 1), x6, 2, SHAPE(2, 3), x6);
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(1, 2));
    mb_init_f32(&m, "c", 2, SHAPE(1, 1), DATA(9));
    mb_node(&m, "Concat", "x,c", "y", 1, a_int("axis", -1));
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(1, 2), DATA(1, 2), 2, SHAPE(1, 3), DATA(1, 2, 9));
    /* Unsqueeze (opset 13: axes input) then Squeeze (opset 13, no axes: all ones) */
    mb_init(&m, 13);
    mb_input(&m, "x", 1, SHAPE(3));
    mb_init_i64(&m, "ax", 1, SHAPE(2), I64(0, -1));
    mb_node(&m, "Unsqueeze", "x,ax", "u", 0);
    mb_node(&m, "Squeeze", "u", "y", 0);
    mb_output(&m, "u");
    mb_output(&m, "y");
    run_check(&m, 1, SHAPE(3), DATA(1, 2, 3), 3, SHAPE(1, 3, 1), DATA(1, 2, 3));
    /* Unsqueeze with the axes attribute (opset 11) */
    mb_init(&m, 11);
    mb_input(&m, "x", 1, SHAPE(3));
    mb_node(&m, "Unsqueeze", "x", "y", 1, a_ints("axes", 1, I64(1)));
    mb_output(&m, "y");
    run_check(&m, 1, SHAPE(3), DATA(1, 2, 3), 2, SHAPE(3, 1), DATA(1, 2, 3));
}

static void test_slice_gather(void **state)
{
    (void)state;
    const float x8[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    mb m;
    mb_init(&m, 9);
    mb_input(&m, "x", 2, SHAPE(2, 4));
    mb_node(&m, "Slice", "x", "y", 2, a_ints("starts", 2, I64(0, 1)),
            a_ints("ends", 2, I64(2, 3)));
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(2, 4), x8, 2, SHAPE(2, 2), DATA(1, 2, 5, 6));
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(2, 4));
    mb_init_i64(&m, "st", 1, SHAPE(1), I64(-1));
    mb_init_i64(&m, "en", 1, SHAPE(1), I64(INT64_MIN));
    mb_init_i64(&m, "ax", 1, SHAPE(1), I64(1));
    mb_init_i64(&m, "sp", 1, SHAPE(1), I64(-2));
    mb_node(&m, "Slice", "x,st,en,ax,sp", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(2, 4), x8, 2, SHAPE(2, 2), DATA(3, 1, 7, 5));
    /* ends beyond the end clamp */
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(2, 4));
    mb_init_i64(&m, "st", 1, SHAPE(1), I64(2));
    mb_init_i64(&m, "en", 1, SHAPE(1), I64(INT64_MAX));
    mb_init_i64(&m, "ax", 1, SHAPE(1), I64(-1));
    mb_node(&m, "Slice", "x,st,en,ax", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(2, 4), x8, 2, SHAPE(2, 2), DATA(2, 3, 6, 7));
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(4, 2));
    mb_init_i64(&m, "i", 1, SHAPE(2), I64(-1, 0));
    mb_node(&m, "Gather", "x,i", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(4, 2), x8, 2, SHAPE(2, 2), DATA(6, 7, 0, 1));
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(2, 4));
    mb_init_i64(&m, "i", 0, NULL, I64(2));
    mb_node(&m, "Gather", "x,i", "y", 1, a_int("axis", 1));
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(2, 4), x8, 1, SHAPE(2), DATA(2, 6));
}

static void test_softmax_semantics(void **state)
{
    (void)state;
    float e1 = expf(1), e2 = expf(2), e3 = expf(3), s = 1 + e1 + e2 + e3;
    mb m;
    /* opset 11: axis 1 of [1,2,2] flattens to [1,4] */
    mb_init(&m, 11);
    mb_input(&m, "x", 3, SHAPE(1, 2, 2));
    mb_node(&m, "Softmax", "x", "y", 1, a_int("axis", 1));
    mb_output(&m, "y");
    run_check(&m, 3, SHAPE(1, 2, 2), DATA(0, 1, 2, 3), 3, SHAPE(1, 2, 2),
              DATA(1 / s, e1 / s, e2 / s, e3 / s));
    /* opset 13: along axis 1 only */
    float a = 1 / (1 + e2), b = e2 / (1 + e2);
    mb_init(&m, 13);
    mb_input(&m, "x", 3, SHAPE(1, 2, 2));
    mb_node(&m, "Softmax", "x", "y", 1, a_int("axis", 1));
    mb_output(&m, "y");
    run_check(&m, 3, SHAPE(1, 2, 2), DATA(0, 1, 2, 3), 3, SHAPE(1, 2, 2), DATA(a, a, b, b));
}

static void test_gemm_matmul(void **state)
{
    (void)state;
    const float x6[6] = {1, 2, 3, 4, 5, 6};
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(2, 3));
    mb_init_f32(&m, "b", 2, SHAPE(2, 3), DATA(1, 0, 1, 0, 1, 0));
    mb_init_f32(&m, "c", 1, SHAPE(2), DATA(1, 2));
    mb_node(&m, "Gemm", "x,b,c", "y", 3, a_int("transB", 1), a_float("alpha", 2),
            a_float("beta", 0.5f));
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(2, 3), x6, 2, SHAPE(2, 2), DATA(8.5f, 5, 20.5f, 11));
    /* transA: x is [3,2] = A^T */
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(3, 2));
    mb_init_f32(&m, "b", 2, SHAPE(3, 1), DATA(1, 1, 1));
    mb_node(&m, "Gemm", "x,b", "y", 1, a_int("transA", 1));
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(3, 2), x6, 2, SHAPE(2, 1), DATA(9, 12));
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(2, 3));
    mb_init_f32(&m, "w", 2, SHAPE(3, 2), DATA(1, 0, 0, 1, 1, 1));
    mb_node(&m, "MatMul", "x,w", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 2, SHAPE(2, 3), x6, 2, SHAPE(2, 2), DATA(4, 5, 10, 11));
    /* batched with a broadcast 2-D right side */
    mb_init(&m, 13);
    mb_input(&m, "x", 3, SHAPE(2, 1, 3));
    mb_init_f32(&m, "w", 2, SHAPE(3, 1), DATA(1, 1, 1));
    mb_node(&m, "MatMul", "x,w", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 3, SHAPE(2, 1, 3), x6, 3, SHAPE(2, 1, 1), DATA(6, 15));
}

static void test_batchnorm_alone(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 9);
    mb_input(&m, "x", 4, SHAPE(1, 2, 1, 2));
    mb_init_f32(&m, "s", 1, SHAPE(2), DATA(1, 2));
    mb_init_f32(&m, "b", 1, SHAPE(2), DATA(0, 1));
    mb_init_f32(&m, "m", 1, SHAPE(2), DATA(1, 0));
    mb_init_f32(&m, "v", 1, SHAPE(2), DATA(3, 0));
    mb_node(&m, "BatchNormalization", "x,s,b,m,v", "y", 1, a_float("epsilon", 1));
    mb_output(&m, "y");
    /* ch0: (x - 1) / 2; ch1: x * 2 + 1 */
    run_check(&m, 4, SHAPE(1, 2, 1, 2), DATA(1, 3, 1, 2), 4, SHAPE(1, 2, 1, 2),
              DATA(0, 1, 3, 5));
}

static void test_pools(void **state)
{
    (void)state;
    float x16[16];
    for (int i = 0; i < 16; i++)
        x16[i] = (float)i;
    mb m;
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 1, 4, 4));
    mb_node(&m, "MaxPool", "x", "y", 2, a_ints("kernel_shape", 2, I64(2, 2)),
            a_ints("strides", 2, I64(2, 2)));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 4, 4), x16, 4, SHAPE(1, 1, 2, 2), DATA(5, 7, 13, 15));
    /* ceil_mode: 3x3 input, 2x2 stride 2 → 2x2 with partial windows */
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 1, 3, 3));
    mb_node(&m, "MaxPool", "x", "y", 3, a_ints("kernel_shape", 2, I64(2, 2)),
            a_ints("strides", 2, I64(2, 2)), a_int("ceil_mode", 1));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 3, 3), X9, 4, SHAPE(1, 1, 2, 2), DATA(5, 6, 8, 9));
    for (int inc = 0; inc < 2; inc++) {
        float v = inc ? 10.0f / 9.0f : 2.5f;
        mb_init(&m, 11);
        mb_input(&m, "x", 4, SHAPE(1, 1, 2, 2));
        mb_node(&m, "AveragePool", "x", "y", 3, a_ints("kernel_shape", 2, I64(3, 3)),
                a_ints("pads", 4, I64(1, 1, 1, 1)), a_int("count_include_pad", inc));
        mb_output(&m, "y");
        run_check(&m, 4, SHAPE(1, 1, 2, 2), DATA(1, 2, 3, 4), 4, SHAPE(1, 1, 2, 2),
                  DATA(v, v, v, v));
    }
    /* a window far larger than the image, mostly padding: only its taps inside the image are
     * visited (the fuzzer's 60000 x 60000 kernel once took billions of empty steps) */
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 1, 4, 4));
    mb_node(&m, "MaxPool", "x", "y", 2, a_ints("kernel_shape", 2, I64(60000, 60000)),
            a_ints("pads", 4, I64(29998, 29998, 29998, 29998)));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 4, 4), x16, 4, SHAPE(1, 1, 1, 1), DATA(15));
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 1, 4, 4));
    mb_node(&m, "AveragePool", "x", "y", 3, a_ints("kernel_shape", 2, I64(9, 9)),
            a_ints("pads", 4, I64(3, 3, 3, 3)), a_ints("strides", 2, I64(5, 5)));
    mb_output(&m, "y");
    /* one window, rows and columns -3..5: the whole image inside it, padding not counted */
    run_check(&m, 4, SHAPE(1, 1, 4, 4), x16, 4, SHAPE(1, 1, 1, 1), DATA(7.5f));
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 2, 2, 2));
    mb_node(&m, "GlobalAveragePool", "x", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 2, 2, 2), DATA(1, 2, 3, 4, 5, 6, 7, 8), 4, SHAPE(1, 2, 1, 1),
              DATA(2.5f, 6.5f));
}

static void test_resize(void **state)
{
    (void)state;
    const float x4[4] = {1, 2, 3, 4};
    mb m;
    /* opset 13 nearest, scales, half_pixel + round_prefer_floor (defaults) */
    mb_init(&m, 13);
    mb_input(&m, "x", 4, SHAPE(1, 1, 2, 2));
    mb_init_f32(&m, "sc", 1, SHAPE(4), DATA(1, 1, 2, 2));
    mb_node(&m, "Resize", "x,,sc", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 2, 2), x4, 4, SHAPE(1, 1, 4, 4),
              DATA(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4));
    /* Upsample (opset 9) linear: asymmetric coordinates, clamped at the edge */
    mb_init(&m, 9);
    mb_input(&m, "x", 4, SHAPE(1, 1, 2, 2));
    mb_init_f32(&m, "sc", 1, SHAPE(4), DATA(1, 1, 2, 2));
    mb_node(&m, "Upsample", "x,sc", "y", 1, a_str("mode", "linear"));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 2, 2), x4, 4, SHAPE(1, 1, 4, 4),
              DATA(1, 1.5f, 2, 2, 2, 2.5f, 3, 3, 3, 3.5f, 4, 4, 3, 3.5f, 4, 4));
    /* Upsample (opset 7) nearest with the scales attribute */
    mb_init(&m, 7);
    mb_input(&m, "x", 4, SHAPE(1, 1, 2, 2));
    mb_node(&m, "Upsample", "x", "y", 1, a_floats("scales", 4, DATA(1, 1, 1, 2)));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 2, 2), x4, 4, SHAPE(1, 1, 2, 4), DATA(1, 1, 2, 2, 3, 3, 4, 4));
    /* opset 13 linear, align_corners, sizes */
    mb_init(&m, 13);
    mb_input(&m, "x", 4, SHAPE(1, 1, 2, 2));
    mb_init_i64(&m, "sz", 1, SHAPE(4), I64(1, 1, 3, 3));
    mb_node(&m, "Resize", "x,,,sz", "y", 2, a_str("mode", "linear"),
            a_str("coordinate_transformation_mode", "align_corners"));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 2, 2), x4, 4, SHAPE(1, 1, 3, 3),
              DATA(1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4));
    /* opset 11 linear half_pixel 2x: x coords -0.25 (clamped), 0.25, 0.75, 1.25 (clamped) */
    mb_init(&m, 11);
    mb_input(&m, "x", 4, SHAPE(1, 1, 1, 2));
    mb_init_f32(&m, "roi", 1, SHAPE(0), NULL);
    mb_init_f32(&m, "sc", 1, SHAPE(4), DATA(1, 1, 1, 2));
    mb_node(&m, "Resize", "x,roi,sc", "y", 1, a_str("mode", "linear"));
    mb_output(&m, "y");
    run_check(&m, 4, SHAPE(1, 1, 1, 2), DATA(0, 4), 4, SHAPE(1, 1, 1, 4), DATA(0, 1, 3, 4));
}

/* The fr_detect pattern: Shape → Gather → Unsqueeze → Concat → Reshape, folded per input size. */
static void test_shape_chain_folding(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 9);
    mb_input(&m, "x", 4, SHAPE(1, 2, 3, 4));
    pbuf zero = tensor_proto(NULL, TB_INT64, 0, NULL, I64(0));
    mb_node(&m, "Constant", "", "k0", 1, a_tensor("value", zero));
    mb_init_i64(&m, "minus1", 1, SHAPE(1), I64(-1));
    mb_init_i64(&m, "two", 1, SHAPE(1), I64(2));
    mb_node(&m, "Transpose", "x", "t", 1, a_ints("perm", 4, I64(0, 2, 3, 1)));
    mb_node(&m, "Shape", "t", "s", 0);
    mb_node(&m, "Gather", "s,k0", "n", 1, a_int("axis", 0));
    mb_node(&m, "Unsqueeze", "n", "nu", 1, a_ints("axes", 1, I64(0)));
    mb_node(&m, "Concat", "nu,minus1,two", "shape", 1, a_int("axis", 0));
    mb_node(&m, "Reshape", "t,shape", "y", 0);
    mb_output(&m, "y");
    size_t len;
    uint8_t *bytes = mb_finish(&m, &len);
    nn_net *net;
    fs_error err = {0};
    nn_options opt = {.backend = NN_BACKEND_REF, .threads = 1};
    assert_int_equal(nn_net_load_buffer(bytes, len, "chain.onnx", &opt, &net, &err), FS_OK);
    for (int h = 1; h <= 3; h++) {
        int64_t shape[4] = {1, 2, h, 5};
        float x[30];
        for (int i = 0; i < 2 * h * 5; i++)
            x[i] = (float)i;
        nn_plan *plan;
        assert_int_equal(nn_plan_create(net, shape, 4, 0, &plan, &err), FS_OK);
        assert_int_equal(nn_plan_run(plan, x, &err), FS_OK);
        int64_t s[NN_MAX_DIMS];
        int nd;
        const float *y = nn_plan_output(plan, 0, s, &nd);
        assert_int_equal(nd, 3);
        assert_int_equal(s[0], 1);
        assert_int_equal(s[1], h * 5);
        assert_int_equal(s[2], 2);
        /* y[p][c] = x[c][p] */
        for (int p = 0; p < h * 5; p++)
            for (int c = 0; c < 2; c++)
                assert_true(y[p * 2 + c] == x[c * h * 5 + p]);
        nn_plan_free(plan);
    }
    nn_net_free(net);
    free(bytes);
}

static void test_stop_at_intermediate(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 1, SHAPE(2));
    mb_node(&m, "Relu", "x", "r", 0);
    mb_node(&m, "Exp", "r", "e", 0);
    mb_node(&m, "Softmax", "e", "y", 0);
    mb_output(&m, "y");
    const char *outs[] = {"r"};
    run_check_outs(&m, outs, 1, 1, SHAPE(2), DATA(-1, 2), 1, SHAPE(2), DATA(0, 2));
}

static void test_constant_node_forms(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 1, SHAPE(2));
    mb_node(&m, "Constant", "", "c", 1, a_floats("value_floats", 2, DATA(10, 20)));
    mb_node(&m, "Constant", "", "k", 1, a_float("value_float", 2));
    mb_node(&m, "Mul", "c,k", "ck", 0); /* folded at plan time */
    mb_node(&m, "Add", "x,ck", "y", 0);
    mb_output(&m, "y");
    run_check(&m, 1, SHAPE(2), DATA(1, 2), 1, SHAPE(2), DATA(21, 42));
}

static void test_api_misuse(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 2, SHAPE(-1000, 3));
    mb_node(&m, "Relu", "x", "y", 0);
    mb_output(&m, "y");
    size_t len;
    uint8_t *bytes = mb_finish(&m, &len);
    nn_net *net;
    fs_error err = {0};
    assert_int_equal(nn_net_load_buffer(bytes, len, "s.onnx", NULL, &net, &err), FS_OK);
    int64_t shape[NN_MAX_DIMS];
    assert_int_equal(nn_net_input_shape(net, shape), 2);
    assert_int_equal(shape[0], 0); /* symbolic */
    assert_int_equal(shape[1], 3);
    assert_int_equal(nn_net_output_count(net), 1);
    assert_string_equal(nn_net_output_name(net, 0), "y");
    nn_plan *plan;
    assert_int_equal(nn_plan_create(net, SHAPE(2, 3, 1), 3, 0, &plan, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "s.onnx: input 'x' has 2 dims, not 3");
    assert_int_equal(nn_plan_create(net, SHAPE(0, 3), 2, 0, &plan, &err), FS_ERR_ARG);
    assert_int_equal(nn_plan_create(net, SHAPE(5, 3), 2, 0, &plan, &err), FS_OK);
    assert_null(nn_plan_output(plan, 1, NULL, NULL));
    nn_plan_free(plan);
    nn_net_free(net);
    free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_pad_bias),
        cmocka_unit_test(test_conv_stride_dilation_group),
        cmocka_unit_test(test_conv_fusions),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_binary_broadcast),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_slice_gather),
        cmocka_unit_test(test_softmax_semantics),
        cmocka_unit_test(test_gemm_matmul),
        cmocka_unit_test(test_batchnorm_alone),
        cmocka_unit_test(test_pools),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_shape_chain_folding),
        cmocka_unit_test(test_stop_at_intermediate),
        cmocka_unit_test(test_constant_node_forms),
        cmocka_unit_test(test_api_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
