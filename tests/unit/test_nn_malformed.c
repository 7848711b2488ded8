/*
 * test_nn_malformed.c — the ONNX loader rejects broken and hostile models with a clear message
 * naming the file and what is wrong, and never crashes: truncated files, non-protobuf data,
 * huge and negative dimensions, cycles, undefined inputs, mismatched shapes, unsupported ops,
 * inconsistent tensor data. Models are built in memory with tests/nn/onnx_builder.h; one case
 * truncates the real fr_landmark.onnx.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nn/nn.h"
#include "nn/onnx_builder.h"

static const float W27[54] = {0};

/* Loads bytes as "m.onnx"; returns the status, err filled; checks that *out stays NULL. */
static fs_status load(const uint8_t *data, size_t len, const char *const *outs, size_t n_outs,
                      fs_error *err)
{
    nn_net *net = (nn_net *)1;
    nn_options opt = {.backend = NN_BACKEND_REF, .threads = 1, .outputs = outs,
                      .output_count = n_outs};
    fs_status rc = nn_net_load_buffer(data, len, "m.onnx", &opt, &net, err);
    if (rc)
        assert_null(net);
    nn_net_free(net);
    return rc;
}

static void expect(const uint8_t *data, size_t len, fs_status code, const char *message)
{
    fs_error err = {0};
    fs_status st = load(data, len, NULL, 0, &err);
    if (st != code || strcmp(err.message, message) != 0)
        print_error("got %d \"%s\"\nwant %d \"%s\"\n", st, err.message, code, message);
    assert_int_equal(st, code);
    assert_string_equal(err.message, message);
}

/* x[1,3,4,4] → Conv(w[2,3,3,3], pad 1) → Relu → y */
static uint8_t *valid_model(size_t *len)
{
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 4, (int64_t[]){1, 3, 4, 4});
    mb_init_f32(&m, "w", 4, (int64_t[]){2, 3, 3, 3}, W27);
    mb_node(&m, "Conv", "x,w", "c", 1, a_ints("pads", 4, (int64_t[]){1, 1, 1, 1}));
    mb_node(&m, "Relu", "c", "y", 0);
    mb_output(&m, "y");
    return mb_finish(&m, len);
}

static void test_valid_model_loads(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = valid_model(&len);
    fs_error err = {0};
    assert_int_equal(load(d, len, NULL, 0, &err), FS_OK);
    free(d);
}

static void test_truncated(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = valid_model(&len);
    char want[200];
    /* every prefix is rejected without a crash; a cut inside the graph says "truncated" */
    for (size_t n = 0; n < len; n++) {
        fs_error err = {0};
        assert_int_not_equal(load(d, n, NULL, 0, &err), FS_OK);
    }
    snprintf(want, sizeof want,
             "m.onnx: truncated ONNX file (%zu bytes; a field at byte 20 runs past the end)",
             len - 10);
    expect(d, len - 10, FS_ERR_FORMAT, want);
    free(d);
}

static void test_truncated_real_model(void **state)
{
    (void)state;
    char dir[4096], path[4200];
    fs_error err = {0};
    assert_int_equal(fs_data_dir(dir, sizeof dir, &err), FS_OK);
    snprintf(path, sizeof path, "%s/models/default/fr_landmark.onnx", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s is missing: run scripts/fetch-models.sh", path);
    uint8_t *buf = malloc(600000);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 600000, f);
    fclose(f);
    assert_int_equal(n, 600000);
    fs_status rc = load(buf, n, NULL, 0, &err);
    assert_int_equal(rc, FS_ERR_FORMAT);
    assert_non_null(strstr(err.message, "m.onnx: truncated ONNX file (600000 bytes"));
    free(buf);
}

static void test_not_protobuf(void **state)
{
    (void)state;
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0};
    expect(jpeg, sizeof jpeg, FS_ERR_FORMAT,
           "m.onnx: not an ONNX model (not a protobuf message: invalid wire type at byte 0)");
    static const char text[] = "hello, this is a text file\n";
    expect((const uint8_t *)text, sizeof text - 1, FS_ERR_FORMAT,
           "m.onnx: not an ONNX model (not a protobuf message: invalid wire type at byte 2)");
    expect((const uint8_t *)"", 0, FS_ERR_FORMAT, "m.onnx: not an ONNX model (empty file)");
    /* valid protobuf, but no graph */
    static const uint8_t no_graph[] = {0x08, 0x07};
    expect(no_graph, sizeof no_graph, FS_ERR_FORMAT, "m.onnx: not an ONNX model (no graph)");
}

static void test_huge_dimensions(void **state)
{
    (void)state;
    /* an initializer claiming 2^31 x 2^31 elements (with a tiny raw_data) */
    pbuf t = {0};
    pb_int(&t, 1, (int64_t)1 << 31);
    pb_int(&t, 1, (int64_t)1 << 31);
    pb_int(&t, 2, 1);
    pb_str(&t, 8, "big");
    pb_bytes(&t, 9, "abcd", 4);
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 2, (int64_t[]){1, 1});
    pb_msg(&m.graph, 5, &t);
    mb_node(&m, "Add", "x,big", "y", 0);
    mb_output(&m, "y");
    size_t len;
    uint8_t *d = mb_finish(&m, &len);
    fs_error err = {0};
    assert_int_equal(load(d, len, NULL, 0, &err), FS_ERR_LIMIT);
    assert_string_equal(err.message, "m.onnx: malformed ONNX model: tensor 'big' is too large "
                        "(more than 268435456 elements or a dimension above 268435456) "
                        "(at byte 43)");
    free(d);
    /* a declared input dimension beyond the limit */
    mb_init(&m, 13);
    mb_input(&m, "x", 2, (int64_t[]){1, (int64_t)1 << 40});
    mb_node(&m, "Relu", "x", "y", 0);
    mb_output(&m, "y");
    d = mb_finish(&m, &len);
    assert_int_equal(load(d, len, NULL, 0, &err), FS_ERR_LIMIT);
    assert_string_equal(err.message, "m.onnx: malformed ONNX model: tensor 'x' has a huge "
                        "dimension (1099511627776 > 268435456) (at byte 41)");
    free(d);
    /* shapes that multiply out too large at plan time (fine at load: symbolic dims) */
    mb_init(&m, 13);
    mb_input(&m, "x", 2, (int64_t[]){-1000, -1000});
    mb_node(&m, "Relu", "x", "y", 0);
    mb_output(&m, "y");
    d = mb_finish(&m, &len);
    nn_net *net;
    nn_options opt = {.backend = NN_BACKEND_REF, .threads = 1};
    assert_int_equal(nn_net_load_buffer(d, len, "m.onnx", &opt, &net, &err), FS_OK);
    nn_plan *plan;
    assert_int_equal(nn_plan_create(net, (int64_t[]){1 << 20, 1 << 20}, 2, 0, &plan, &err),
                     FS_ERR_LIMIT);
    assert_null(plan);
    assert_string_equal(err.message, "m.onnx: the input shape is too large");
    nn_net_free(net);
    free(d);
}

static void test_negative_sizes(void **state)
{
    (void)state;
    pbuf t = {0};
    pb_int(&t, 1, -3);
    pb_int(&t, 2, 1);
    pb_str(&t, 8, "neg");
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 1, (int64_t[]){3});
    pb_msg(&m.graph, 5, &t);
    mb_node(&m, "Add", "x,neg", "y", 0);
    mb_output(&m, "y");
    size_t len;
    uint8_t *d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_FORMAT, "m.onnx: malformed ONNX model: tensor 'neg' has a negative "
           "dimension (-3) (at byte 39)");
    free(d);
    mb_init(&m, 13);
    mb_input(&m, "x", 2, (int64_t[]){1, -5});
    mb_node(&m, "Relu", "x", "y", 0);
    mb_output(&m, "y");
    d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_FORMAT, "m.onnx: malformed ONNX model: tensor 'x' has a negative "
           "dimension (-5) (at byte 41)");
    free(d);
    /* a length prefix larger than the message (a "negative" size as an unsigned varint) */
    static const uint8_t bad_len[] = {0x08, 0x07, 0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    expect(bad_len, sizeof bad_len, FS_ERR_FORMAT,
           "m.onnx: truncated ONNX file (9 bytes; a field at byte 2 runs past the end)");
}

static void test_cycle(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 1, (int64_t[]){2});
    mb_node(&m, "Add", "x,b", "a", 0);
    mb_node(&m, "Relu", "a", "b", 0);
    mb_output(&m, "b");
    size_t len;
    uint8_t *d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_FORMAT,
           "m.onnx: malformed ONNX model: the graph has a cycle (through node 'n0' (Add))");
    free(d);
}

static void test_missing_initializer(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 4, (int64_t[]){1, 3, 4, 4});
    mb_node(&m, "Conv", "x,weight", "y", 0);
    mb_output(&m, "y");
    size_t len;
    uint8_t *d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_FORMAT, "m.onnx: node 'n0' (Conv): input 'weight' is not produced by "
           "any node, initializer or graph input");
    free(d);
    /* a requested output that does not exist */
    d = valid_model(&len);
    fs_error err = {0};
    const char *outs[] = {"461"};
    assert_int_equal(load(d, len, outs, 1, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "m.onnx: no tensor named '461' in the model");
    free(d);
}

static void test_mismatched_shapes(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 4, (int64_t[]){1, 3, 8, 8});
    mb_init_f32(&m, "w", 4, (int64_t[]){2, 2, 3, 3}, W27);
    mb_node(&m, "Conv", "x,w", "y", 0);
    mb_output(&m, "y");
    size_t len;
    uint8_t *d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_FORMAT, "m.onnx: node 'n0' (Conv): weight [2,2,3,3] expects 2 input "
           "channels (2 per group x 1 groups) but the input [1,3,8,8] has 3");
    free(d);
    /* Add of [2,3] and [4] */
    mb_init(&m, 13);
    mb_input(&m, "x", 2, (int64_t[]){2, 3});
    mb_init_f32(&m, "b", 1, (int64_t[]){4}, W27);
    mb_node(&m, "Add", "x,b", "y", 0);
    mb_output(&m, "y");
    d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_FORMAT,
           "m.onnx: node 'n0' (Add): shapes [2,3] and [4] do not broadcast");
    free(d);
    /* a kernel larger than the (padded) input */
    mb_init(&m, 13);
    mb_input(&m, "x", 4, (int64_t[]){1, 2, 2, 2});
    mb_init_f32(&m, "w", 4, (int64_t[]){1, 2, 3, 3}, W27);
    mb_node(&m, "Conv", "x,w", "y", 0);
    mb_output(&m, "y");
    d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_FORMAT,
           "m.onnx: node 'n0' (Conv): the 3x3 kernel does not fit the input [1,2,2,2]");
    free(d);
    /* fine as declared, but the caller plans a wrong channel count */
    d = valid_model(&len);
    nn_net *net;
    fs_error err = {0};
    nn_options opt = {.backend = NN_BACKEND_REF, .threads = 1};
    assert_int_equal(nn_net_load_buffer(d, len, "m.onnx", &opt, &net, &err), FS_OK);
    nn_plan *plan;
    assert_int_equal(nn_plan_create(net, (int64_t[]){1, 1, 4, 4}, 4, 0, &plan, &err),
                     FS_ERR_FORMAT);
    assert_string_equal(err.message, "m.onnx: node 'n0' (Conv): weight [2,3,3,3] expects 3 input "
                        "channels (3 per group x 1 groups) but the input [1,1,4,4] has 1");
    nn_net_free(net);
    free(d);
}

static void test_unsupported_op(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 2, (int64_t[]){1, 4});
    mb_node(&m, "LSTM", "x", "y", 0);
    mb_output(&m, "y");
    size_t len;
    uint8_t *d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_UNSUPPORTED, "m.onnx: node 'n0': unsupported op 'LSTM'");
    free(d);
    /* an unsupported op after the requested outputs is dropped, not an error */
    mb_init(&m, 13);
    mb_input(&m, "x", 2, (int64_t[]){1, 4});
    mb_node(&m, "Relu", "x", "r", 0);
    mb_node(&m, "NonMaxSuppression", "r", "y", 0);
    mb_output(&m, "y");
    d = mb_finish(&m, &len);
    fs_error err = {0};
    const char *outs[] = {"r"};
    assert_int_equal(load(d, len, outs, 1, &err), FS_OK);
    assert_int_equal(load(d, len, NULL, 0, &err), FS_ERR_UNSUPPORTED);
    assert_string_equal(err.message, "m.onnx: node 'n1': unsupported op 'NonMaxSuppression'");
    free(d);
}

static void test_bad_tensor_data(void **state)
{
    (void)state;
    pbuf t = {0};
    pb_int(&t, 1, 4);
    pb_int(&t, 2, 1);
    pb_str(&t, 8, "short");
    pb_bytes(&t, 9, "abcdefgh", 8); /* 2 floats for 4 */
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 1, (int64_t[]){4});
    pb_msg(&m.graph, 5, &t);
    mb_node(&m, "Add", "x,short", "y", 0);
    mb_output(&m, "y");
    size_t len;
    uint8_t *d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_FORMAT, "m.onnx: malformed ONNX model: tensor 'short': raw_data holds "
           "8 bytes, its dims need 16 (at byte 39)");
    free(d);
    /* a string tensor */
    t = (pbuf){0};
    pb_int(&t, 1, 1);
    pb_int(&t, 2, 8);
    pb_str(&t, 8, "s");
    mb_init(&m, 13);
    mb_input(&m, "x", 1, (int64_t[]){1});
    pb_msg(&m.graph, 5, &t);
    mb_node(&m, "Add", "x,s", "y", 0);
    mb_output(&m, "y");
    d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_UNSUPPORTED,
           "m.onnx: tensor 's' has data type 8, which is not supported");
    free(d);
}

static void test_duplicate_and_multi_input(void **state)
{
    (void)state;
    mb m;
    mb_init(&m, 13);
    mb_input(&m, "x", 1, (int64_t[]){2});
    mb_node(&m, "Relu", "x", "y", 0);
    mb_node(&m, "Relu", "x", "y", 0);
    mb_output(&m, "y");
    size_t len;
    uint8_t *d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_FORMAT, "m.onnx: malformed ONNX model: tensor 'y' is defined twice");
    free(d);
    mb_init(&m, 13);
    mb_input(&m, "a", 1, (int64_t[]){2});
    mb_input(&m, "b", 1, (int64_t[]){2});
    mb_node(&m, "Add", "a,b", "y", 0);
    mb_output(&m, "y");
    d = mb_finish(&m, &len);
    expect(d, len, FS_ERR_UNSUPPORTED,
           "m.onnx: the model has several inputs ('a', 'b'); only one is supported");
    free(d);
}

static void test_missing_file(void **state)
{
    (void)state;
    nn_net *net;
    fs_error err = {0};
    assert_int_equal(nn_net_load("/nonexistent/m.onnx", NULL, &net, &err), FS_ERR_NOT_FOUND);
    assert_null(net);
    assert_string_equal(err.message, "/nonexistent/m.onnx: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_model_loads),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_truncated_real_model),
        cmocka_unit_test(test_not_protobuf),
        cmocka_unit_test(test_huge_dimensions),
        cmocka_unit_test(test_negative_sizes),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_missing_initializer),
        cmocka_unit_test(test_mismatched_shapes),
        cmocka_unit_test(test_unsupported_op),
        cmocka_unit_test(test_bad_tensor_data),
        cmocka_unit_test(test_duplicate_and_multi_input),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
