/*
 * test_insightface_pack.c — the insightface path below the command line: SCRFD decoding on
 * hand-made outputs (anchor order, strides, distances, keypoints, scale, threshold, NaN, size
 * checks), the role of each stand-in model of tests/models (make_insightface_models.py), finding
 * the detector and recognizer of a folder without a manifest, and the whole pipeline (letterbox,
 * our runtime, decoding, scaling back, embedding) on a layout image with hand-computed faces.
 * Run under ASan in the sanitizer build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "face/face.h"
#include "models/identify.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static void source_path(char *buf, size_t size, const char *name)
{
    const char *src = getenv("FS_SOURCE_DIR");
    assert_non_null(src);
    assert_true(snprintf(buf, size, "%s/tests/models/%s", src, name) < (int)size);
}

static void copy_model(const char *name, const char *dir, const char *as)
{
    char from[4096], to[4096];
    source_path(from, sizeof from, name);
    assert_true(snprintf(to, sizeof to, "%s/%s", dir, as) < (int)sizeof to);
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void remove_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void make_temp_dir(char *buf, size_t size, const char *leaf)
{
    char base[] = "/tmp/fs_insightface_XXXXXX";
    assert_non_null(mkdtemp(base));
    snprintf(buf, size, "%s/%s", base, leaf);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", buf);
    assert_int_equal(system(cmd), 0);
}

/* ---- SCRFD decoding ---------------------------------------------------------------------- */

/* A 64 x 32 input: stride 8 has 8 x 4 cells, 16 has 4 x 2, 32 has 2 x 1; two anchors each. */
#define IN_W 64
#define IN_H 32
static const size_t counts[3] = {8 * 4 * 2, 4 * 2 * 2, 2 * 1 * 2};

typedef struct outputs {
    float scores[3][64];
    float boxes[3][64 * 4];
    float kps[3][64 * 10];
} outputs;

static void decode(outputs *o, int with_kps, float threshold, float scale, face_dets *out,
                   fs_status rc)
{
    const float *s[3] = {o->scores[0], o->scores[1], o->scores[2]};
    const float *b[3] = {o->boxes[0], o->boxes[1], o->boxes[2]};
    const float *k[3] = {o->kps[0], o->kps[1], o->kps[2]};
    fs_error err;
    assert_int_equal(face_scrfd_decode(s, b, with_kps ? k : NULL, counts, IN_W, IN_H, threshold,
                                       scale, out, &err),
                     rc);
}

static void test_decode_one_anchor(void **state)
{
    (void)state;
    outputs *o = calloc(1, sizeof *o);
    assert_non_null(o);
    /* stride 16, column 2, row 1, anchor 1: row k = (1 * 4 + 2) * 2 + 1 = 13; centre (32, 16) */
    size_t k = 13;
    o->scores[1][k] = 0.9f;
    const float d[4] = {1, 2, 3, 4};
    memcpy(&o->boxes[1][4 * k], d, sizeof d);
    for (int i = 0; i < 10; i++)
        o->kps[1][10 * k + i] = (i % 2 ? 0.25f : -0.5f) * (float)(i / 2 + 1);
    face_dets out = {0};
    decode(o, 1, 0.5f, 2.0f, &out, FS_OK);
    assert_int_equal(out.count, 1);
    const face_det *det = &out.items[0];
    /* (cx - 1*16, cy - 2*16, cx + 3*16, cy + 4*16) times 2 */
    assert_float_equal(det->box[0], 32.0f, 1e-4);
    assert_float_equal(det->box[1], -32.0f, 1e-4);
    assert_float_equal(det->box[2], 160.0f, 1e-4);
    assert_float_equal(det->box[3], 160.0f, 1e-4);
    assert_float_equal(det->score, 0.9f, 1e-6);
    assert_true(det->has_landmarks);
    for (int i = 0; i < 5; i++) {
        float dx = -0.5f * (float)(i + 1), dy = 0.25f * (float)(i + 1);
        assert_float_equal(det->landmarks[2 * i], (32.0f + dx * 16) * 2, 1e-4);
        assert_float_equal(det->landmarks[2 * i + 1], (16.0f + dy * 16) * 2, 1e-4);
    }
    face_dets_free(&out);

    /* without keypoint outputs: no landmarks */
    decode(o, 0, 0.5f, 1.0f, &out, FS_OK);
    assert_int_equal(out.count, 1);
    assert_false(out.items[0].has_landmarks);
    face_dets_free(&out);
    free(o);
}

static void test_decode_threshold_nan_and_strides(void **state)
{
    (void)state;
    outputs *o = calloc(1, sizeof *o);
    assert_non_null(o);
    o->scores[0][0] = 0.5f;            /* exactly the threshold: kept; stride 8 cell (0,0) */
    o->scores[0][1] = 0.4999f;         /* below: dropped */
    o->scores[0][2] = NAN;             /* not a number: dropped, never a face */
    o->scores[2][3] = 1.0f;            /* stride 32, cell 1 (column 1, row 0), anchor 1: (32, 0) */
    face_dets out = {0};
    decode(o, 1, 0.5f, 1.0f, &out, FS_OK);
    assert_int_equal(out.count, 2);
    assert_float_equal(out.items[0].box[0], 0.0f, 1e-6);
    assert_float_equal(out.items[1].box[0], 32.0f, 1e-6);
    assert_float_equal(out.items[1].box[1], 0.0f, 1e-6);
    face_dets_free(&out);
    free(o);
}

static void test_decode_size_mismatch(void **state)
{
    (void)state;
    outputs *o = calloc(1, sizeof *o);
    assert_non_null(o);
    const float *s[3] = {o->scores[0], o->scores[1], o->scores[2]};
    const float *b[3] = {o->boxes[0], o->boxes[1], o->boxes[2]};
    const size_t wrong[3] = {counts[0], counts[1] - 2, counts[2]};
    face_dets out = {0};
    fs_error err;
    assert_int_equal(face_scrfd_decode(s, b, NULL, wrong, IN_W, IN_H, 0.5f, 1.0f, &out, &err),
                     FS_ERR_FORMAT);
    assert_string_equal(err.message, "SCRFD stride 16 gave 14 anchors, expected 16 for 64x32");
    assert_int_equal(out.count, 0);
    face_dets_free(&out);
    free(o);
}

/* ---- roles by signature ------------------------------------------------------------------ */

static void expect_role(const char *name, model_role want, const char *want_why)
{
    char path[4096], why[256];
    source_path(path, sizeof path, name);
    model_role role;
    fs_error err;
    assert_int_equal(model_identify(path, &role, why, sizeof why, &err), FS_OK);
    assert_int_equal(role, want);
    if (want_why)
        assert_string_equal(why, want_why);
}

static void test_roles(void **state)
{
    (void)state;
    expect_role("det_scrfd.onnx", FS_ROLE_DETECTOR, NULL);
    expect_role("det_scrfd_nokps.onnx", FS_ROLE_DETECTOR, NULL);
    expect_role("arcface_512.onnx", FS_ROLE_RECOGNIZER, NULL);
    expect_role("arcface_128.onnx", FS_ROLE_OTHER, "its embedding has 128 values, expected 512");
    expect_role(
        "genderage_like.onnx", FS_ROLE_OTHER,
        "input (0,3,96,96) with 1 output: neither a 112x112 recognizer nor an SCRFD detector "
        "(6 or 9 outputs)");
    expect_role("landmark2d106_like.onnx", FS_ROLE_OTHER, NULL);
    expect_role("landmark3d68_like.onnx", FS_ROLE_OTHER, NULL);

    char path[4096];
    source_path(path, sizeof path, "arcface_512.onnx");
    fs_error err;
    assert_int_equal(model_check_role(path, FS_ROLE_DETECTOR, &err), FS_ERR_FORMAT);
    assert_non_null(strstr(err.message, ": not an SCRFD face detector: it has the signature of a "
                                        "face recognizer"));
    assert_int_equal(model_check_role(path, FS_ROLE_RECOGNIZER, &err), FS_OK);
    source_path(path, sizeof path, "no_such_model.onnx");
    model_role role;
    char why[64];
    assert_int_equal(model_identify(path, &role, why, sizeof why, &err), FS_ERR_NOT_FOUND);
}

static void test_identify_folder(void **state)
{
    (void)state;
    char dir[4096];
    make_temp_dir(dir, sizeof dir, "mixed");
    copy_model("genderage_like.onnx", dir, "genderage.onnx");
    copy_model("landmark3d68_like.onnx", dir, "1k3d68.onnx");
    copy_model("arcface_128.onnx", dir, "a_small.onnx");
    fs_error err;
    char *det, *rec;
    /* no detector, no recognizer */
    assert_int_equal(model_identify_pack(dir, &det, &rec, &err), FS_ERR_NOT_FOUND);
    assert_null(det);
    assert_null(rec);
    char want[4600];
    snprintf(want, sizeof want,
             "%s: no SCRFD face detector and no face recognizer among its 3 .onnx files and no "
             "manifest (a detector has 6 or 9 outputs for strides 8, 16, 32; a recognizer takes "
             "112x112 and gives 512 values)", dir);
    assert_string_equal(err.message, want);
    /* two detectors and two recognizers: the first of each in name order wins */
    copy_model("det_scrfd_nokps.onnx", dir, "b_det.onnx");
    copy_model("det_scrfd.onnx", dir, "c_det.onnx");
    copy_model("arcface_512.onnx", dir, "w_rec.onnx");
    copy_model("arcface_512.onnx", dir, "z_rec.onnx");
    assert_int_equal(model_identify_pack(dir, &det, &rec, &err), FS_OK);
    assert_string_equal(det, "b_det.onnx");
    assert_string_equal(rec, "w_rec.onnx");
    free(det);
    free(rec);

    /* the same folder as a pack: named after the folder, insightface kind, threshold 0.5 */
    fs_pack *pack;
    assert_int_equal(fs_pack_open(dir, &pack, &err), FS_OK);
    assert_string_equal(fs_pack_name(pack), "mixed");
    assert_int_equal(fs_pack_kind_of(pack), FS_PACK_INSIGHTFACE);
    assert_float_equal(fs_pack_threshold(pack), 0.5f, 1e-6);
    assert_int_equal(fs_pack_file_count(pack), 2);
    char want_path[4200];
    snprintf(want_path, sizeof want_path, "%s/w_rec.onnx", dir);
    assert_string_equal(fs_pack_role_path(pack, "recognizer"), want_path);
    assert_null(fs_pack_role_path(pack, "landmarks"));
    assert_int_equal(strlen(fs_pack_file_sha256(pack, 0)), 64);
    fs_pack_close(pack);
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    *strrchr(parent, '/') = '\0';
    remove_tree(parent);
}

/* ---- the whole pipeline ------------------------------------------------------------------ */

static void test_pipeline_layout(void **state)
{
    (void)state;
    char dir[4096], image[4096];
    make_temp_dir(dir, sizeof dir, "pack");
    copy_model("det_scrfd.onnx", dir, "det_10g.onnx");
    copy_model("arcface_512.onnx", dir, "w600k_r50.onnx");
    copy_model("genderage_like.onnx", dir, "genderage.onnx");
    source_path(image, sizeof image, "layout_1280x960.png");

    fs_engine *engine;
    fs_worker *worker;
    fs_error err;
    fs_engine_options opt = {.threads = 1};
    assert_int_equal(fs_engine_open(dir, &opt, &engine, &err), FS_OK);
    assert_int_equal(fs_worker_new(engine, 0, &worker, &err), FS_OK);
    fs_faces faces;
    assert_int_equal(fs_detect_file(worker, image, 1, &faces, &err), FS_OK);
    assert_int_equal(faces.width, 1280);
    assert_int_equal(faces.height, 960);
    assert_int_equal(faces.count, 6);
    /* the stride-8 anchor-0 face: cell (10, 10) of the 640 input, centre (80, 80); box
     * (80 - 1.5*8, 80 - 2*8, 80 + 2.5*8, 80 + 3*8) and left eye (80 - 0.5*8, 80 - 0.5*8), times 2
     */
    const float want[4] = {136, 128, 200, 208};
    int found = 0;
    for (size_t i = 0; i < faces.count; i++) {
        const fs_face *f = &faces.faces[i];
        assert_float_equal(f->score, 0.98145f, 1e-3);
        double norm = 0;
        for (int j = 0; j < FS_EMBEDDING_MAX; j++)
            norm += (double)f->embedding[j] * f->embedding[j];
        assert_float_equal(norm, 1.0, 1e-3);
        if (fabsf(f->box[0] - want[0]) <= 1 && fabsf(f->box[1] - want[1]) <= 1) {
            found++;
            for (int j = 0; j < 4; j++)
                assert_float_equal(f->box[j], want[j], 1.0);
            assert_float_equal(f->landmarks[0], 152.0f, 1.0);
            assert_float_equal(f->landmarks[1], 152.0f, 1.0);
        }
    }
    assert_int_equal(found, 1);
    /* a face compared with itself */
    assert_float_equal(fs_similarity(&faces.faces[0], &faces.faces[0]), 1.0f, 1e-4);

    /* One engine, workers of different thread counts (the engine's 1 above, 2 here): the same
     * faces; a negative count is refused. */
    fs_worker *two;
    assert_int_equal(fs_worker_new(engine, -1, &two, &err), FS_ERR_ARG);
    assert_null(two);
    assert_int_equal(fs_worker_new(engine, 2, &two, &err), FS_OK);
    fs_faces again;
    assert_int_equal(fs_detect_file(two, image, 1, &again, &err), FS_OK);
    assert_int_equal(again.count, faces.count);
    for (size_t i = 0; i < faces.count; i++) {
        for (int j = 0; j < 4; j++)
            assert_float_equal(again.faces[i].box[j], faces.faces[i].box[j], 1e-3);
        assert_float_equal(fs_similarity(&again.faces[i], &faces.faces[i]), 1.0f, 1e-4);
    }
    fs_faces_free(&again);
    fs_worker_free(two);
    fs_faces_free(&faces);
    fs_worker_free(worker);
    fs_engine_close(engine);
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    *strrchr(parent, '/') = '\0';
    remove_tree(parent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_one_anchor),
        cmocka_unit_test(test_decode_threshold_nan_and_strides),
        cmocka_unit_test(test_decode_size_mismatch),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_identify_folder),
        cmocka_unit_test(test_pipeline_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
