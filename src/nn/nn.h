/*
 * nn.h — facesearch's own small ONNX runtime: the interface the face pipeline uses.
 *
 * Life of a network, as in ggml: load (parse the ONNX file, build our graph, fold constants, fuse)
 * → plan (resolve every shape for one input shape, allocate buffers, pick kernels on a backend)
 * → run (many times). A plan owns all its buffers: different plans may run on different threads
 * at once; one plan runs on one thread at a time. The caller keeps plans it wants to reuse.
 */
#ifndef FS_NN_H
#define FS_NN_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch.h"

#define NN_MAX_DIMS 8

typedef enum nn_backend_kind {
    NN_BACKEND_FAST = 0, /* oneDNN convolutions + our own kernels for the cheap ops */
    NN_BACKEND_REF = 1   /* plain C, simple and obviously correct: the oracle in tests */
} nn_backend_kind;

/* The arithmetic of the fast backend's convolutions. FP32 everywhere is the zero default. BF16:
 * dense convolutions (one group) take bfloat16 weights and inputs and sum in f32 (on AVX-512 with
 * BF16 about 1.5-2x faster, embeddings within cosine 0.999 of f32); depthwise convolutions, which
 * it makes slower, and every other op stay f32, as does any conv oneDNN has no bf16 kernel for
 * (all of them below AVX-512). The reference backend ignores it. */
typedef enum nn_precision {
    NN_PRECISION_FP32 = 0,
    NN_PRECISION_BF16 = 1
} nn_precision;

typedef struct nn_options {
    nn_backend_kind backend;
    int threads;                  /* default for the net's plans (nn_plan_create); 0 = all cores */
    /* Names of tensors to use as the network's outputs instead of the file's graph outputs
     * (e.g. {"461", "462"} for fr_detect); everything not needed for them is dropped.
     * NULL = the graph outputs. */
    const char *const *outputs;
    size_t output_count;
    nn_precision precision;       /* the fast backend's; see nn_precision */
} nn_options;

typedef struct nn_net nn_net;
typedef struct nn_plan nn_plan;

/* Loads and checks an ONNX model: structure, ops supported, initializers present. An unsupported
 * op is an error naming the op and node. path is used in messages. */
fs_status nn_net_load(const char *path, const nn_options *opt, nn_net **out, fs_error *err);
fs_status nn_net_load_buffer(const void *data, size_t size, const char *name, const nn_options *opt,
                             nn_net **out, fs_error *err);
void nn_net_free(nn_net *net);

/* The single input's shape as declared in the file (a 0 stands for a symbolic dimension). */
int nn_net_input_shape(const nn_net *net, int64_t shape[NN_MAX_DIMS]);
size_t nn_net_output_count(const nn_net *net);
const char *nn_net_output_name(const nn_net *net, size_t i);

/* Plans the network for an input of the given shape (NCHW float32). The declared spatial size may
 * be overridden (fully convolutional detectors run at any size). Shapes that do not work out are
 * an error, not a crash. The plan reads the net (weights are shared, not copied): free every plan
 * before its net. Planning only reads the net, so plans may be created from several threads.
 * threads: how many threads one run of this plan uses (0 = the net's nn_options.threads), so one
 * loaded net serves a single-photo call on every core and parallel workers on one each. */
fs_status nn_plan_create(nn_net *net, const int64_t *input_shape, int ndim, int threads,
                         nn_plan **out, fs_error *err);
void nn_plan_free(nn_plan *plan);

/* Runs the plan on input (NCHW float32 of the planned shape, not retained). */
fs_status nn_plan_run(nn_plan *plan, const float *input, fs_error *err);

/* The i-th output of the last run: data (valid until the next run or free) and shape. */
const float *nn_plan_output(const nn_plan *plan, size_t i, int64_t shape[NN_MAX_DIMS], int *ndim);

/* Bytes the plan allocated: activation buffers (shared by liveness) and folded constants. */
size_t nn_plan_memory(const nn_plan *plan);

/* What the fast backend runs on (cpu_isa.c). nn_cpu_isa_name: oneDNN's effective instruction set
 * ("avx512_core", "avx2", ...; ONEDNN_MAX_CPU_ISA caps it), fixed for the process by the first
 * call; a static string. nn_cpu_has_bf16: whether that instruction set computes bfloat16 natively
 * (AVX512-BF16 or later), which is where NN_PRECISION_BF16 pays. nn_precision_name: "fp32" or
 * "bf16". */
const char *nn_cpu_isa_name(void);
int nn_cpu_has_bf16(void);
/* Whether bf16 pays on this CPU: oneDNN runs AMX code (bf16 convs go to the tile unit), or the
 * CPU has AVX512-BF16 natively and its bf16 dot product does at least 1.5x the multiply-adds per
 * second of its fp32 FMA, measured by a probe of under a millisecond at each call (true on AMD
 * Zen 4/5, false on Intel Xeons without AMX). What "auto" picks. */
int nn_cpu_bf16_pays(void);
const char *nn_precision_name(nn_precision precision);

/* The precision convolutions asked for `asked` really compute in on this CPU: bf16 needs
 * oneDNN's AVX-512 kernels (with AVX512-BF16 natively, without it emulated); below AVX-512 a
 * bf16 net computes in fp32. */
nn_precision nn_precision_effective(nn_precision asked);

/* The precision a net was loaded with (nn_options.precision). */
nn_precision nn_net_precision(const nn_net *net);

#endif
