/*
 * test_dlib_pack.c — the dlib and fused model packs (models/dlib, models/fused), installed by
 * scripts/fetch-models.sh: both verify and load with the right embedding length and weights; dlib's
 * recognizer, converted to ONNX by scripts/dlib2onnx.py and run by our runtime, gives on a chip of
 * a sample photo the embedding dlib's own inference gives (reference values below, from
 * scripts/dlib-check.sh's dlib_ref on the same chip); the fused pack finds the sample query person.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "face/pipeline.h"
#include "image/image.h"
#include "models/pack.h"

static void sample_path(char *buf, size_t size, int i)
{
    char data[4096];
    fs_error err;
    assert_int_equal(fs_data_dir(data, sizeof data, &err), FS_OK);
    assert_true(snprintf(buf, size, "%s/samples/sample%d.jpg", data, i) < (int)size);
}

static void test_packs_verify_and_load(void **state)
{
    (void)state;
    const char *names[] = {"dlib", "fused"};
    const int dims[] = {128, 640};
    for (int i = 0; i < 2; i++) {
        fs_pack *pack;
        fs_error err;
        assert_int_equal(fs_pack_open(names[i], &pack, &err), FS_OK);
        assert_int_equal(fs_pack_kind_of(pack), FS_PACK_DEFAULT);
        assert_non_null(fs_pack_role_path(pack, "detector"));
        assert_non_null(fs_pack_role_path(pack, "landmarks"));
        assert_non_null(fs_pack_role_path(pack, "recognizer"));
        assert_true((fs_pack_role_path(pack, "recognizer2") != NULL) == (i == 1));
        assert_float_equal(model_pack_fusion(pack), i == 1 ? 0.15f : 1.0f, 1e-6);
        fs_pack_close(pack);

        fs_engine *engine;
        assert_int_equal(fs_engine_open(names[i], &(fs_engine_options){.threads = 1}, &engine,
                                        &err), FS_OK);
        assert_int_equal(fs_engine_embedding_dim(engine), dims[i]);
        fs_engine_close(engine);
    }
}

/* dlib's own output (normalised) on the 150 x 150 chip of sample1.jpg cut at these landmarks. */
static const float at[10] = {875.3f, 551.3f, 942.4f, 516.7f, 912.4f,
                             584.1f, 918.5f, 612.5f, 982.1f, 580.3f};
static const float dlib_reference[128] = {
    -0.082340f, 0.023878f, 0.044396f, -0.054832f, -0.092003f, -0.009507f, -0.086600f, -0.035729f,
    0.153048f, -0.077926f, 0.105866f, -0.014886f, -0.135312f, 0.098448f, -0.130258f, 0.112251f,
    -0.096577f, -0.085861f, -0.025428f, -0.064132f, 0.018214f, 0.045346f, 0.001790f, 0.102598f,
    -0.060187f, -0.230365f, -0.050917f, -0.106340f, -0.064194f, -0.056925f, 0.049155f, 0.060093f,
    -0.119857f, 0.004990f, 0.000712f, 0.066835f, -0.023716f, -0.084968f, 0.109279f, 0.044353f,
    -0.150962f, -0.045627f, 0.083513f, 0.200792f, 0.121858f, 0.015006f, 0.028180f, -0.052647f,
    0.089396f, -0.193683f, -0.017824f, 0.133813f, 0.022135f, 0.054222f, 0.067828f, -0.091321f,
    0.086962f, 0.044794f, -0.074701f, 0.031067f, 0.047530f, 0.021636f, 0.013714f, -0.027266f,
    0.203559f, 0.094885f, -0.070993f, -0.065768f, 0.157013f, -0.128585f, -0.066694f, 0.077883f,
    -0.119121f, -0.139423f, -0.133723f, -0.031359f, 0.325733f, 0.086805f, -0.047609f, 0.059679f,
    -0.068966f, -0.015892f, -0.001387f, 0.104278f, -0.017825f, 0.003425f, -0.029746f, 0.021909f,
    0.193860f, 0.019362f, 0.001516f, 0.145203f, 0.005301f, -0.045058f, 0.028043f, 0.061983f,
    -0.079907f, 0.003756f, -0.101253f, -0.014786f, -0.016082f, -0.000733f, -0.029606f, 0.054675f,
    -0.161399f, 0.080009f, -0.029261f, -0.034889f, -0.010469f, 0.042894f, -0.054767f, -0.009038f,
    0.142718f, -0.129738f, 0.105805f, 0.081762f, 0.042576f, 0.081674f, 0.017820f, 0.070069f,
    -0.014756f, -0.055420f, -0.120857f, -0.065827f, -0.019910f, -0.049929f, -0.031459f, 0.006737f
};

static void test_dlib_matches_dlib(void **state)
{
    (void)state;
    char path[4200];
    sample_path(path, sizeof path, 1);
    fs_error err;
    img_rgb img = {0};
    assert_int_equal(img_load(path, NULL, &img, NULL, NULL, NULL, &err), FS_OK);
    fs_engine *engine;
    fs_worker *w;
    /* the conversion is checked in fp32; bf16 is held to fp32 by test_precision.c */
    fs_engine_options opt = {.threads = 1, .precision = FS_PRECISION_FP32};
    assert_int_equal(fs_engine_open("dlib", &opt, &engine, &err), FS_OK);
    assert_int_equal(fs_worker_new(engine, 1, &w, &err), FS_OK);
    float embedding[FS_EMBEDDING_MAX];
    assert_int_equal(face_embed(w, &img, at, embedding, &err), FS_OK);
    float worst = 0;
    for (int k = 0; k < 128; k++)
        worst = fmaxf(worst, fabsf(embedding[k] - dlib_reference[k]));
    assert_true(worst <= 1e-4f);
    for (int k = 128; k < FS_EMBEDDING_MAX; k++)
        assert_true(embedding[k] == 0.0f);
    fs_worker_free(w);
    fs_engine_close(engine);
    img_free(&img);
}

/* The person of sample1's largest face is in sample4 (box about [264,195,423,447]) and sample2
 * ([891,221,1061,462]): the fused pack ranks those two faces first among the other photos', at or
 * above its threshold. */
static void test_fused_finds_query_person(void **state)
{
    (void)state;
    fs_engine *engine;
    fs_worker *w;
    fs_error err;
    assert_int_equal(fs_engine_open("fused", &(fs_engine_options){.threads = 1}, &engine, &err),
                     FS_OK);
    assert_int_equal(fs_worker_new(engine, 1, &w, &err), FS_OK);
    char path[4200];
    sample_path(path, sizeof path, 1);
    fs_faces query = {0};
    assert_int_equal(fs_detect_file(w, path, 1, &query, &err), FS_OK);
    long q = fs_faces_largest(&query);
    assert_true(q >= 0);
    double norm = 0;
    for (int k = 0; k < FS_EMBEDDING_MAX; k++)
        norm += (double)query.faces[q].embedding[k] * query.faces[q].embedding[k];
    assert_float_equal(norm, 1.0, 1e-4);

    struct { int photo; float x1, y1, s; } best[2] = {{0, 0, 0, -2}, {0, 0, 0, -2}};
    for (int i = 2; i <= 6; i++) {
        fs_faces faces = {0};
        sample_path(path, sizeof path, i);
        assert_int_equal(fs_detect_file(w, path, 1, &faces, &err), FS_OK);
        for (size_t f = 0; f < faces.count; f++) {
            float s = fs_similarity(&query.faces[q], &faces.faces[f]);
            int slot = s > best[0].s ? 0 : s > best[1].s ? 1 : -1;
            if (slot == 0)
                best[1] = best[0];
            if (slot >= 0) {
                best[slot].photo = i;
                best[slot].x1 = faces.faces[f].box[0];
                best[slot].y1 = faces.faces[f].box[1];
                best[slot].s = s;
            }
        }
        fs_faces_free(&faces);
    }
    float threshold = fs_pack_threshold(fs_engine_pack(engine));
    int found4 = 0, found2 = 0;
    for (int k = 0; k < 2; k++) {
        assert_true(best[k].s >= threshold);
        found4 |= best[k].photo == 4 && fabsf(best[k].x1 - 264) < 8 && fabsf(best[k].y1 - 195) < 8;
        found2 |= best[k].photo == 2 && fabsf(best[k].x1 - 891) < 8 && fabsf(best[k].y1 - 221) < 8;
    }
    assert_true(found4 && found2);
    fs_faces_free(&query);
    fs_worker_free(w);
    fs_engine_close(engine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packs_verify_and_load),
        cmocka_unit_test(test_dlib_matches_dlib),
        cmocka_unit_test(test_fused_finds_query_person),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
