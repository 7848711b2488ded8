/*
 * synth.h — synthetic data for the benchmarks: a deterministic xorshift generator (so every run
 * of a benchmark sees the same data), Gaussian samples, and L2 normalisation of an embedding.
 * Header-only: each benchmark is one executable (bench/CMakeLists.txt).
 */
#ifndef FS_BENCH_SYNTH_H
#define FS_BENCH_SYNTH_H

#include <math.h>
#include <stdint.h>

/* The next value of the xorshift64 sequence at *s (never 0 if *s is not 0). */
static inline uint64_t synth_next_u64(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A standard normal sample (Box-Muller). */
static inline float synth_gauss(uint64_t *s)
{
    double u1 = ((double)(synth_next_u64(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((double)(synth_next_u64(s) >> 11) + 0.5) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* Scales the n floats at v to unit length. */
static inline void synth_normalise(float *v, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (double)v[i] * v[i];
    float r = (float)(1.0 / sqrt(sum));
    for (int i = 0; i < n; i++)
        v[i] *= r;
}

#endif
