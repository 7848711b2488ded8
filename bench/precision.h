/*
 * precision.h — the precision a benchmark runs the networks at: $FACESEARCH_PRECISION (auto, fp32
 * or bf16, as the CLI takes it), else auto; auto resolved as fs_engine_open does (bf16 where the
 * CPU computes it natively). Exits with a message on a bad name. Header-only, for bench/ tools.
 */
#ifndef FS_BENCH_PRECISION_H
#define FS_BENCH_PRECISION_H

#include <stdio.h>
#include <stdlib.h>

#include "facesearch.h"
#include "nn/nn.h"

static inline fs_precision bench_precision(void)
{
    const char *name = getenv("FACESEARCH_PRECISION");
    fs_precision p = FS_PRECISION_AUTO;
    fs_error err;
    if (name && *name && fs_precision_parse(name, &p, &err) != FS_OK) {
        fprintf(stderr, "FACESEARCH_PRECISION: %s\n", err.message);
        exit(2);
    }
    if (p == FS_PRECISION_AUTO)
        p = nn_cpu_bf16_pays() ? FS_PRECISION_BF16 : FS_PRECISION_FP32;
    return p;
}

static inline nn_precision bench_nn_precision(void)
{
    return bench_precision() == FS_PRECISION_BF16 ? NN_PRECISION_BF16 : NN_PRECISION_FP32;
}

#endif
