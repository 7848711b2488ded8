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
