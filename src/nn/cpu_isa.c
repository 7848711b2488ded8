/*
 * cpu_isa.c — which CPU code path the runtime's oneDNN kernels take, and at what precision, by
 * name: what benchmarks print next to their times (bench/nn_run, bench/pipeline), so that a
 * number measured with AVX-512 is never compared with one measured with AVX2 by mistake; and
 * whether the CPU computes bfloat16 natively (where the engine's automatic precision picks it).
 */
#include "nn/nn.h"

#include <dnnl.h>

const char *nn_cpu_isa_name(void)
{
    /* The first call fixes oneDNN's ISA for the process (ONEDNN_MAX_CPU_ISA is read then). */
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_all: return "all";
    }
    return "unknown";
}

int nn_cpu_has_bf16(void)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

nn_precision nn_precision_effective(nn_precision asked)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core) != dnnl_cpu_isa_avx512_core)
        return NN_PRECISION_FP32;
    return asked;
}

const char *nn_precision_name(nn_precision precision)
{
    return precision == NN_PRECISION_BF16 ? "bf16" : "fp32";
}

/* ---- does bf16 pay here? ---------------------------------------------------------------------
 * AVX512-BF16's dot product (vdpbf16ps) does two multiply-adds per lane where an fp32 FMA does
 * one, but CPUs issue it at different rates: AMD Zen 4/5 as fast as an FMA (bf16 then doubles
 * the arithmetic rate, and the recognizers ran 1.5-2.5x faster), Intel Xeons on one port where
 * FMA has two (no gain, and converting the activations makes bf16 1.3-1.7x slower). So the
 * rate is measured: a short loop of each instruction, best of 21, interleaved. Where
 * oneDNN runs AMX code, bf16 convs run on the tile unit instead, and bf16 pays without a probe. */

#if defined(__x86_64__)
#include <immintrin.h>

#include "util/clock.h"

/* A round times each loop once (~65 us each on a 3.7 GHz Zen 4); the best of 21 rounds,
 * interleaved, is what counts, so that the answer (rates 1:1 or 2:1, read against 1.5) does not
 * move on a busy machine: every one of 21 FMA rounds would have to be slowed by half for a 1:1
 * CPU to read as 2:1. */
#define PROBE_ITERS 20000
#define PROBE_ROUNDS 21

/* Twelve independent accumulators cover the latency of either instruction on either pipe, so
 * the loop measures how many the CPU issues per cycle, not how long one takes. Each starts from
 * its own value: twelve chains that start equal compute the same thing, the compiler keeps one,
 * and the probe then times a single chain's latency (on AMD Zen 4: FMA 4 cycles, vdpbf16ps 6,
 * read as a 1.33 rate ratio where the issue rates are equal and bf16 makes the recognizers
 * 1.5-1.9x faster). */
#define PROBE_LOOP(STEP)                                                                          \
    __m512 d = _mm512_set1_ps(1e-4f);                                                             \
    __m512 a0 = x, a1 = _mm512_add_ps(a0, d), a2 = _mm512_add_ps(a1, d),                        \
           a3 = _mm512_add_ps(a2, d), a4 = _mm512_add_ps(a3, d), a5 = _mm512_add_ps(a4, d),      \
           a6 = _mm512_add_ps(a5, d), a7 = _mm512_add_ps(a6, d), a8 = _mm512_add_ps(a7, d),      \
           a9 = _mm512_add_ps(a8, d), a10 = _mm512_add_ps(a9, d), a11 = _mm512_add_ps(a10, d);   \
    for (int i = 0; i < PROBE_ITERS; i++) {                                                       \
        a0 = STEP(a0); a1 = STEP(a1); a2 = STEP(a2); a3 = STEP(a3); a4 = STEP(a4);                \
        a5 = STEP(a5); a6 = STEP(a6); a7 = STEP(a7); a8 = STEP(a8); a9 = STEP(a9);                \
        a10 = STEP(a10); a11 = STEP(a11);                                                         \
    }                                                                                             \
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),        \
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));       \
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));         \
    return _mm512_reduce_add_ps(s);

__attribute__((target("avx512f"), noinline)) static float fma_loop(float seed)
{
    __m512 x = _mm512_set1_ps(seed), m = _mm512_set1_ps(0.999f);
#define FMA_STEP(a) _mm512_fmadd_ps(a, m, x)
    PROBE_LOOP(FMA_STEP)
#undef FMA_STEP
}

__attribute__((target("avx512f,avx512bf16"), noinline)) static float bf16_loop(float seed)
{
    __m512 x = _mm512_set1_ps(seed);
    __m512bh m = (__m512bh)_mm512_set1_epi16(0x3f80); /* bf16 1.0 */
#define BF16_STEP(a) _mm512_dpbf16_ps(a, m, m)
    PROBE_LOOP(BF16_STEP)
#undef BF16_STEP
}

int nn_cpu_bf16_pays(void)
{
    if (!nn_cpu_has_bf16())
        return 0;
    /* AMX's tile multiply (dnnl_conv.c sends bf16 convs to it) outruns any fp32 kernel */
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core_amx) == dnnl_cpu_isa_avx512_core_amx)
        return 1;
    volatile float sink = 0;
    double best_fma = 1e9, best_bf16 = 1e9;
    for (int r = 0; r < PROBE_ROUNDS; r++) {
        double t0 = util_now();
        sink += fma_loop(1e-3f);
        double t1 = util_now();
        sink += bf16_loop(1e-3f);
        double t2 = util_now();
        best_fma = t1 - t0 < best_fma ? t1 - t0 : best_fma;
        best_bf16 = t2 - t1 < best_bf16 ? t2 - t1 : best_bf16;
    }
    (void)sink;
    /* multiply-adds per second, bf16 over fp32: 2 per lane against 1 */
    return best_bf16 > 0 && 2.0 * best_fma / best_bf16 >= 1.5;
}

#else

int nn_cpu_bf16_pays(void)
{
    return 0;
}

#endif
