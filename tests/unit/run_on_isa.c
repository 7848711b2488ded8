/*
 * run_on_isa.c — runs a test program with oneDNN capped at an instruction set, so that a machine
 * with AVX-512 also tests the runtime's AVX2 path (8-channel blocks, AVX2 kernels).
 *
 *   run_on_isa ISA PROGRAM [ARG...]      ISA: AVX2 (any name ONEDNN_MAX_CPU_ISA takes)
 *
 * Sets ONEDNN_MAX_CPU_ISA=ISA, then checks in this process that oneDNN really runs at that level
 * (the cap only lowers: a CPU without the ISA runs less). If it does not, the CPU cannot run that
 * path: it says so and exits 77, which ctest reports as skipped (SKIP_RETURN_CODE). Otherwise it
 * replaces itself with PROGRAM, which inherits the variable.
 */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SKIPPED 77

typedef struct isa_name {
    const char *name;
    dnnl_cpu_isa_t isa;
} isa_name;

static const isa_name ISAS[] = {
    {"SSE41", dnnl_cpu_isa_sse41},
    {"AVX", dnnl_cpu_isa_avx},
    {"AVX2", dnnl_cpu_isa_avx2},
    {"AVX512_CORE", dnnl_cpu_isa_avx512_core},
    {"AVX512_CORE_BF16", dnnl_cpu_isa_avx512_core_bf16},
};

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: run_on_isa ISA PROGRAM [ARG...]\n");
        return 2;
    }
    const isa_name *want = NULL;
    for (size_t i = 0; i < sizeof ISAS / sizeof ISAS[0]; i++)
        if (strcmp(argv[1], ISAS[i].name) == 0)
            want = &ISAS[i];
    if (!want) {
        fprintf(stderr, "run_on_isa: unknown ISA %s\n", argv[1]);
        return 2;
    }
    if (setenv("ONEDNN_MAX_CPU_ISA", want->name, 1) != 0) {
        perror("run_on_isa: setenv");
        return 2;
    }
    dnnl_cpu_isa_t got = dnnl_get_effective_cpu_isa();
    if ((got & want->isa) != want->isa) {
        printf("skipped: this CPU cannot run oneDNN's %s code (effective ISA 0x%x)\n", want->name,
               (unsigned)got);
        return SKIPPED;
    }
    execv(argv[2], argv + 2);
    perror("run_on_isa: exec");
    return 2;
}
