/*
 * test_face_geometry.c — the model-free parts of the face pipeline against hand-computed values:
 * similarity fit and inversion, 68 → 5 landmarks, IoU, NMS and nested candidates, the Ultra-Light
 * prior layout and box decoding, SCRFD anchor decoding; the template of several query faces;
 * the quality score (pose offset, sharpness of an aligned face, its factors).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "face/face.h"

static void test_similarity_fit_recovers_transform(void **state)
{
    (void)state;
    /* dst = 2 * R(30°) * src + (5, -3) */
    float c = 2 * cosf((float)M_PI / 6), s = 2 * sinf((float)M_PI / 6);
    float src[10] = {0, 0, 10, 0, 5, 5, 2, 9, 8, 9}, dst[10];
    for (int i = 0; i < 5; i++) {
        dst[2 * i] = c * src[2 * i] - s * src[2 * i + 1] + 5;
        dst[2 * i + 1] = s * src[2 * i] + c * src[2 * i + 1] - 3;
    }
    float m[6], inv[6];
    assert_int_equal(face_similarity_fit(src, dst, 5, m), 0);
    assert_float_equal(m[0], c, 1e-5);
    assert_float_equal(m[1], -s, 1e-5);
    assert_float_equal(m[2], 5, 1e-4);
    assert_float_equal(m[3], s, 1e-5);
    assert_float_equal(m[4], c, 1e-5);
    assert_float_equal(m[5], -3, 1e-4);
    assert_int_equal(face_affine_invert(m, inv), 0);
    for (int i = 0; i < 5; i++) {
        float x = inv[0] * dst[2 * i] + inv[1] * dst[2 * i + 1] + inv[2];
        float y = inv[3] * dst[2 * i] + inv[4] * dst[2 * i + 1] + inv[5];
        assert_float_equal(x, src[2 * i], 1e-4);
        assert_float_equal(y, src[2 * i + 1], 1e-4);
    }
}

static void test_similarity_fit_least_squares_and_degenerate(void **state)
{
    (void)state;
    /* Mirrored points cannot be matched by a rotation: the best fit is the zero map plus the
     * centroid (a = b = 0), never a reflection. */
    float src[4] = {-1, 0, 1, 0}, dst[4] = {1, 0, -1, 0}, m[6];
    assert_int_equal(face_similarity_fit(src, src, 2, m), 0);
    assert_float_equal(m[0], 1, 1e-6);
    assert_int_equal(face_similarity_fit(src, dst, 2, m), 0);
    assert_float_equal(m[0], -1, 1e-6); /* a 180° rotation maps them exactly */
    assert_float_equal(m[3], 0, 1e-6);
    float same[4] = {3, 3, 3, 3};
    assert_int_equal(face_similarity_fit(same, dst, 2, m), -1);
    float singular[6] = {1, 2, 0, 2, 4, 0}, inv[6];
    assert_int_equal(face_affine_invert(singular, inv), -1);
}

static void test_landmarks68_to_5(void **state)
{
    (void)state;
    float p[136] = {0}, out[10];
    for (int i = 0; i < 68; i++) {
        p[2 * i] = (float)i;
        p[2 * i + 1] = (float)(100 + i);
    }
    face_landmarks68_to_5(p, out);
    assert_float_equal(out[0], 38.5f, 1e-5);  /* mean of 36..41 */
    assert_float_equal(out[1], 138.5f, 1e-5);
    assert_float_equal(out[2], 44.5f, 1e-5);  /* mean of 42..47 */
    assert_float_equal(out[4], 30, 0);
    assert_float_equal(out[6], 48, 0);
    assert_float_equal(out[8], 54, 0);
    assert_float_equal(out[9], 154, 0);
}

static void test_iou_and_nms(void **state)
{
    (void)state;
    float a[4] = {0, 0, 10, 10}, b[4] = {5, 0, 15, 10}, c[4] = {20, 20, 30, 30};
    assert_float_equal(face_box_iou(a, b), 50.0f / 150.0f, 1e-6);
    assert_float_equal(face_box_iou(a, c), 0, 0);
    face_dets d = {0};
    face_det x = {.box = {0, 0, 10, 10}, .score = 0.8f};
    face_det y = {.box = {1, 0, 11, 10}, .score = 0.9f}; /* IoU with x: 90/110 */
    face_det z = {.box = {5, 0, 15, 10},
                  .score = 0.7f}; /* IoU with y: 60/140 = 0.43, with x: 0.33 */
    assert_int_equal(face_dets_push(&d, &x, NULL), FS_OK);
    assert_int_equal(face_dets_push(&d, &y, NULL), FS_OK);
    assert_int_equal(face_dets_push(&d, &z, NULL), FS_OK);
    face_nms(&d, 0.4f);
    assert_int_equal(d.count, 1);
    assert_float_equal(d.items[0].score, 0.9f, 0);
    face_dets_free(&d);
    assert_int_equal(face_dets_push(&d, &x, NULL), FS_OK);
    assert_int_equal(face_dets_push(&d, &z, NULL), FS_OK);
    face_nms(&d, 0.4f);
    assert_int_equal(d.count, 2);
    face_dets_free(&d);
}

static void test_det_nested(void **state)
{
    (void)state;
    face_dets d = {0};
    face_det face = {.box = {0, 0, 100, 120}, .score = 0.6f};
    face_det eye = {.box = {20, 30, 50, 55}, .score = 0.99f};       /* wholly inside, 1/16 of it */
    face_det half_out = {.box = {80, 40, 120, 70}, .score = 0.9f};  /* half inside */
    face_det big = {.box = {30, 30, 90, 90}, .score = 0.9f};        /* inside, 3600 > 12000 / 4 */
    face_det edge = {.box = {-8, 50, 22, 80}, .score = 0.9f};       /* 22/30 inside: 0.73 */
    face_det point = {.box = {5, 5, 5, 5}, .score = 0.9f};          /* empty: never nested */
    const face_det all[] = {face, eye, half_out, big, edge, point};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        assert_int_equal(face_dets_push(&d, &all[i], NULL), FS_OK);
    const int nested[] = {0, 1, 0, 0, 1, 0};
    for (size_t i = 0; i < d.count; i++)
        assert_int_equal(face_det_nested(&d, i, 0.7f, 4.0f), nested[i]);
    /* the area ratio counts (face is 16 times the eye); only 2/3 of the eye is inside big */
    assert_int_equal(face_det_nested(&d, 1, 0.7f, 16.0f), 1);
    assert_int_equal(face_det_nested(&d, 1, 0.7f, 16.1f), 0);
    assert_int_equal(face_det_nested(&d, 4, 0.74f, 4.0f), 0);
    face_dets_free(&d);
    /* alone, or with its container removed, a candidate is kept */
    assert_int_equal(face_dets_push(&d, &eye, NULL), FS_OK);
    assert_int_equal(face_det_nested(&d, 0, 0.7f, 4.0f), 0);
    face_dets_free(&d);
}

static void test_ultraface_priors(void **state)
{
    (void)state;
    /* The file's own decoding, baked in for 320 x 240, has 4420 priors. */
    assert_int_equal(face_ultraface_prior_count(320, 240), 4420);
    /* 640 x 480: 80x60x3 + 40x30x2 + 20x15x2 + 10x8x3 */
    assert_int_equal(face_ultraface_prior_count(640, 480), 14400 + 2400 + 600 + 240);
}

static void test_ultraface_decode(void **state)
{
    (void)state;
    size_t n = face_ultraface_prior_count(320, 240);
    static float logits[2 * 4420], reg[4 * 4420];
    memset(reg, 0, sizeof reg);
    for (size_t k = 0; k < n; k++) {
        logits[2 * k] = 5; /* background */
        logits[2 * k + 1] = 0;
    }
    /* Prior 0: cell (0,0) of stride 8, size 10: centre (4, 4) px, 10 x 10 px. */
    logits[1] = 10;
    reg[0] = 1.0f;            /* cx += 0.1 * w = 1 px */
    reg[3] = logf(2) / 0.2f;  /* h doubles to 20 px */
    /* Last prior: stride 64 cell (row 3, col 4), size 256: centre (288, 224), clamped size
     * 256/320 x 1.0 (256/240 > 1 is clamped) = 256 x 240 px. */
    logits[2 * (n - 1) + 1] = 10;
    face_dets d = {0};
    assert_int_equal(face_ultraface_decode(logits, reg, n, 320, 240, 0.5f, 2.0f, 3.0f, &d, NULL),
                     FS_OK);
    assert_int_equal(d.count, 2);
    /* scaled by sx = 2, sy = 3 */
    assert_float_equal(d.items[0].box[0], (5 - 5) * 2.0f, 1e-3);
    assert_float_equal(d.items[0].box[1], (4 - 10) * 3.0f, 1e-3);
    assert_float_equal(d.items[0].box[2], (5 + 5) * 2.0f, 1e-3);
    assert_float_equal(d.items[0].box[3], (4 + 10) * 3.0f, 1e-3);
    assert_float_equal(d.items[0].score, 1 / (1 + expf(-5)), 1e-6);
    assert_float_equal(d.items[1].box[0], (288 - 128) * 2.0f, 1e-2);
    assert_float_equal(d.items[1].box[1], (224 - 120) * 3.0f, 1e-2);
    assert_float_equal(d.items[1].box[2], (288 + 128) * 2.0f, 1e-2);
    assert_float_equal(d.items[1].box[3], (224 + 120) * 3.0f, 1e-2);
    face_dets_free(&d);

    fs_error err;
    assert_int_equal(face_ultraface_decode(logits, reg, n - 1, 320, 240, 0.5f, 1, 1, &d, &err),
                     FS_ERR_INTERNAL);
    assert_string_equal(err.message, "detector gave 4419 candidates, expected 4420 for 320x240");

    /* Level by level (as the fine pass decodes the detector stopped at levels 0 and 1), the same
     * faces as the whole output: here one in level 0 and one in level 3. */
    size_t at = 0, total = 0;
    for (int level = 0; level < FS_ULTRAFACE_LEVELS; level++) {
        size_t count = face_ultraface_level_count(320, 240, level);
        face_dets part = {0};
        assert_int_equal(face_ultraface_decode_level(logits + 2 * at, reg + 4 * at, count, 320, 240,
                                                     level, 0.5f, 2.0f, 3.0f, &part, NULL),
                         FS_OK);
        assert_int_equal(part.count, level == 0 || level == 3 ? 1 : 0);
        if (level == 3)
            assert_float_equal(part.items[0].box[2], (288 + 128) * 2.0f, 1e-2);
        face_dets_free(&part);
        at += count;
        total += count;
    }
    assert_int_equal(total, n);
    assert_int_equal(face_ultraface_level_count(320, 240, 0), 40 * 30 * 3);
    assert_int_equal(face_ultraface_level_count(320, 240, 4), 0);
    assert_int_equal(
        face_ultraface_decode_level(logits, reg, 10, 320, 240, 1, 0.5f, 1, 1, &d, &err),
        FS_ERR_INTERNAL);
    assert_string_equal(err.message,
                        "detector gave 10 candidates at level 1, expected 600 for 320x240");
}

static void test_scrfd_decode(void **state)
{
    (void)state;
    /* A 64 x 64 input: strides 8/16/32 give 8x8, 4x4, 2x2 cells, 2 anchors each. */
    static float sc8[128], sc16[32], sc32[8], bx8[512], bx16[128], bx32[32], kp8[1280], kp16[320],
        kp32[80];
    /* stride 16, cell (row 1, col 2), second anchor: index (1 * 4 + 2) * 2 + 1 = 13; centre (32,
     * 16) */
    sc16[13] = 0.9f;
    bx16[13 * 4 + 0] = 1; bx16[13 * 4 + 1] = 0.5f; bx16[13 * 4 + 2] = 2; bx16[13 * 4 + 3] = 1;
    for (int i = 0; i < 5; i++) {
        kp16[13 * 10 + 2 * i] = 0.25f * i;
        kp16[13 * 10 + 2 * i + 1] = -0.5f;
    }
    const float *scores[3] = {sc8, sc16, sc32}, *boxes[3] = {bx8, bx16, bx32},
                *kps[3] = {kp8, kp16, kp32};
    const size_t counts[3] = {128, 32, 8};
    face_dets d = {0};
    assert_int_equal(face_scrfd_decode(scores, boxes, kps, counts, 64, 64, 0.5f, 2.0f, &d, NULL),
                     FS_OK);
    assert_int_equal(d.count, 1);
    const face_det *x = &d.items[0];
    assert_float_equal(x->box[0], (32 - 16) * 2.0f, 1e-4);
    assert_float_equal(x->box[1], (16 - 8) * 2.0f, 1e-4);
    assert_float_equal(x->box[2], (32 + 32) * 2.0f, 1e-4);
    assert_float_equal(x->box[3], (16 + 16) * 2.0f, 1e-4);
    assert_true(x->has_landmarks);
    assert_float_equal(x->landmarks[4], (32 + 0.5f * 16) * 2.0f, 1e-4);
    assert_float_equal(x->landmarks[5], (16 - 8) * 2.0f, 1e-4);
    face_dets_free(&d);

    const size_t wrong[3] = {128, 30, 8};
    fs_error err;
    assert_int_equal(face_scrfd_decode(scores, boxes, NULL, wrong, 64, 64, 0.5f, 1, &d, &err),
                     FS_ERR_FORMAT);
    assert_string_equal(err.message, "SCRFD stride 16 gave 30 anchors, expected 32 for 64x64");
    face_dets_free(&d);
}

/* fs_face_template: the normalised mean embedding (two orthogonal unit vectors give (a + b) / sqrt 2,
 * equally similar to both, 1 / sqrt 2), box and score of the first face; in place too; no face and
 * opposite faces are FS_ERR_ARG. */
static void test_face_template(void **state)
{
    (void)state;
    static fs_face f[2], t;
    memset(f, 0, sizeof f);
    f[0].embedding[0] = 1;
    f[1].embedding[1] = 1;
    f[0].box[2] = 7;
    f[0].score = 0.5f;
    f[1].score = 0.9f;
    fs_error err;
    assert_int_equal(fs_face_template(f, 2, &t, &err), FS_OK);
    assert_float_equal(t.embedding[0], (float)M_SQRT1_2, 1e-6);
    assert_float_equal(t.embedding[1], (float)M_SQRT1_2, 1e-6);
    assert_float_equal(t.embedding[2], 0, 0);
    assert_float_equal(t.box[2], 7, 0);
    assert_float_equal(t.score, 0.5f, 0);
    assert_float_equal(fs_similarity(&t, &f[0]), fs_similarity(&t, &f[1]), 1e-6);
    assert_float_equal(fs_similarity(&t, &f[0]), (float)M_SQRT1_2, 1e-6);
    /* one face is its own template; the output may be the input */
    assert_int_equal(fs_face_template(&f[1], 1, &f[1], &err), FS_OK);
    assert_float_equal(f[1].embedding[1], 1, 0);
    assert_int_equal(fs_face_template(f, 0, &t, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "no query face for a template");
    f[1] = f[0];
    f[1].embedding[0] = -1;
    assert_int_equal(fs_face_template(f, 2, &t, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "the query faces' embeddings cancel out");
}

/* ---- quality ------------------------------------------------------------------------------ */

/* A 112 x 112 grey image: v(x, y) for every pixel */
static img_rgb grey_image(int (*v)(int x, int y))
{
    img_rgb im = {FS_ALIGNED_SIZE, FS_ALIGNED_SIZE, malloc(3 * FS_ALIGNED_SIZE * FS_ALIGNED_SIZE)};
    assert_non_null(im.rgb);
    for (int y = 0; y < im.height; y++)
        for (int x = 0; x < im.width; x++)
            memset(im.rgb + 3 * (y * im.width + x), v(x, y), 3);
    return im;
}

static int flat(int x, int y)
{
    (void)x, (void)y;
    return 120;
}

static int checker(int x, int y) /* detail at the finest scale */
{
    return ((x / 2 + y / 2) % 2) ? 200 : 40;
}

static int smooth(int x, int y) /* the same contrast, spread over the whole face */
{
    return 120 + (int)(80 * sinf((float)x / 18) * cosf((float)y / 18));
}

static void test_quality_factors(void **state)
{
    (void)state;
    img_rgb a = grey_image(flat), b = grey_image(checker), c = grey_image(smooth);
    float sa = face_sharpness_of(&a), sb = face_sharpness_of(&b), sc = face_sharpness_of(&c);
    assert_true(sa == 0.0f);
    assert_true(sb > 1.0f);
    assert_true(sc > 0.0f && sc < 0.02f);
    /* contrast does not count: the same pattern at a quarter of the contrast scores the same */
    for (size_t i = 0; i < 3 * (size_t)b.width * (size_t)b.height; i++)
        b.rgb[i] = (uint8_t)(100 + (b.rgb[i] - 40) / 4);
    assert_float_equal(face_sharpness_of(&b), sb, 0.05 * sb);
    /* measured on the photo: the face aligned by its landmarks (here already in place) */
    float s;
    fs_error err;
    assert_int_equal(face_sharpness(&c, face_arcface_template, &s, &err), FS_OK);
    assert_float_equal(s, sc, 0.2 * sc + 1e-4);
    img_free(&a);
    img_free(&b);
    img_free(&c);

    float box[4] = {100, 100, 200, 220};
    float lm[10] = {130, 140, 170, 140, 150, 165, 135, 190, 165, 190};
    assert_float_equal(face_pose_offset(lm), 0.0f, 1e-6);
    float turned[10] = {130, 140, 170, 140, 162, 165, 140, 190, 170, 190};
    assert_float_equal(face_pose_offset(turned), 0.3f, 1e-5);
    float profile[10] = {130, 140, 170, 140, 180, 165, 150, 190, 170, 190};
    assert_true(face_pose_offset(profile) > 0.7f);
    /* each factor alone brings the score down */
    assert_true(face_quality(0.99f, box, lm, 1.0f) == 1.0f);
    assert_true(face_quality(0.99f, box, lm, -1.0f) == 1.0f); /* not measured: left out */
    assert_true(face_quality(0.99f, box, lm, 0.0f) == 0.0f);  /* blurred */
    assert_true(face_quality(0.99f, box, profile, 1.0f) == 0.0f);
    assert_true(face_quality(0.99f, box, turned, 1.0f) == 1.0f);
    assert_true(face_quality(0.5f, box, lm, 1.0f) == 0.0f);
    float tiny[4] = {100, 100, 120, 124};
    float tiny_lm[10] = {106, 108, 114, 108, 110, 113, 107, 118, 113, 118};
    assert_true(face_quality(0.99f, tiny, tiny_lm, 1.0f) == 0.0f);
    float q = face_quality(0.7f, box, lm, 1.0f); /* half-way up the score's ramp */
    assert_true(q > 0.4f && q < 0.6f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_similarity_fit_recovers_transform),
        cmocka_unit_test(test_similarity_fit_least_squares_and_degenerate),
        cmocka_unit_test(test_landmarks68_to_5),
        cmocka_unit_test(test_iou_and_nms),
        cmocka_unit_test(test_det_nested),
        cmocka_unit_test(test_ultraface_priors),
        cmocka_unit_test(test_ultraface_decode),
        cmocka_unit_test(test_scrfd_decode),
        cmocka_unit_test(test_face_template),
        cmocka_unit_test(test_quality_factors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
