/*
 * nn_run.c — our ONNX runtime's side of bench/nn_vs_ort.sh: loads a model, plans it for an input
 * shape, runs it after a warm-up and prints each run's milliseconds and the peak memory.
 *
 *   nn_run MODEL.onnx D0,D1,D2,D3 RUNS THREADS [ref|fast] [OUTPUT_NAME...]
 *
 * Prints "times_ms t1 t2 ...", "rss_load_kb=... rss_run_kb=..." (peak resident set after
 * loading and planning, and after running) and "isa=... precision=..." (oneDNN's effective
 * instruction set, which ONEDNN_MAX_CPU_ISA caps, and the precision the runtime ran at). The input
 * is a fixed pseudo-random pattern in [-1, 1].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/nn.h"
#include "precision.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Peak resident set size so far (VmHWM), in KiB. */
static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: nn_run MODEL D0,D1,D2,D3 RUNS THREADS [ref|fast] [OUTPUT...]\n");
        return 2;
    }
    int64_t shape[4];
    if (sscanf(argv[2], "%ld,%ld,%ld,%ld", &shape[0], &shape[1], &shape[2], &shape[3]) != 4) {
        fprintf(stderr, "nn_run: bad shape %s\n", argv[2]);
        return 2;
    }
    int runs = atoi(argv[3]), threads = atoi(argv[4]);
    nn_options opt = {.backend = NN_BACKEND_FAST, .precision = bench_nn_precision(),
                      .threads = threads};
    if (argc > 5)
        opt.backend = strcmp(argv[5], "ref") == 0 ? NN_BACKEND_REF : NN_BACKEND_FAST;
    if (argc > 6) {
        opt.outputs = (const char *const *)argv + 6;
        opt.output_count = (size_t)(argc - 6);
    }
    nn_net *net;
    nn_plan *plan;
    fs_error err;
    if (nn_net_load(argv[1], &opt, &net, &err) || nn_plan_create(net, shape, 4, 0, &plan, &err)) {
        fprintf(stderr, "nn_run: %s\n", err.message);
        return 2;
    }
    long rss_load = peak_rss_kb();
    size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    float *input = malloc(n * sizeof *input);
    if (!input)
        return 2;
    unsigned seed = 12345;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        input[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    for (int i = 0; i < 3; i++)
        if (nn_plan_run(plan, input, &err)) {
            fprintf(stderr, "nn_run: %s\n", err.message);
            return 2;
        }
    printf("times_ms");
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        nn_plan_run(plan, input, &err);
        printf(" %.4f", now_ms() - t0);
    }
    printf("\nrss_load_kb=%ld rss_run_kb=%ld\n", rss_load, peak_rss_kb());
    nn_precision ran = opt.backend == NN_BACKEND_REF ? NN_PRECISION_FP32
                                                     : nn_precision_effective(opt.precision);
    printf("isa=%s precision=%s\n", nn_cpu_isa_name(), nn_precision_name(ran));
    free(input);
    nn_plan_free(plan);
    nn_net_free(net);
    return 0;
}
