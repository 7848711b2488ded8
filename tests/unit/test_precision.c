/*
 * test_precision.c — the networks' arithmetic (fs_engine_options.precision): names parse, auto
 * resolves to bf16 exactly where the CPU computes bfloat16 natively, and the whole pipeline at
 * bf16 (detect, landmarks, align, embed: the engine runs its recognizers in bf16) finds the same
 * faces as at fp32, with embeddings within cosine 0.995 of fp32's (the accuracy rule the bf16
 * path is held to), on every face of the six sample photos, for the default pack and for dlib's
 * recognizer. Where the CPU has bf16 the two must differ (bf16 really ran); where oneDNN has no
 * bf16 kernel (ctest's AVX2 run) bf16 quietly computes in fp32, and the results must then be
 * identical; either way fs_engine_precision must name what ran.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "facesearch.h"
#include "nn/nn.h"

static void test_parse(void **state)
{
    (void)state;
    fs_precision p = FS_PRECISION_FP32;
    fs_error err;
    assert_int_equal(fs_precision_parse("auto", &p, &err), FS_OK);
    assert_int_equal(p, FS_PRECISION_AUTO);
    assert_int_equal(fs_precision_parse("bf16", &p, &err), FS_OK);
    assert_int_equal(p, FS_PRECISION_BF16);
    assert_int_equal(fs_precision_parse("fp32", &p, &err), FS_OK);
    assert_int_equal(p, FS_PRECISION_FP32);
    assert_int_equal(fs_precision_parse("FP32", &p, &err), FS_ERR_ARG);
    assert_non_null(strstr(err.message, "auto, fp32, bf16"));
    assert_int_equal(fs_precision_parse("", &p, &err), FS_ERR_ARG);
    assert_int_equal(fs_precision_parse(NULL, &p, &err), FS_ERR_ARG);
    assert_int_equal(p, FS_PRECISION_FP32); /* untouched on failure */
}

static fs_engine *open_engine(const char *pack, fs_precision precision)
{
    fs_engine *engine = NULL;
    fs_error err;
    fs_engine_options opt = {.threads = 1, .precision = precision};
    if (fs_engine_open(pack, &opt, &engine, &err) != FS_OK)
        print_error("%s: %s\n", pack, err.message);
    assert_non_null(engine);
    return engine;
}

static void test_auto_resolves_by_cpu(void **state)
{
    (void)state;
    /* auto is bf16 exactly where the probe finds it pays, and never without native bf16 */
    int pays = nn_cpu_bf16_pays();
    assert_true(!pays || nn_cpu_has_bf16());
    const char *native = pays ? "bf16" : "fp32";
    const struct {
        fs_precision asked;
        const char *runs;
    } cases[] = {{FS_PRECISION_AUTO, native}, {FS_PRECISION_FP32, "fp32"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fs_engine *engine = open_engine("default", cases[i].asked);
        assert_string_equal(fs_engine_precision(engine), cases[i].runs);
        fs_engine_close(engine);
    }
}

static float iou(const float *a, const float *b)
{
    float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (iw <= 0 || ih <= 0)
        return 0;
    float inter = iw * ih;
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/* Every face of the six samples, in fp32 and in bf16, for one pack. */
static void compare_pack(const char *pack)
{
    fs_engine *e32 = open_engine(pack, FS_PRECISION_FP32);
    fs_engine *e16 = open_engine(pack, FS_PRECISION_BF16);
    fs_worker *w32, *w16;
    fs_error err;
    assert_int_equal(fs_worker_new(e32, 1, &w32, &err), FS_OK);
    assert_int_equal(fs_worker_new(e16, 1, &w16, &err), FS_OK);
    char data[4096], path[4200];
    assert_int_equal(fs_data_dir(data, sizeof data, &err), FS_OK);
    int dim = fs_engine_embedding_dim(e32);
    double worst_cos = 1, worst_iou = 1, max_diff = 0;
    size_t total = 0;
    for (int i = 1; i <= 6; i++) {
        snprintf(path, sizeof path, "%s/samples/sample%d.jpg", data, i);
        fs_faces f32 = {0}, f16 = {0};
        assert_int_equal(fs_detect_file(w32, path, 1, &f32, &err), FS_OK);
        assert_int_equal(fs_detect_file(w16, path, 1, &f16, &err), FS_OK);
        if (f32.count != f16.count)
            print_error("%s sample%d: %zu faces in fp32, %zu in bf16\n", pack, i, f32.count,
                        f16.count);
        assert_int_equal(f32.count, f16.count);
        for (size_t a = 0; a < f32.count; a++) {
            size_t best = 0;
            for (size_t b = 1; b < f16.count; b++)
                if (iou(f32.faces[a].box, f16.faces[b].box) >
                    iou(f32.faces[a].box, f16.faces[best].box))
                    best = b;
            const fs_face *x = &f32.faces[a], *y = &f16.faces[best];
            worst_iou = fmin(worst_iou, iou(x->box, y->box));
            double dot = 0;
            for (int k = 0; k < dim; k++) {
                dot += (double)x->embedding[k] * y->embedding[k];
                max_diff = fmax(max_diff, fabs((double)x->embedding[k] - y->embedding[k]));
            }
            worst_cos = fmin(worst_cos, dot);
            total++;
        }
        fs_faces_free(&f32);
        fs_faces_free(&f16);
    }
    print_message("%s: %zu faces, worst box IoU %.4f, worst embedding cosine %.5f\n", pack, total,
                  worst_iou, worst_cos);
    assert_true(total >= 20); /* the samples hold 22 faces of 20 px and more */
    assert_true(worst_iou >= 0.9);
    assert_true(worst_cos >= 0.995);
    if (nn_cpu_has_bf16())
        assert_true(max_diff > 0); /* bf16 really ran */
    /* the engine says what ran: bf16 changes the embeddings, fp32 is fp32 to the last bit */
    assert_int_equal(max_diff > 0, strcmp(fs_engine_precision(e16), "bf16") == 0);
    fs_worker_free(w32);
    fs_worker_free(w16);
    fs_engine_close(e32);
    fs_engine_close(e16);
}

static void test_bf16_default_pack(void **state)
{
    (void)state;
    compare_pack("default");
}

static void test_bf16_dlib_pack(void **state)
{
    (void)state;
    compare_pack("dlib");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_auto_resolves_by_cpu),
        cmocka_unit_test(test_bf16_default_pack),
        cmocka_unit_test(test_bf16_dlib_pack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
