/*
 * test_image_ops.c — the pixel operations against values computed by hand: resize (area average
 * when shrinking, bilinear when growing), affine warp (identity and integer translations exact,
 * half-pixel and 2x bilinear, black outside), crop, drawing, saving (formats, atomic replace,
 * errors), and the EXIF orientation parser on well- and ill-formed blocks.
 */
#include <dirent.h>
#include <math.h>
#include <sys/stat.h>

#include "image/testimg.h"

/* An image whose channels are (v, v + 1, 255 - v) for the given grey values v, row-major. */
static img_rgb from_values(int w, int h, const uint8_t *v)
{
    img_rgb img;
    assert_int_equal(img_new(w, h, &img, NULL), FS_OK);
    for (int i = 0; i < w * h; i++) {
        img.rgb[3 * i] = v[i];
        img.rgb[3 * i + 1] = (uint8_t)(v[i] + 1);
        img.rgb[3 * i + 2] = (uint8_t)(255 - v[i]);
    }
    return img;
}

static void expect_values(const img_rgb *img, int w, int h, const uint8_t *v)
{
    assert_int_equal(img->width, w);
    assert_int_equal(img->height, h);
    for (int i = 0; i < w * h; i++) {
        int r = img->rgb[3 * i], g = img->rgb[3 * i + 1], b = img->rgb[3 * i + 2];
        if (r != v[i] || g != (v[i] + 1) % 256 || b != 255 - v[i])
            fail_msg("pixel %d: (%d %d %d), expected %d", i, img->rgb[3 * i], img->rgb[3 * i + 1],
                     img->rgb[3 * i + 2], v[i]);
    }
}

/* ---- resize ---------------------------------------------------------------------------- */

static void test_resize_same_size_is_a_copy(void **state)
{
    (void)state;
    img_rgb u = test_pattern(37, 23, 5), out;
    assert_int_equal(img_resize(&u, 37, 23, &out, NULL), FS_OK);
    assert_memory_equal(out.rgb, u.rgb, (size_t)37 * 23 * 3);
    img_free(&out);
    img_free(&u);
}

static void test_resize_shrink_is_area_average(void **state)
{
    (void)state;
    /* 4 x 2 -> 2 x 1: each output is the mean of a 2 x 2 block (10+20+30+40)/4 = 25,
     * (0+1+2+3)/4 = 1.5 -> 2 (rounded half up). */
    const uint8_t in[8] = {10, 20, 0, 1, 30, 40, 2, 3}, want[2] = {25, 2};
    img_rgb a = from_values(4, 2, in), out;
    assert_int_equal(img_resize(&a, 2, 1, &out, NULL), FS_OK);
    assert_int_equal(out.rgb[0], 25);
    assert_int_equal(out.rgb[3], 2);
    (void)want;
    img_free(&out);
    img_free(&a);
    /* 3 -> 2 (ratio 1.5): out0 covers [0, 1.5): (0 + 0.5 * 30) / 1.5 = 10;
     * out1 covers [1.5, 3): (0.5 * 30 + 90) / 1.5 = 70. */
    const uint8_t row[3] = {0, 30, 90}, row_want[2] = {10, 70};
    img_rgb b = from_values(3, 1, row);
    assert_int_equal(img_resize(&b, 2, 1, &out, NULL), FS_OK);
    expect_values(&out, 2, 1, row_want);
    img_free(&out);
    img_free(&b);
    /* a flat image stays flat at any ratio */
    img_rgb c;
    assert_int_equal(img_new(97, 61, &c, NULL), FS_OK);
    memset(c.rgb, 77, (size_t)97 * 61 * 3);
    assert_int_equal(img_resize(&c, 13, 7, &out, NULL), FS_OK);
    for (size_t i = 0; i < (size_t)13 * 7 * 3; i++)
        assert_int_equal(out.rgb[i], 77);
    img_free(&out);
    img_free(&c);
}

static void test_shrink_matches_area_resize(void **state)
{
    (void)state;
    /* by 2: the same 2 x 2 means as the area resize */
    const uint8_t in[8] = {10, 20, 0, 1, 30, 40, 2, 3};
    img_rgb a = from_values(4, 2, in), out;
    assert_int_equal(img_shrink(&a, 2, &out, NULL), FS_OK);
    assert_int_equal(out.width, 2);
    assert_int_equal(out.height, 1);
    assert_int_equal(out.rgb[0], 25);
    assert_int_equal(out.rgb[3], 2);
    img_free(&out);
    img_free(&a);
    /* on a whole multiple, identical to img_resize at factors 2, 3 and 5 */
    img_rgb p = test_pattern(60, 90, 7), r;
    for (int f = 2; f <= 5; f += (f == 3 ? 2 : 1)) {
        assert_int_equal(img_shrink(&p, f, &out, NULL), FS_OK);
        assert_int_equal(img_resize(&p, 60 / f, 90 / f, &r, NULL), FS_OK);
        assert_int_equal(out.width, 60 / f);
        assert_int_equal(out.height, 90 / f);
        for (size_t i = 0; i < (size_t)out.width * out.height * 3; i++)
            assert_true(abs(out.rgb[i] - r.rgb[i]) <= 1);
        img_free(&out);
        img_free(&r);
    }
    /* not a multiple: the last columns and rows are dropped */
    assert_int_equal(img_shrink(&p, 4, &out, NULL), FS_OK);
    assert_int_equal(out.width, 15);
    assert_int_equal(out.height, 22);
    img_free(&out);
    fs_error err;
    assert_int_equal(img_shrink(&p, 61, &out, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "shrink of a 60 x 90 image by 61");
    assert_null(out.rgb);
    img_free(&p);
}

static void test_resize_grow_is_bilinear(void **state)
{
    (void)state;
    /* 2 -> 4: output i samples (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]:
     * 0, 0.75*0 + 0.25*100 = 25, 75, 100. In 2D the same separably. */
    const uint8_t in[4] = {0, 100, 100, 200};
    const uint8_t want[16] = {0,   25,  75,  100, 25,  50,  100, 125,
                              75,  100, 150, 175, 100, 125, 175, 200};
    img_rgb a = from_values(2, 2, in), out;
    assert_int_equal(img_resize(&a, 4, 4, &out, NULL), FS_OK);
    expect_values(&out, 4, 4, want);
    img_free(&out);
    img_free(&a);
    /* 1 x 1 grows to a flat image */
    const uint8_t one[1] = {42}, flat[6] = {42, 42, 42, 42, 42, 42};
    img_rgb b = from_values(1, 1, one);
    assert_int_equal(img_resize(&b, 3, 2, &out, NULL), FS_OK);
    expect_values(&out, 3, 2, flat);
    img_free(&out);
    img_free(&b);
}

static void test_resize_bad_arguments(void **state)
{
    (void)state;
    img_rgb a = test_pattern(4, 4, 2), out;
    fs_error err = {0};
    assert_int_equal(img_resize(&a, 0, 4, &out, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "resize to an invalid size 0 x 4");
    assert_null(out.rgb);
    img_rgb empty = {0, 0, NULL};
    assert_int_equal(img_resize(&empty, 4, 4, &out, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "resize of an empty image");
    assert_int_equal(img_new(-1, 4, &out, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "invalid image size -1 x 4");
    img_free(&a);
}

/* ---- warp ------------------------------------------------------------------------------ */

static void test_warp_identity_and_translation_exact(void **state)
{
    (void)state;
    img_rgb u = test_pattern(40, 30, 3), out;
    assert_int_equal(img_new(40, 30, &out, NULL), FS_OK);
    const float id[6] = {1, 0, 0, 0, 1, 0};
    img_warp_affine(&u, id, &out);
    assert_memory_equal(out.rgb, u.rgb, (size_t)40 * 30 * 3);
    /* out(x, y) = src(x + 3, y - 2); black where that falls outside */
    const float tr[6] = {1, 0, 3, 0, 1, -2};
    img_warp_affine(&u, tr, &out);
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            const uint8_t black[3] = {0, 0, 0};
            int sx = x + 3, sy = y - 2;
            const uint8_t *want = sx < 40 && sy >= 0 ? test_px(&u, sx, sy) : black;
            assert_memory_equal(test_px(&out, x, y), want, 3);
        }
    img_free(&out);
    img_free(&u);
}

static void test_warp_bilinear_by_hand(void **state)
{
    (void)state;
    const uint8_t in[4] = {0, 100, 100, 200};
    img_rgb a = from_values(2, 2, in), out;
    /* half a pixel right and down: the single in-bounds sample is the mean of all four */
    assert_int_equal(img_new(1, 1, &out, NULL), FS_OK);
    const float half[6] = {1, 0, 0.5f, 0, 1, 0.5f};
    img_warp_affine(&a, half, &out);
    assert_int_equal(out.rgb[0], 100);
    assert_int_equal(out.rgb[1], 101);
    assert_int_equal(out.rgb[2], 155);
    img_free(&out);
    /* 2x magnification: m = 0.5 * (x, y). Samples at 0, 0.5, 1, 1.5 along each axis; at 1.5 the
     * right tap is outside (black), so 0.5 * 100 = 50, and (1.5, 1.5) = 0.25 * 200 = 50. */
    assert_int_equal(img_new(4, 4, &out, NULL), FS_OK);
    const float mag[6] = {0.5f, 0, 0, 0, 0.5f, 0};
    img_warp_affine(&a, mag, &out);
    const int want_r[16] = {0, 50, 100, 50, 50, 100, 150, 75, 100, 150, 200, 100, 50, 75, 100, 50};
    for (int i = 0; i < 16; i++)
        assert_int_equal(out.rgb[3 * i], want_r[i]);
    img_free(&out);
    /* 90 degrees: out(x, y) = src(y, 1 - x) */
    assert_int_equal(img_new(2, 2, &out, NULL), FS_OK);
    const float rot[6] = {0, 1, 0, -1, 0, 1};
    img_warp_affine(&a, rot, &out);
    assert_int_equal(out.rgb[0], 100); /* (0,0) <- src(0, 1) */
    assert_int_equal(out.rgb[3], 0);   /* (1,0) <- src(0, 0) */
    assert_int_equal(out.rgb[6], 200); /* (0,1) <- src(1, 1) */
    assert_int_equal(out.rgb[9], 100); /* (1,1) <- src(1, 0) */
    /* far outside and NaN: black, no crash */
    const float away[6] = {1, 0, 1e9f, 0, 1, -1e9f};
    img_warp_affine(&a, away, &out);
    for (int i = 0; i < 12; i++)
        assert_int_equal(out.rgb[i], 0);
    const float bad[6] = {NAN, 0, 0, 0, INFINITY, 0};
    img_warp_affine(&a, bad, &out);
    for (int i = 0; i < 12; i++)
        assert_int_equal(out.rgb[i], 0);
    img_free(&out);
    img_free(&a);
}

/* ---- crop and draw --------------------------------------------------------------------- */

static void test_crop(void **state)
{
    (void)state;
    img_rgb u = test_pattern(20, 10, 2), out;
    fs_error err = {0};
    assert_int_equal(img_crop(&u, 5, 3, 9, 7, &out, &err), FS_OK);
    assert_int_equal(out.width, 4);
    assert_int_equal(out.height, 4);
    assert_memory_equal(test_px(&out, 0, 0), test_px(&u, 5, 3), 3);
    assert_memory_equal(test_px(&out, 3, 3), test_px(&u, 8, 6), 3);
    img_free(&out);
    assert_int_equal(img_crop(&u, -5, -5, 3, 100, &out, &err), FS_OK); /* clamped */
    assert_int_equal(out.width, 3);
    assert_int_equal(out.height, 10);
    assert_memory_equal(test_px(&out, 2, 9), test_px(&u, 2, 9), 3);
    img_free(&out);
    assert_int_equal(img_crop(&u, 25, 0, 30, 5, &out, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "crop [25, 30) x [0, 5) is empty in a 20 x 10 image");
    assert_null(out.rgb);
    img_free(&u);
}

static void test_draw(void **state)
{
    (void)state;
    img_rgb img;
    assert_int_equal(img_new(10, 10, &img, NULL), FS_OK);
    memset(img.rgb, 0, 300);
    img_draw_rect(&img, 2, 2, 7, 6, 1, 255, 0, 0);
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++) {
            int inside = x >= 2 && x < 7 && y >= 2 && y < 6;
            int edge = inside && (x == 2 || x == 6 || y == 2 || y == 5);
            assert_int_equal(test_px(&img, x, y)[0], edge ? 255 : 0);
        }
    memset(img.rgb, 0, 300);
    img_draw_dot(&img, 5, 5, 1, 0, 255, 0);
    int count = 0;
    for (int i = 0; i < 100; i++)
        count += img.rgb[3 * i + 1] == 255;
    assert_int_equal(count, 5); /* centre and its 4 neighbours */
    assert_int_equal(test_px(&img, 4, 5)[1], 255);
    assert_int_equal(test_px(&img, 4, 4)[1], 0);
    /* clipped: anything outside is ignored, no crash */
    img_draw_rect(&img, -50, -50, 500, 500, 3, 1, 2, 3);
    img_draw_rect(&img, 9, 9, 400, -400, 100, 1, 2, 3);
    img_draw_dot(&img, -1e30f, 1e30f, 4, 1, 2, 3);
    img_draw_dot(&img, NAN, 3, 4, 1, 2, 3);
    img_draw_dot(&img, 0, 0, 30, 9, 9, 9);
    assert_int_equal(img.rgb[0], 9);
    img_free(&img);
}

/* ---- save ------------------------------------------------------------------------------ */

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_save_formats_and_errors(void **state)
{
    (void)state;
    char dir[256], path[512], msg[1024];
    test_scratch(dir, sizeof dir);
    img_rgb u = test_pattern(64, 48, 16), got;
    fs_error err = {0};

    snprintf(path, sizeof path, "%s/a.png", dir);
    assert_int_equal(img_save(&u, path, &err), FS_OK);
    assert_int_equal(img_load(path, NULL, &got, NULL, NULL, NULL, &err), FS_OK);
    assert_memory_equal(got.rgb, u.rgb, (size_t)64 * 48 * 3);
    img_free(&got);

    const char *lossy[] = {"b.jpg", "c.JPEG", "d.webp"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, lossy[i]);
        assert_int_equal(img_save(&u, path, &err), FS_OK);
        assert_int_equal(img_load(path, NULL, &got, NULL, NULL, NULL, &err), FS_OK);
        assert_int_equal(got.width, 64);
        assert_true(test_mean_diff(&got, &u) < 4.0);
        img_free(&got);
    }
    /* an existing file is never replaced: the old content stays, no temporary file left behind */
    img_rgb small = test_pattern(8, 8, 4);
    snprintf(path, sizeof path, "%s/a.png", dir);
    snprintf(msg, sizeof msg, "%s: already exists; facesearch never writes over a file", path);
    assert_int_equal(img_save(&small, path, &err), FS_ERR_IO);
    assert_string_equal(err.message, msg);
    assert_int_equal(img_load(path, NULL, &got, NULL, NULL, NULL, &err), FS_OK);
    assert_int_equal(got.width, 64);
    img_free(&got);
    assert_int_equal(count_entries(dir), 4);

    snprintf(path, sizeof path, "%s/e.gif", dir);
    snprintf(msg, sizeof msg, "%s: unknown output format (use .jpg, .png or .webp)", path);
    assert_int_equal(img_save(&u, path, &err), FS_ERR_ARG);
    assert_string_equal(err.message, msg);
    snprintf(path, sizeof path, "%s/no/such/dir.png", dir);
    snprintf(msg, sizeof msg, "%s: No such file or directory", path);
    assert_int_equal(img_save(&u, path, &err), FS_ERR_IO);
    assert_string_equal(err.message, msg);
    /* the target is a folder: it is not replaced, the temporary file is removed */
    snprintf(path, sizeof path, "%s/sub.png", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(msg, sizeof msg, "%s: already exists; facesearch never writes over a file", path);
    assert_int_equal(img_save(&u, path, &err), FS_ERR_IO);
    assert_string_equal(err.message, msg);
    assert_int_equal(count_entries(dir), 5);
    img_rgb empty = {0, 0, NULL};
    snprintf(path, sizeof path, "%s/f.png", dir);
    snprintf(msg, sizeof msg, "%s: empty image", path);
    assert_int_equal(img_save(&empty, path, &err), FS_ERR_ARG);
    assert_string_equal(err.message, msg);

    img_free(&small);
    img_free(&u);
    test_rmtree(dir);
}

/* ---- EXIF orientation parser ----------------------------------------------------------- */

/* "Exif\0\0" + TIFF header (II or MM) + IFD0 with one entry (tag, type, count, value). */
static size_t exif_block(uint8_t *b, int big, unsigned tag, unsigned type, unsigned value)
{
    memcpy(b, "Exif\0\0", 6);
    uint8_t *t = b + 6;
    const uint8_t le[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0};
    const uint8_t be[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1};
    memcpy(t, big ? be : le, 10);
    uint8_t *e = t + 10;
    memset(e, 0, 16);
    if (big) {
        e[0] = (uint8_t)(tag >> 8), e[1] = (uint8_t)tag;
        e[3] = (uint8_t)type;
        e[7] = 1;
        e[8] = (uint8_t)(value >> 8), e[9] = (uint8_t)value;
    } else {
        e[0] = (uint8_t)tag, e[1] = (uint8_t)(tag >> 8);
        e[2] = (uint8_t)type;
        e[4] = 1;
        e[8] = (uint8_t)value, e[9] = (uint8_t)(value >> 8);
    }
    return 6 + 10 + 12 + 4;
}

static void test_exif_orientation_parser(void **state)
{
    (void)state;
    uint8_t b[64];
    for (int big = 0; big < 2; big++)
        for (unsigned o = 1; o <= 8; o++) {
            size_t n = exif_block(b, big, 0x0112, 3, o);
            assert_int_equal(img_exif_orientation(b, n), (int)o);
            /* every truncation is safe and yields 1 unless the entry is complete */
            for (size_t k = 0; k < n - 4; k++)
                assert_int_equal(img_exif_orientation(b, k), 1);
        }
    size_t n = exif_block(b, 0, 0x0112, 3, 9);
    assert_int_equal(img_exif_orientation(b, n), 1);
    n = exif_block(b, 1, 0x0112, 3, 0);
    assert_int_equal(img_exif_orientation(b, n), 1);
    n = exif_block(b, 0, 0x0110, 3, 6); /* another tag */
    assert_int_equal(img_exif_orientation(b, n), 1);
    n = exif_block(b, 0, 0x0112, 2, 6); /* wrong type */
    assert_int_equal(img_exif_orientation(b, n), 1);
    n = exif_block(b, 1, 0x0112, 3, 6);
    b[6 + 7] = 0xF0; /* IFD offset beyond the block */
    assert_int_equal(img_exif_orientation(b, n), 1);
    n = exif_block(b, 0, 0x0112, 3, 6);
    b[6 + 8] = 0xFF; /* 255 entries claimed */
    b[6 + 10] = 0;   /* and the first is not orientation */
    assert_int_equal(img_exif_orientation(b, n), 1);
    assert_int_equal(img_exif_orientation(NULL, 0), 1);
    assert_int_equal(img_exif_orientation((const uint8_t *)"Exif\0\0II", 8), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resize_same_size_is_a_copy),
        cmocka_unit_test(test_resize_shrink_is_area_average),
        cmocka_unit_test(test_shrink_matches_area_resize),
        cmocka_unit_test(test_resize_grow_is_bilinear),
        cmocka_unit_test(test_resize_bad_arguments),
        cmocka_unit_test(test_warp_identity_and_translation_exact),
        cmocka_unit_test(test_warp_bilinear_by_hand),
        cmocka_unit_test(test_crop),
        cmocka_unit_test(test_draw),
        cmocka_unit_test(test_save_formats_and_errors),
        cmocka_unit_test(test_exif_orientation_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
