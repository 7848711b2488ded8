/*
 * fuzz_onnx.c — libFuzzer target for the ONNX loader: any byte string goes through
 * nn_net_load_buffer (protobuf walk, tensor decoding, graph building, op checks, load-time shape
 * inference and constant folding). It must return an error or a net, never crash, hang or leak.
 * When a net loads and its declared input is small, it is also planned and, if the plan is small
 * (a legal model may ask for a 1 GiB tensor; running it is slow, not a bug), run once on zeros, so
 * that the kernels' index arithmetic is fuzzed too.
 * Seeds: fuzz/corpus/onnx (tests/nn/make_seeds.py); reproducers of fixed bugs: fuzz/crashes/onnx.
 * Build: clang, -fsanitize=fuzzer,address,undefined (see fuzz/CMakeLists.txt).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "nn/nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_net *net = NULL;
    fs_error err;
    nn_options opt = {.backend = NN_BACKEND_REF, .threads = 1};
    if (nn_net_load_buffer(data, size, "fuzz.onnx", &opt, &net, &err) != FS_OK) {
        if (net)
            __builtin_trap(); /* contract: *out is NULL on failure */
        return 0;
    }
    int64_t shape[NN_MAX_DIMS];
    int ndim = nn_net_input_shape(net, shape);
    int64_t count = ndim > 0 ? 1 : 0;
    for (int i = 0; i < ndim; i++)
        count = shape[i] > 0 && count <= 4096 ? count * shape[i] : 0;
    if (count > 0 && count <= 4096) {
        nn_plan *plan = NULL;
        float *x = calloc((size_t)count, sizeof *x);
        if (x && nn_plan_create(net, shape, ndim, 0, &plan, &err) == FS_OK) {
            if (nn_plan_memory(plan) <= ((size_t)16 << 20) &&
                nn_plan_run(plan, x, &err) == FS_OK) {
                for (size_t i = 0; i < nn_net_output_count(net); i++) {
                    int64_t s[NN_MAX_DIMS];
                    int nd;
                    const float *y = nn_plan_output(plan, i, s, &nd);
                    int64_t n = 1;
                    for (int k = 0; k < nd; k++)
                        n *= s[k];
                    volatile float sink = 0;
                    for (int64_t k = 0; k < n && y; k++) /* an undersized output shows in ASan */
                        sink += y[k];
                    (void)sink;
                }
            }
            nn_plan_free(plan);
        }
        free(x);
    }
    nn_net_free(net);
    return 0;
}
