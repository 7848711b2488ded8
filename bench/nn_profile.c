/*
 * nn_profile.c — where a plan's time goes: runs a model RUNS times after a warm-up and prints,
 * per step, the op, its label, the output shape, which kernel runs it (ref or fast) and its
 * median milliseconds (and oneDNN's kernel for convs); then the totals per op kind and how long
 * planning took. A tool for tuning the fast backend.
 *
 *   nn_profile MODEL.onnx D0,D1,D2,D3 RUNS THREADS [ref|fast] [OUTPUT_NAME...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/dnnl_conv.h"
#include "nn/kernel.h"
#include "nn/plan.h"
#include "precision.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: nn_profile MODEL D0,D1,D2,D3 RUNS THREADS [ref|fast] [OUTPUT...]\n");
        return 2;
    }
    int64_t shape[4];
    if (sscanf(argv[2], "%ld,%ld,%ld,%ld", &shape[0], &shape[1], &shape[2], &shape[3]) != 4)
        return 2;
    int runs = atoi(argv[3]), threads = atoi(argv[4]);
    if (runs < 1)
        runs = 1;
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
    struct timespec t0, t1;
    if (nn_net_load(argv[1], &opt, &net, &err)) {
        fprintf(stderr, "nn_profile: %s\n", err.message);
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (nn_plan_create(net, shape, 4, 0, &plan, &err)) {
        fprintf(stderr, "nn_profile: %s\n", err.message);
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double plan_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    int ns = nn_plan_step_count(plan);
    float *input = malloc(n * sizeof *input);
    double *ms = calloc((size_t)ns * (size_t)runs + 1, sizeof *ms);
    double *one = calloc((size_t)ns + 1, sizeof *one);
    if (!input || !ms || !one)
        return 2;
    for (size_t i = 0; i < n; i++)
        input[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
    for (int r = -3; r < runs; r++) {
        memset(one, 0, (size_t)ns * sizeof *one);
        if (nn_plan_run_profiled(plan, input, one, &err)) {
            fprintf(stderr, "nn_profile: %s\n", err.message);
            return 2;
        }
        if (r >= 0)
            for (int i = 0; i < ns; i++)
                ms[(size_t)i * (size_t)runs + (size_t)r] = one[i];
    }
    double per_op[NN_OP_COUNT + 1] = {0}, total = 0;
    nn_kernel_fn ref_of[NN_OP_COUNT];
    for (int k = 0; k < NN_OP_COUNT; k++)
        ref_of[k] = nn_ref_kernel((nn_op_kind)k);
    for (int i = 0; i < ns; i++) {
        const nn_step *s = nn_plan_step(plan, i);
        double *m = ms + (size_t)i * (size_t)runs;
        qsort(m, (size_t)runs, sizeof *m, cmp_double);
        double med = m[runs / 2];
        per_op[s->node->op] += med;
        total += med;
        const nn_tensor *y = s->out[0];
        char dims[96] = "";
        for (int d = 0; d < y->ndim; d++)
            snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%s%lld", d ? "x" : "",
                     (long long)y->dims[d]);
        char ins[64] = "";
        for (int j = 0; j < s->n_in && j < 4; j++)
            snprintf(ins + strlen(ins), sizeof ins - strlen(ins), " %s%lld",
                     !s->in[j] ? "-" : s->in[j]->blocked ? "b" : "", s->in[j] ? (long long)s->in[j]->count : 0LL);
        const char *impl = "";
        bool conv_converts = false;
        if (s->node->op == NN_OP_CONV && s->state) /* backend_fast.c's conv_state */
            impl = nn_dnnl_conv_impl(*(nn_dnnl_conv *const *)s->state, &conv_converts);
        printf("%4d %-12s %-24.24s %-16s%s %-5s %8.4f  act=%d%s in:%s %s%s\n", i,
               nn_op_name(s->node->op), s->node->label, dims, y->blocked ? "b" : " ",
               !s->run ? "alias" : s->run == ref_of[s->node->op] ? "ref" : "fast", med,
               (int)s->node->p.act, s->residual ? "+sum" : "", ins, impl,
               conv_converts ? "+reorders" : "");
    }
    printf("--- per op (median ms)\n");
    for (int k = 0; k < NN_OP_COUNT; k++)
        if (per_op[k] > 0)
            printf("%-12s %8.4f\n", nn_op_name((nn_op_kind)k), per_op[k]);
    printf("total %.4f ms, plan memory %zu KiB, planning took %.1f ms\n", total,
           nn_plan_memory(plan) >> 10, plan_ms);
    free(input);
    free(ms);
    free(one);
    nn_plan_free(plan);
    nn_net_free(net);
    return 0;
}
