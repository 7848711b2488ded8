/*
 * conv_micro.c — microbenchmark of the oneDNN convolution module (src/nn/dnnl_conv.*) on every
 * convolution shape of the default model pack, at 1 and 2 threads, in three modes:
 *   plain   NCHW in and out (what the runtime can use today; converts to the blocked layout
 *           around oneDNN's JIT kernel inside the run when the kernel wants it),
 *   direct  NCHW in and out, oneDNN run directly on NCHW (its im2col + gemm path),
 *   blocked nChw{8,16}c in and out (a chain of convs that never converts).
 * Each conv carries the post-op that follows it in the model (Relu, PRelu or a residual Add).
 * Per shape, mode and thread count: the median of RUNS timed runs (after 3 warm-up runs), the modes
 * interleaved run by run so that they see the same machine load. Output, one line each:
 *   RESULT conv model=M shape=NxCxHxW_kKxK_sS_pP_dD_gG_oO post=P count=K threads=T mode=X ms=...
 *   RESULT conv_total model=M threads=T mode=X ms=...   (sum over the model's convs, x count)
 * Usage: conv_micro [RUNS (default 21, at least 20 recommended)] [MODEL]
 * The shape table was extracted from fr_detect (240x320 input), fr_landmark and fr_feature with
 * onnx.shape_inference (one row per distinct conv; count = how many convs of the model share it);
 * the dlib_resnet rows (the dlib and fused packs) cover its main convolutions, not its odd tail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/dnnl_conv.h"

enum { POST_NONE, POST_RELU, POST_PRELU, POST_SUM, POST_CLIP };
static const char *const POST_NAMES[] = {"none", "relu", "prelu", "sum", "clip"};

typedef struct layer {
    const char *model;
    int count;
    int c, h, w, oc, kh, kw, stride, pad, dilation, groups, post;
} layer;

static const layer LAYERS[] = {
    {"fr_detect", 1, 3, 240, 320, 16, 3, 3, 2, 1, 1, 1, POST_RELU},
    {"fr_detect", 1, 16, 120, 160, 16, 3, 3, 1, 1, 1, 16, POST_RELU},
    {"fr_detect", 1, 16, 120, 160, 32, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_detect", 1, 32, 120, 160, 32, 3, 3, 2, 1, 1, 32, POST_RELU},
    {"fr_detect", 2, 32, 60, 80, 32, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_detect", 1, 32, 60, 80, 32, 3, 3, 1, 1, 1, 32, POST_RELU},
    {"fr_detect", 1, 32, 60, 80, 32, 3, 3, 2, 1, 1, 32, POST_RELU},
    {"fr_detect", 1, 32, 30, 40, 64, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_detect", 4, 64, 30, 40, 64, 3, 3, 1, 1, 1, 64, POST_RELU},
    {"fr_detect", 2, 64, 30, 40, 64, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_detect", 3, 64, 30, 40, 8, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_detect", 2, 8, 30, 40, 16, 3, 3, 1, 1, 1, 1, POST_RELU},
    {"fr_detect", 1, 16, 30, 40, 16, 3, 3, 1, 2, 2, 1, POST_NONE},
    {"fr_detect", 1, 16, 30, 40, 16, 3, 3, 1, 3, 3, 1, POST_NONE},
    {"fr_detect", 1, 8, 30, 40, 12, 3, 3, 1, 1, 1, 1, POST_RELU},
    {"fr_detect", 1, 12, 30, 40, 16, 3, 3, 1, 1, 1, 1, POST_RELU},
    {"fr_detect", 1, 16, 30, 40, 16, 3, 3, 1, 5, 5, 1, POST_NONE},
    {"fr_detect", 1, 48, 30, 40, 64, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_detect", 1, 64, 30, 40, 64, 1, 1, 1, 0, 1, 1, POST_SUM},
    {"fr_detect", 1, 64, 30, 40, 6, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_detect", 1, 64, 30, 40, 12, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_detect", 1, 64, 30, 40, 64, 3, 3, 2, 1, 1, 64, POST_RELU},
    {"fr_detect", 1, 64, 15, 20, 128, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_detect", 4, 128, 15, 20, 128, 3, 3, 1, 1, 1, 128, POST_RELU},
    {"fr_detect", 2, 128, 15, 20, 128, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_detect", 1, 128, 15, 20, 4, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_detect", 1, 128, 15, 20, 8, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_detect", 1, 128, 15, 20, 128, 3, 3, 2, 1, 1, 128, POST_RELU},
    {"fr_detect", 1, 128, 8, 10, 256, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_detect", 3, 256, 8, 10, 256, 3, 3, 1, 1, 1, 256, POST_RELU},
    {"fr_detect", 1, 256, 8, 10, 256, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_detect", 1, 256, 8, 10, 4, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_detect", 1, 256, 8, 10, 8, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_detect", 1, 256, 8, 10, 64, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_detect", 1, 64, 8, 10, 64, 3, 3, 2, 1, 1, 64, POST_RELU},
    {"fr_detect", 1, 64, 4, 5, 256, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_detect", 1, 256, 4, 5, 6, 3, 3, 1, 1, 1, 1, POST_NONE},
    {"fr_detect", 1, 256, 4, 5, 12, 3, 3, 1, 1, 1, 1, POST_NONE},
    {"fr_landmark", 1, 1, 64, 64, 32, 3, 3, 2, 1, 1, 1, POST_RELU},
    {"fr_landmark", 1, 32, 32, 32, 32, 3, 3, 1, 1, 1, 32, POST_RELU},
    {"fr_landmark", 1, 32, 32, 32, 64, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_landmark", 1, 64, 32, 32, 64, 3, 3, 2, 1, 1, 64, POST_RELU},
    {"fr_landmark", 1, 64, 16, 16, 32, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_landmark", 3, 32, 16, 16, 64, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_landmark", 3, 64, 16, 16, 64, 3, 3, 1, 1, 1, 64, POST_RELU},
    {"fr_landmark", 3, 64, 16, 16, 32, 1, 1, 1, 0, 1, 1, POST_SUM},
    {"fr_landmark", 1, 32, 16, 16, 128, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_landmark", 1, 128, 16, 16, 128, 3, 3, 2, 1, 1, 128, POST_RELU},
    {"fr_landmark", 1, 128, 8, 8, 64, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_landmark", 4, 64, 8, 8, 128, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_landmark", 4, 128, 8, 8, 128, 3, 3, 1, 1, 1, 128, POST_RELU},
    {"fr_landmark", 4, 128, 8, 8, 64, 1, 1, 1, 0, 1, 1, POST_SUM},
    {"fr_landmark", 1, 64, 8, 8, 256, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_landmark", 1, 256, 8, 8, 256, 3, 3, 2, 1, 1, 256, POST_RELU},
    {"fr_landmark", 1, 256, 4, 4, 64, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_landmark", 2, 64, 4, 4, 128, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_landmark", 2, 128, 4, 4, 128, 3, 3, 1, 1, 1, 128, POST_RELU},
    {"fr_landmark", 2, 128, 4, 4, 64, 1, 1, 1, 0, 1, 1, POST_SUM},
    {"fr_landmark", 1, 64, 4, 4, 512, 1, 1, 1, 0, 1, 1, POST_RELU},
    {"fr_landmark", 1, 512, 4, 4, 512, 4, 4, 1, 0, 1, 512, POST_NONE},
    {"fr_feature", 1, 3, 112, 112, 64, 3, 3, 2, 1, 1, 1, POST_PRELU},
    {"fr_feature", 1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 64, POST_PRELU},
    {"fr_feature", 1, 64, 56, 56, 128, 1, 1, 1, 0, 1, 1, POST_PRELU},
    {"fr_feature", 1, 128, 56, 56, 128, 3, 3, 2, 1, 1, 128, POST_PRELU},
    {"fr_feature", 1, 128, 28, 28, 64, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_feature", 4, 64, 28, 28, 128, 1, 1, 1, 0, 1, 1, POST_PRELU},
    {"fr_feature", 4, 128, 28, 28, 128, 3, 3, 1, 1, 1, 128, POST_PRELU},
    {"fr_feature", 4, 128, 28, 28, 64, 1, 1, 1, 0, 1, 1, POST_SUM},
    {"fr_feature", 1, 64, 28, 28, 256, 1, 1, 1, 0, 1, 1, POST_PRELU},
    {"fr_feature", 1, 256, 28, 28, 256, 3, 3, 2, 1, 1, 256, POST_PRELU},
    {"fr_feature", 1, 256, 14, 14, 128, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_feature", 6, 128, 14, 14, 256, 1, 1, 1, 0, 1, 1, POST_PRELU},
    {"fr_feature", 6, 256, 14, 14, 256, 3, 3, 1, 1, 1, 256, POST_PRELU},
    {"fr_feature", 6, 256, 14, 14, 128, 1, 1, 1, 0, 1, 1, POST_SUM},
    {"fr_feature", 1, 128, 14, 14, 512, 1, 1, 1, 0, 1, 1, POST_PRELU},
    {"fr_feature", 1, 512, 14, 14, 512, 3, 3, 2, 1, 1, 512, POST_PRELU},
    {"fr_feature", 1, 512, 7, 7, 128, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"fr_feature", 2, 128, 7, 7, 256, 1, 1, 1, 0, 1, 1, POST_PRELU},
    {"fr_feature", 2, 256, 7, 7, 256, 3, 3, 1, 1, 1, 256, POST_PRELU},
    {"fr_feature", 2, 256, 7, 7, 128, 1, 1, 1, 0, 1, 1, POST_SUM},
    {"fr_feature", 1, 128, 7, 7, 512, 1, 1, 1, 0, 1, 1, POST_PRELU},
    {"fr_feature", 1, 512, 7, 7, 512, 7, 7, 1, 0, 1, 512, POST_NONE},
    {"fr_feature", 1, 512, 1, 1, 512, 1, 1, 1, 0, 1, 1, POST_NONE},
    {"dlib_resnet", 1, 3, 150, 150, 32, 7, 7, 2, 0, 1, 1, POST_RELU},
    {"dlib_resnet", 6, 32, 35, 35, 32, 3, 3, 1, 1, 1, 1, POST_RELU},
    {"dlib_resnet", 1, 32, 35, 35, 64, 3, 3, 2, 0, 1, 1, POST_RELU},
    {"dlib_resnet", 1, 32, 35, 35, 64, 2, 2, 2, 0, 1, 1, POST_NONE},
    {"dlib_resnet", 7, 64, 17, 17, 64, 3, 3, 1, 1, 1, 1, POST_SUM},
    {"dlib_resnet", 1, 64, 17, 17, 128, 3, 3, 2, 0, 1, 1, POST_RELU},
    {"dlib_resnet", 1, 64, 17, 17, 128, 2, 2, 2, 0, 1, 1, POST_NONE},
    {"dlib_resnet", 5, 128, 8, 8, 128, 3, 3, 1, 1, 1, 1, POST_SUM},
    {"dlib_resnet", 1, 128, 8, 8, 256, 3, 3, 2, 0, 1, 1, POST_RELU},
    {"dlib_resnet", 1, 128, 8, 8, 256, 2, 2, 2, 0, 1, 1, POST_NONE},
    {"dlib_resnet", 5, 256, 4, 4, 256, 3, 3, 1, 1, 1, 1, POST_SUM},
    {"dlib_resnet", 1, 256, 4, 4, 256, 3, 3, 2, 0, 1, 1, POST_RELU},
};
#define NLAYERS (sizeof LAYERS / sizeof LAYERS[0])

enum { MODE_PLAIN, MODE_DIRECT, MODE_BLOCKED, NMODES };
static const char *const MODE_NAMES[NMODES] = {"plain", "direct", "blocked"};
static const char *const MODELS[] = {"fr_detect", "fr_landmark", "fr_feature", "dlib_resnet"};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void fill(float *x, size_t count, unsigned seed)
{
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < count; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* Buffers and convs of one layer in every mode. */
typedef struct bench_layer {
    nn_dnnl_conv *conv[NMODES];
    float *src[NMODES], *dst[NMODES];
} bench_layer;

static void free_bench(bench_layer *b)
{
    for (int m = 0; m < NMODES; m++) {
        nn_dnnl_conv_free(b->conv[m]);
        free(b->src[m]);
        free(b->dst[m]);
    }
}

/* Prepares l in every mode; returns 0, or -1 after printing why. */
static int prepare(nn_dnnl_ctx *ctx, const layer *l, const float *wt, const float *bias,
                   const float *slopes, bench_layer *b)
{
    memset(b, 0, sizeof *b);
    for (int m = 0; m < NMODES; m++) {
        nn_dnnl_conv_desc d;
        nn_dnnl_conv_desc_init(&d);
        d.n = 1, d.c_in = l->c, d.h = l->h, d.w = l->w, d.c_out = l->oc;
        d.kh = l->kh, d.kw = l->kw, d.stride_h = d.stride_w = l->stride;
        d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = l->pad;
        d.dilation_h = d.dilation_w = l->dilation;
        d.groups = l->groups;
        d.weights = wt;
        d.bias = bias;
        if (l->post != POST_NONE) {
            d.post_count = 1;
            d.post[0].kind = l->post == POST_RELU    ? NN_DNNL_POST_RELU
                             : l->post == POST_PRELU ? NN_DNNL_POST_PRELU
                             : l->post == POST_CLIP  ? NN_DNNL_POST_CLIP
                                                     : NN_DNNL_POST_SUM;
            d.post[0].slopes = slopes;
            d.post[0].clip_min = 0, d.post[0].clip_max = 6;
        }
        nn_dnnl_layout lay = m == MODE_BLOCKED ? NN_DNNL_BLOCKED : NN_DNNL_NCHW;
        d.src_layout = d.dst_layout = lay;
        d.plain_direct = m == MODE_DIRECT;
        fs_error err;
        if (nn_dnnl_conv_create(ctx, &d, &b->conv[m], &err) != FS_OK) {
            fprintf(stderr, "conv_micro: %s\n", err.message);
            return -1;
        }
        int64_t os[4];
        nn_dnnl_conv_out_shape(b->conv[m], os);
        size_t in_n = nn_dnnl_tensor_floats(ctx, lay, 1, l->c, l->h, l->w);
        size_t out_n = nn_dnnl_tensor_floats(ctx, lay, 1, l->oc, os[2], os[3]);
        b->src[m] = calloc(in_n, sizeof(float));
        b->dst[m] = calloc(out_n, sizeof(float));
        if (!b->src[m] || !b->dst[m]) {
            fprintf(stderr, "conv_micro: out of memory\n");
            return -1;
        }
        /* Real values only; blocked padding lanes stay 0 (not exact NCHW order: fine here). */
        fill(b->src[m], (size_t)l->c * l->h * l->w, 1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 21;
    const char *only = argc > 2 ? argv[2] : NULL;
    if (runs < 1 || runs > 10000) {
        fprintf(stderr, "usage: conv_micro [RUNS] [MODEL]\n");
        return 2;
    }
    double *t = malloc((size_t)runs * NMODES * sizeof(double));
    float *wt = malloc(512 * 512 * 9 * sizeof(float)), *bias = malloc(512 * sizeof(float));
    float *slopes = malloc(512 * sizeof(float));
    if (!t || !wt || !bias || !slopes) {
        fprintf(stderr, "conv_micro: out of memory\n");
        return 2;
    }
    fill(wt, 512 * 512 * 9, 2);
    fill(bias, 512, 3);
    fill(slopes, 512, 4);
    for (size_t i = 0; i < 512 * 512 * 9; i++)
        wt[i] *= 0.05f; /* keep activations bounded over repeated in-place sums */

    for (int threads = 1; threads <= 2; threads++) {
        nn_dnnl_ctx *ctx = NULL;
        fs_error err;
        if (nn_dnnl_ctx_create(threads, &ctx, &err) != FS_OK) {
            fprintf(stderr, "conv_micro: %s\n", err.message);
            return 2;
        }
        double total[sizeof MODELS / sizeof MODELS[0]][NMODES] = {{0}};
        for (size_t li = 0; li < NLAYERS; li++) {
            const layer *l = &LAYERS[li];
            if (only && strcmp(only, l->model) != 0)
                continue;
            bench_layer b;
            if (prepare(ctx, l, wt, bias, slopes, &b) != 0)
                return 2;
            for (int r = -3; r < runs; r++)
                for (int m = 0; m < NMODES; m++) {
                    double t0 = now_ms();
                    fs_status rc = nn_dnnl_conv_run(b.conv[m], b.src[m], b.dst[m],
                                                    l->post == POST_SUM ? b.dst[m] : NULL, &err);
                    double t1 = now_ms();
                    if (rc != FS_OK) {
                        fprintf(stderr, "conv_micro: %s\n", err.message);
                        return 2;
                    }
                    if (r >= 0)
                        t[m * runs + r] = t1 - t0;
                }
            int mi = 0;
            while (strcmp(MODELS[mi], l->model) != 0)
                mi++;
            for (int m = 0; m < NMODES; m++) {
                qsort(t + m * runs, (size_t)runs, sizeof(double), cmp_double);
                double med = t[m * runs + runs / 2];
                total[mi][m] += med * l->count;
                bool converts = false;
                const char *impl = nn_dnnl_conv_impl(b.conv[m], &converts);
                printf("RESULT conv model=%s shape=1x%dx%dx%d_k%dx%d_s%d_p%d_d%d_g%d_o%d post=%s "
                       "count=%d threads=%d mode=%s ms=%.4f impl=%s%s\n",
                       l->model, l->c, l->h, l->w, l->kh, l->kw, l->stride, l->pad, l->dilation,
                       l->groups, l->oc, POST_NAMES[l->post], l->count, threads, MODE_NAMES[m],
                       med, impl, converts ? "+reorders" : "");
            }
            free_bench(&b);
        }
        for (int mi = 0; mi < (int)(sizeof MODELS / sizeof MODELS[0]); mi++) {
            if (only && strcmp(only, MODELS[mi]) != 0)
                continue;
            for (int m = 0; m < NMODES; m++)
                printf("RESULT conv_total model=%s threads=%d mode=%s ms=%.3f\n", MODELS[mi],
                       threads, MODE_NAMES[m], total[mi][m]);
        }
        nn_dnnl_ctx_free(ctx);
    }
    free(t);
    free(wt);
    free(bias);
    free(slopes);
    return 0;
}
