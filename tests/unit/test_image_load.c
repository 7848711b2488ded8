/*
 * test_image_load.c — decoding: every EXIF orientation (JPEG through libjpeg-turbo, PNG and WebP
 * through libvips), the colour models and formats we promise (grey, CMYK, 16-bit, alpha, palette,
 * GIF first frame, WebP, TIFF, AVIF where libheif can encode it), every bad-input class with its
 * exact message, shrink-on-load, and the real sample photos against plain libvips.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "image/testimg.h"
#include "util/paths.h"

/* ---- helpers --------------------------------------------------------------------------- */

/* Where the stored pixel of upright (x, y) is, for orientation o and a stored image rw x rh. */
static void stored_position(int o, int x, int y, int rw, int rh, int *rx, int *ry)
{
    switch (o) {
    case 1: *rx = x; *ry = y; break;
    case 2: *rx = rw - 1 - x; *ry = y; break;
    case 3: *rx = rw - 1 - x; *ry = rh - 1 - y; break;
    case 4: *rx = x; *ry = rh - 1 - y; break;
    case 5: *rx = y; *ry = x; break;
    case 6: *rx = y; *ry = rh - 1 - x; break;
    case 7: *rx = rw - 1 - y; *ry = rh - 1 - x; break;
    default: *rx = rw - 1 - y; *ry = x; break;
    }
}

/* The stored image that, shown with orientation o, looks like u. */
static img_rgb stored_for(const img_rgb *u, int o)
{
    img_rgb r;
    int rw = o >= 5 ? u->height : u->width, rh = o >= 5 ? u->width : u->height;
    assert_int_equal(img_new(rw, rh, &r, NULL), FS_OK);
    for (int y = 0; y < u->height; y++)
        for (int x = 0; x < u->width; x++) {
            int rx, ry;
            stored_position(o, x, y, rw, rh, &rx, &ry);
            memcpy(r.rgb + ((size_t)ry * rw + rx) * 3, test_px(u, x, y), 3);
        }
    return r;
}

/* Checks the centre of every block of a test_pattern image against its colour. */
static void expect_pattern(const img_rgb *img, int w, int h, int block, int tolerance)
{
    assert_int_equal(img->width, w);
    assert_int_equal(img->height, h);
    for (int by = 0; by < h / block; by++)
        for (int bx = 0; bx < w / block; bx++) {
            uint8_t c[3];
            test_block_colour(bx, by, c);
            int d = test_px_diff(test_px(img, bx * block + block / 2, by * block + block / 2), c);
            if (d > tolerance)
                fail_msg("block (%d, %d) differs by %d", bx, by, d);
        }
}

static void load_ok(const void *data, size_t len, const img_load_options *opt, img_rgb *out,
                    float *scale, int *ow, int *oh)
{
    fs_error err = {0};
    fs_status rc = img_load_buffer(data, len, "test", opt, out, scale, ow, oh, &err);
    if (rc != FS_OK)
        fail_msg("load failed: %s", err.message);
}

static void expect_load_error(const char *path, fs_status rc, const char *message)
{
    fs_error err = {0};
    img_rgb img = {1, 1, (uint8_t *)&err};
    assert_int_equal(img_load(path, NULL, &img, NULL, NULL, NULL, &err), rc);
    assert_string_equal(err.message, message);
    assert_null(img.rgb);
    assert_int_equal(img.width, 0);
}

static void *jpeg_of(const img_rgb *img, int q, int orientation, size_t *len)
{
    VipsImage *v = test_to_vips(img);
    void *buf = NULL;
    if (orientation)
        vips_image_set_int(v, VIPS_META_ORIENTATION, orientation);
    assert_int_equal(vips_jpegsave_buffer(v, &buf, len, "Q", q, NULL), 0);
    g_object_unref(v);
    return buf;
}

static int orientation_in(const void *buf, size_t len)
{
    VipsImage *v = vips_image_new_from_buffer(buf, len, "", NULL);
    assert_non_null(v);
    int o = 1;
    if (vips_image_get_typeof(v, VIPS_META_ORIENTATION))
        vips_image_get_int(v, VIPS_META_ORIENTATION, &o);
    g_object_unref(v);
    return o;
}

/* ---- orientation ----------------------------------------------------------------------- */

/* Our stored_position table agrees with libvips' autorot for every orientation (lossless). */
static void test_orientation_table_matches_libvips(void **state)
{
    (void)state;
    img_rgb u = test_pattern(48, 32, 8);
    for (int o = 1; o <= 8; o++) {
        img_rgb r = stored_for(&u, o);
        VipsImage *v = test_to_vips(&r), *up = NULL;
        vips_image_set_int(v, VIPS_META_ORIENTATION, o);
        assert_int_equal(vips_autorot(v, &up, NULL), 0);
        size_t n;
        uint8_t *px = vips_image_write_to_memory(up, &n);
        assert_int_equal(vips_image_get_width(up), 48);
        assert_int_equal(vips_image_get_height(up), 32);
        assert_memory_equal(px, u.rgb, n);
        g_free(px);
        g_object_unref(up);
        g_object_unref(v);
        img_free(&r);
    }
    img_free(&u);
}

static void test_jpeg_orientations(void **state)
{
    (void)state;
    img_rgb u = test_pattern(48, 32, 8);
    for (int o = 1; o <= 8; o++) {
        img_rgb r = stored_for(&u, o), got;
        size_t len;
        void *jpg = jpeg_of(&r, 100, o, &len);
        assert_int_equal(orientation_in(jpg, len), o);
        int ow = 0, oh = 0;
        float scale = 0;
        load_ok(jpg, len, NULL, &got, &scale, &ow, &oh);
        expect_pattern(&got, 48, 32, 8, 12);
        assert_int_equal(ow, 48);
        assert_int_equal(oh, 32);
        assert_true(scale == 1.0f);
        img_free(&got);
        g_free(jpg);
        img_free(&r);
    }
    img_free(&u);
}

/* Gives v an EXIF block with orientation o (libvips' PNG and WebP savers write EXIF only from an
 * "exif-data" blob, which its JPEG saver builds for us). */
static void set_exif_orientation(VipsImage *v, int o)
{
    VipsImage *tmp = NULL;
    void *jpg = NULL;
    size_t len, n;
    assert_int_equal(vips_copy(v, &tmp, NULL), 0);
    vips_image_set_int(tmp, VIPS_META_ORIENTATION, o);
    assert_int_equal(vips_jpegsave_buffer(tmp, &jpg, &len, NULL), 0);
    g_object_unref(tmp);
    tmp = vips_image_new_from_buffer(jpg, len, "", NULL);
    assert_non_null(tmp);
    const void *exif = NULL;
    assert_int_equal(vips_image_get_blob(tmp, VIPS_META_EXIF_NAME, &exif, &n), 0);
    vips_image_set_blob_copy(v, VIPS_META_EXIF_NAME, exif, n);
    vips_image_set_int(v, VIPS_META_ORIENTATION, o);
    g_object_unref(tmp);
    g_free(jpg);
}

/* The same through libvips: PNG and WebP carry EXIF too. */
static void test_png_webp_orientations(void **state)
{
    (void)state;
    img_rgb u = test_pattern(48, 32, 8);
    for (int o = 1; o <= 8; o++) {
        img_rgb r = stored_for(&u, o), got;
        VipsImage *v = test_to_vips(&r);
        set_exif_orientation(v, o);
        void *buf = NULL;
        size_t len;
        assert_int_equal(vips_pngsave_buffer(v, &buf, &len, NULL), 0);
        assert_int_equal(orientation_in(buf, len), o);
        load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
        expect_pattern(&got, 48, 32, 8, 0);
        img_free(&got);
        g_free(buf);
        assert_int_equal(vips_webpsave_buffer(v, &buf, &len, "lossless", TRUE, NULL), 0);
        assert_int_equal(orientation_in(buf, len), o);
        load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
        expect_pattern(&got, 48, 32, 8, 0);
        img_free(&got);
        g_free(buf);
        g_object_unref(v);
        img_free(&r);
    }
    img_free(&u);
}

/* ---- colour models and formats --------------------------------------------------------- */

static void test_png_rgb_palette_tiff_webp_lossless(void **state)
{
    (void)state;
    img_rgb u = test_pattern(64, 48, 16), got;
    VipsImage *v = test_to_vips(&u);
    void *buf = NULL;
    size_t len;

    assert_int_equal(vips_pngsave_buffer(v, &buf, &len, NULL), 0);
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    assert_memory_equal(got.rgb, u.rgb, (size_t)64 * 48 * 3);
    img_free(&got);
    g_free(buf);

    assert_int_equal(vips_pngsave_buffer(v, &buf, &len, "palette", TRUE, "dither", 0.0, NULL), 0);
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    expect_pattern(&got, 64, 48, 16, 8);
    img_free(&got);
    g_free(buf);

    assert_int_equal(vips_tiffsave_buffer(v, &buf, &len, NULL), 0);
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    assert_memory_equal(got.rgb, u.rgb, (size_t)64 * 48 * 3);
    img_free(&got);
    g_free(buf);

    assert_int_equal(vips_webpsave_buffer(v, &buf, &len, "lossless", TRUE, NULL), 0);
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    assert_memory_equal(got.rgb, u.rgb, (size_t)64 * 48 * 3);
    img_free(&got);
    g_free(buf);

    assert_int_equal(vips_webpsave_buffer(v, &buf, &len, "Q", 90, NULL), 0); /* lossy */
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    expect_pattern(&got, 64, 48, 16, 30);
    img_free(&got);
    g_free(buf);

    g_object_unref(v);
    img_free(&u);
}

/* Grey JPEG (libjpeg-turbo) and grey PNG (libvips) come out as R = G = B. */
static void test_grayscale(void **state)
{
    (void)state;
    img_rgb u = test_pattern(64, 48, 16), got;
    VipsImage *v = test_to_vips(&u), *grey = NULL;
    assert_int_equal(vips_colourspace(v, &grey, VIPS_INTERPRETATION_B_W, NULL), 0);
    assert_int_equal(vips_image_get_bands(grey), 1);
    size_t n;
    uint8_t *ref = vips_image_write_to_memory(grey, &n);
    void *buf = NULL;
    size_t len;
    for (int k = 0; k < 2; k++) {
        if (k == 0)
            assert_int_equal(vips_jpegsave_buffer(grey, &buf, &len, "Q", 100, NULL), 0);
        else
            assert_int_equal(vips_pngsave_buffer(grey, &buf, &len, NULL), 0);
        load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
        assert_int_equal(got.width, 64);
        for (int y = 8; y < 48; y += 16)
            for (int x = 8; x < 64; x += 16) {
                const uint8_t *p = test_px(&got, x, y);
                assert_int_equal(p[0], p[1]);
                assert_int_equal(p[1], p[2]);
                assert_in_range(p[0], ref[y * 64 + x] - (k ? 0 : 4), ref[y * 64 + x] + (k ? 0 : 4));
            }
        img_free(&got);
        g_free(buf);
    }
    g_free(ref);
    g_object_unref(grey);
    g_object_unref(v);
    img_free(&u);
}

/* A CMYK JPEG (written by libvips through its CMYK profile) decodes to the colours that the same
 * CMYK pixels convert to in memory (the profile round trip itself shifts saturated colours). */
static void test_cmyk_jpeg(void **state)
{
    (void)state;
    img_rgb u = test_pattern(64, 48, 16), got;
    VipsImage *v = test_to_vips(&u), *cmyk = NULL, *back = NULL;
    assert_int_equal(vips_colourspace(v, &cmyk, VIPS_INTERPRETATION_CMYK, NULL), 0);
    assert_int_equal(vips_image_get_bands(cmyk), 4);
    assert_int_equal(vips_colourspace(cmyk, &back, VIPS_INTERPRETATION_sRGB, NULL), 0);
    size_t n;
    uint8_t *ref = vips_image_write_to_memory(back, &n);
    assert_int_equal(n, (size_t)64 * 48 * 3);
    void *buf = NULL;
    size_t len;
    assert_int_equal(vips_jpegsave_buffer(cmyk, &buf, &len, "Q", 100, NULL), 0);
    VipsImage *check = vips_image_new_from_buffer(buf, len, "", NULL);
    assert_int_equal(vips_image_get_interpretation(check), VIPS_INTERPRETATION_CMYK);
    g_object_unref(check);
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    assert_int_equal(got.width, 64);
    assert_int_equal(got.height, 48);
    for (int y = 8; y < 48; y += 16)
        for (int x = 8; x < 64; x += 16)
            assert_true(test_px_diff(test_px(&got, x, y), ref + (y * 64 + x) * 3) <= 8);
    /* and it is still a colour image, near the original where the gamut allows */
    uint8_t c[3];
    test_block_colour(2, 2, c);
    assert_true(test_px_diff(test_px(&got, 40, 40), c) <= 40);
    img_free(&got);
    g_free(ref);
    g_free(buf);
    g_object_unref(back);
    g_object_unref(cmyk);
    g_object_unref(v);
    img_free(&u);
}

/* 16-bit RGB and grey PNG and TIFF: the high byte survives. */
static void test_16bit(void **state)
{
    (void)state;
    img_rgb u = test_pattern(64, 48, 16), got;
    VipsImage *v = test_to_vips(&u), *wide = NULL, *grey16 = NULL;
    assert_int_equal(vips_colourspace(v, &wide, VIPS_INTERPRETATION_RGB16, NULL), 0);
    assert_int_equal(vips_image_get_format(wide), VIPS_FORMAT_USHORT);
    void *buf = NULL;
    size_t len;
    assert_int_equal(vips_pngsave_buffer(wide, &buf, &len, "bitdepth", 16, NULL), 0);
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    expect_pattern(&got, 64, 48, 16, 1);
    img_free(&got);
    g_free(buf);
    assert_int_equal(vips_tiffsave_buffer(wide, &buf, &len, NULL), 0);
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    expect_pattern(&got, 64, 48, 16, 1);
    img_free(&got);
    g_free(buf);
    assert_int_equal(vips_colourspace(v, &grey16, VIPS_INTERPRETATION_GREY16, NULL), 0);
    assert_int_equal(vips_pngsave_buffer(grey16, &buf, &len, "bitdepth", 16, NULL), 0);
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    assert_int_equal(got.width, 64);
    const uint8_t *p = test_px(&got, 8, 8);
    assert_int_equal(p[0], p[2]);
    assert_in_range(p[0], 1, 254);
    img_free(&got);
    g_free(buf);
    g_object_unref(grey16);
    g_object_unref(wide);
    g_object_unref(v);
    img_free(&u);
}

/* RGBA PNG: transparent → white, opaque → the colour, half → the blend. */
static void test_alpha_flattened_on_white(void **state)
{
    (void)state;
    uint8_t rgba[3 * 4] = {200, 10, 50, 0, 200, 10, 50, 255, 0, 0, 0, 128};
    VipsImage *v = vips_image_new_from_memory_copy(rgba, sizeof rgba, 3, 1, 4, VIPS_FORMAT_UCHAR);
    v->Type = VIPS_INTERPRETATION_sRGB;
    void *buf = NULL;
    size_t len;
    assert_int_equal(vips_pngsave_buffer(v, &buf, &len, NULL), 0);
    img_rgb got;
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    assert_int_equal(got.width, 3);
    uint8_t white[3] = {255, 255, 255}, opaque[3] = {200, 10, 50}, half[3] = {127, 127, 127};
    assert_int_equal(test_px_diff(test_px(&got, 0, 0), white), 0);
    assert_int_equal(test_px_diff(test_px(&got, 1, 0), opaque), 0);
    assert_true(test_px_diff(test_px(&got, 2, 0), half) <= 1);
    img_free(&got);
    g_free(buf);
    g_object_unref(v);
}

/* GIF: the first frame of an animation, at the frame's size. */
static void test_gif_first_frame(void **state)
{
    (void)state;
    img_rgb a = test_pattern(32, 32, 16), b;
    assert_int_equal(img_new(32, 32, &b, NULL), FS_OK);
    memset(b.rgb, 0, (size_t)32 * 32 * 3);
    VipsImage *frames[2] = {test_to_vips(&a), test_to_vips(&b)}, *anim = NULL;
    assert_int_equal(vips_arrayjoin(frames, &anim, 2, "across", 1, NULL), 0);
    vips_image_set_int(anim, VIPS_META_PAGE_HEIGHT, 32);
    void *buf = NULL;
    size_t len;
    assert_int_equal(vips_gifsave_buffer(anim, &buf, &len, NULL), 0);
    img_rgb got;
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    expect_pattern(&got, 32, 32, 16, 20);
    img_free(&got);
    g_free(buf);
    g_object_unref(anim);
    g_object_unref(frames[0]);
    g_object_unref(frames[1]);
    img_free(&a);
    img_free(&b);
}

/* AVIF/HEIC decode where this system's libheif has an encoder to make a test file. */
static void test_heif_if_supported(void **state)
{
    (void)state;
    img_rgb u = test_pattern(64, 48, 16), got;
    VipsImage *v = test_to_vips(&u);
    void *buf = NULL;
    size_t len;
    if (vips_heifsave_buffer(v, &buf, &len, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1,
                             "Q", 90, NULL) != 0) {
        vips_error_clear();
        g_object_unref(v);
        img_free(&u);
        skip(); /* no AV1 encoder in this libheif: decoding is still wired through libvips */
    }
    load_ok(buf, len, NULL, &got, NULL, NULL, NULL);
    expect_pattern(&got, 64, 48, 16, 40);
    img_free(&got);
    g_free(buf);
    g_object_unref(v);
    img_free(&u);
}

/* ---- bad input ------------------------------------------------------------------------- */

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

static size_t png_chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t n)
{
    out[0] = (uint8_t)(n >> 24);
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    memcpy(out + 4, type, 4);
    if (n)
        memcpy(out + 8, data, n);
    uint32_t c = crc32_of(out + 4, n + 4);
    out[8 + n] = (uint8_t)(c >> 24);
    out[9 + n] = (uint8_t)(c >> 16);
    out[10 + n] = (uint8_t)(c >> 8);
    out[11 + n] = (uint8_t)c;
    return 12 + n;
}

/* A well-formed PNG header claiming 100000 x 100000 pixels, with a token IDAT. */
static size_t huge_png(uint8_t *out)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[13] = {0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 2, 0, 0, 0};
    uint8_t idat[16] = {0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1};
    size_t n = 0;
    memcpy(out, sig, 8);
    n = 8;
    n += png_chunk(out + n, "IHDR", ihdr, 13);
    n += png_chunk(out + n, "IDAT", idat, 9);
    n += png_chunk(out + n, "IEND", NULL, 0);
    return n;
}

/* A decode past max_decode_ms stops with FS_ERR_LIMIT, through libjpeg (its progress monitor)
 * and libvips (its eval signal): a 6000 x 6000 image, a few kB either way, given 1 ms. Without a
 * limit the same bytes decode. */
static void test_decode_deadline(void **state)
{
    (void)state;
    VipsImage *black = NULL;
    assert_int_equal(vips_black(&black, 6000, 6000, "bands", 3, NULL), 0);
    void *buf[2] = {NULL, NULL};
    size_t len[2];
    assert_int_equal(vips_jpegsave_buffer(black, &buf[0], &len[0], NULL), 0);
    assert_int_equal(vips_pngsave_buffer(black, &buf[1], &len[1], "compression", 9, NULL), 0);
    g_object_unref(black);
    for (int i = 0; i < 2; i++) {
        img_load_options lo = {.max_decode_ms = 1};
        img_rgb out;
        fs_error err;
        assert_int_equal(img_load_buffer(buf[i], len[i], "slow", &lo, &out, NULL, NULL, NULL,
                                         &err),
                         FS_ERR_LIMIT);
        assert_string_equal(err.message, "slow: takes too long to decode (over 1 ms)");
        assert_null(out.rgb);
        lo.max_decode_ms = 0;
        assert_int_equal(img_load_buffer(buf[i], len[i], "slow", &lo, &out, NULL, NULL, NULL,
                                         &err),
                         FS_OK);
        assert_int_equal(out.width, 6000);
        img_free(&out);
        g_free(buf[i]);
    }
}

static void test_bad_inputs(void **state)
{
    (void)state;
    char dir[256], path[512], msg[1024];
    test_scratch(dir, sizeof dir);

    snprintf(path, sizeof path, "%s/empty.jpg", dir);
    test_write(path, "", 0);
    snprintf(msg, sizeof msg, "%s: empty file", path);
    expect_load_error(path, FS_ERR_FORMAT, msg);

    snprintf(path, sizeof path, "%s/notes.jpg", dir);
    test_write(path, "just some text\n", 15);
    snprintf(msg, sizeof msg, "%s: not an image", path);
    expect_load_error(path, FS_ERR_FORMAT, msg);

    img_rgb u = test_pattern(256, 192, 16);
    size_t len;
    uint8_t *jpg = jpeg_of(&u, 95, 0, &len);
    snprintf(path, sizeof path, "%s/cut.jpg", dir);
    test_write(path, jpg, len / 2);
    snprintf(msg, sizeof msg, "%s: truncated or corrupt image (jpeg: Premature end of JPEG file)",
             path);
    expect_load_error(path, FS_ERR_FORMAT, msg);

    snprintf(path, sizeof path, "%s/header-only.jpg", dir);
    test_write(path, jpg, 20);
    snprintf(msg, sizeof msg, "%s: truncated or corrupt image (jpeg: Premature end of JPEG file)",
             path);
    expect_load_error(path, FS_ERR_FORMAT, msg);

    /* the same JPEG with its SOF0 dimensions patched to 60000 x 60000 */
    for (size_t i = 2; i + 9 < len; i++)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
            jpg[i + 5] = jpg[i + 7] = 0xEA;
            jpg[i + 6] = jpg[i + 8] = 0x60;
            break;
        }
    snprintf(path, sizeof path, "%s/bomb.jpg", dir);
    test_write(path, jpg, len);
    snprintf(msg, sizeof msg, "%s: image too large (60000 x 60000 pixels, limit 100000000)", path);
    expect_load_error(path, FS_ERR_LIMIT, msg);
    g_free(jpg);

    uint8_t png[128];
    size_t plen = huge_png(png);
    snprintf(path, sizeof path, "%s/bomb.png", dir);
    test_write(path, png, plen);
    snprintf(msg, sizeof msg, "%s: image too large (100000 x 100000 pixels, limit 100000000)",
             path);
    expect_load_error(path, FS_ERR_LIMIT, msg);

    /* a configured limit, checked on a JPEG and a PNG */
    img_load_options opt = {.max_pixels = 1000};
    fs_error err = {0};
    img_rgb img;
    void *pbuf = NULL;
    VipsImage *v = test_to_vips(&u);
    assert_int_equal(vips_pngsave_buffer(v, &pbuf, &len, NULL), 0);
    assert_int_equal(img_load_buffer(pbuf, len, "p.png", &opt, &img, NULL, NULL, NULL, &err),
                     FS_ERR_LIMIT);
    assert_string_equal(err.message, "p.png: image too large (256 x 192 pixels, limit 1000)");
    /* a truncated PNG */
    snprintf(path, sizeof path, "%s/cut.png", dir);
    test_write(path, pbuf, len * 2 / 3);
    snprintf(msg, sizeof msg, "%s: truncated or corrupt image (png)", path);
    expect_load_error(path, FS_ERR_FORMAT, msg);
    g_free(pbuf);
    g_object_unref(v);
    img_free(&u);

    /* a 1 x 1 BMP (read only by ImageMagick, if at all): named by its signature; zeros, which
     * ImageMagick also claims, are not an image */
    static const uint8_t bmp[58] = {'B', 'M', 58, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0,
                                    1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 24, 0, 0, 0, 0, 0, 4, 0, 0, 0};
    snprintf(path, sizeof path, "%s/pixel.bmp", dir);
    test_write(path, bmp, sizeof bmp);
    fs_error berr;
    img_rgb bimg;
    fs_status brc = img_load(path, NULL, &bimg, NULL, NULL, NULL, &berr);
    if (brc == FS_OK)
        fail_msg("a BMP loaded; only the allowed formats may");
    snprintf(msg, sizeof msg, "%s: unsupported image format (bmp)", path);
    if (brc == FS_ERR_UNSUPPORTED)
        assert_string_equal(berr.message, msg);
    else /* no ImageMagick loader in this libvips: nothing claims it */
        expect_load_error(path, FS_ERR_FORMAT, strcat(strcpy(msg, path), ": not an image"));
    static const uint8_t zeros[4096];
    snprintf(path, sizeof path, "%s/zeros.jpg", dir);
    test_write(path, zeros, sizeof zeros);
    snprintf(msg, sizeof msg, "%s: not an image", path);
    expect_load_error(path, FS_ERR_FORMAT, msg);

    snprintf(path, sizeof path, "%s/drawing.svg", dir);
    const char *svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>";
    test_write(path, svg, strlen(svg));
    snprintf(msg, sizeof msg, "%s: unsupported image format (svg)", path);
    expect_load_error(path, FS_ERR_UNSUPPORTED, msg);

    snprintf(path, sizeof path, "%s/missing.jpg", dir);
    snprintf(msg, sizeof msg, "%s: No such file or directory", path);
    expect_load_error(path, FS_ERR_NOT_FOUND, msg);

    snprintf(path, sizeof path, "%s/notes.jpg/x.jpg", dir);
    snprintf(msg, sizeof msg, "%s: Not a directory", path);
    expect_load_error(path, FS_ERR_IO, msg);

    snprintf(msg, sizeof msg, "%s: Is a directory", dir);
    expect_load_error(dir, FS_ERR_IO, msg);

    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(msg, sizeof msg, "%s: not a regular file", path);
    expect_load_error(path, FS_ERR_IO, msg);

    /* control characters never break the one-line message */
    snprintf(path, sizeof path, "%s/two\nlines.jpg", dir);
    snprintf(msg, sizeof msg, "%s/two?lines.jpg: No such file or directory", dir);
    expect_load_error(path, FS_ERR_NOT_FOUND, msg);

    /* buffers: empty, and NULL name */
    assert_int_equal(img_load_buffer("", 0, "buf.jpg", NULL, &img, NULL, NULL, NULL, &err),
                     FS_ERR_FORMAT);
    assert_string_equal(err.message, "buf.jpg: empty file");
    assert_int_equal(img_load_buffer("xyz", 3, NULL, NULL, &img, NULL, NULL, NULL, &err),
                     FS_ERR_FORMAT);
    assert_string_equal(err.message, "(buffer): not an image");
    test_rmtree(dir);
}

/* The first SOF marker of a JPEG (0xC0 baseline, 0xC2 progressive) gets width x height. */
static void patch_sof(uint8_t *jpg, size_t len, int marker, int width, int height)
{
    for (size_t i = 2; i + 9 < len; i++)
        if (jpg[i] == 0xFF && jpg[i + 1] == marker) {
            jpg[i + 5] = (uint8_t)(height >> 8);
            jpg[i + 6] = (uint8_t)height;
            jpg[i + 7] = (uint8_t)(width >> 8);
            jpg[i + 8] = (uint8_t)width;
            return;
        }
    fail_msg("no SOF marker 0x%02X", marker);
}

/* A header that declares far more pixels than the data could hold (9000 x 9000, under the pixel
 * limit, over a few KB) is refused before decoding, baseline and progressive; the bound never
 * refuses a real image, even a flat one that compresses to almost nothing. */
static void test_header_over_little_data(void **state)
{
    (void)state;
    char dir[256], path[512], msg[1024];
    test_scratch(dir, sizeof dir);
    img_rgb u = test_pattern(256, 192, 16);
    VipsImage *v = test_to_vips(&u);
    for (int progressive = 0; progressive <= 1; progressive++) {
        void *buf = NULL;
        size_t len;
        assert_int_equal(vips_jpegsave_buffer(v, &buf, &len, "Q", 90, "interlace", progressive,
                                              NULL), 0);
        patch_sof(buf, len, progressive ? 0xC2 : 0xC0, 9000, 9000);
        snprintf(path, sizeof path, "%s/forged%d.jpg", dir, progressive);
        test_write(path, buf, len);
        snprintf(msg, sizeof msg, "%s: truncated or corrupt image (jpeg: %zu bytes cannot hold "
                 "9000 x 9000 pixels)", path, len);
        expect_load_error(path, FS_ERR_FORMAT, msg);
        g_free(buf);
    }
    g_object_unref(v);
    img_free(&u);

    /* one flat grey 4000 x 3000, Huffman tables optimised for it: a few bits per block */
    VipsImage *grey;
    assert_int_equal(vips_black(&grey, 4000, 3000, "bands", 3, NULL), 0);
    VipsImage *lit;
    assert_int_equal(vips_linear1(grey, &lit, 1.0, 128.0, "uchar", TRUE, NULL), 0);
    for (int progressive = 0; progressive <= 1; progressive++) {
        void *buf = NULL;
        size_t len;
        assert_int_equal(vips_jpegsave_buffer(lit, &buf, &len, "Q", 50, "optimize_coding", TRUE,
                                              "interlace", progressive, NULL), 0);
        img_load_options opt = {.min_long_side = 500};
        img_rgb img;
        int ow, oh;
        load_ok(buf, len, &opt, &img, NULL, &ow, &oh);
        assert_int_equal(ow, 4000);
        assert_int_equal(oh, 3000);
        assert_int_equal(img.rgb[0], 128);
        img_free(&img);
        g_free(buf);
    }
    g_object_unref(lit);
    g_object_unref(grey);
    test_rmtree(dir);
}

/* A 1x1 image loads; a file with a non-UTF-8 name loads, and its errors quote the raw bytes. */
static void test_tiny_and_non_utf8_names(void **state)
{
    (void)state;
    char dir[256], path[512], msg[1024];
    test_scratch(dir, sizeof dir);
    img_rgb one = test_pattern(1, 1, 1), got;
    size_t len;
    void *jpg = jpeg_of(&one, 95, 0, &len);
    snprintf(path, sizeof path, "%s/caf\xe9-\xff.jpg", dir);
    test_write(path, jpg, len);
    fs_error err = {0};
    float scale = 0;
    assert_int_equal(img_load(path, NULL, &got, &scale, NULL, NULL, &err), FS_OK);
    assert_int_equal(got.width, 1);
    assert_int_equal(got.height, 1);
    assert_true(test_px_diff(got.rgb, one.rgb) <= 8);
    assert_true(scale == 1.0f);
    img_free(&got);
    VipsImage *v = test_to_vips(&one);
    void *png = NULL;
    size_t plen;
    assert_int_equal(vips_pngsave_buffer(v, &png, &plen, NULL), 0);
    load_ok(png, plen, NULL, &got, NULL, NULL, NULL);
    assert_memory_equal(got.rgb, one.rgb, 3);
    img_free(&got);
    g_free(png);
    g_object_unref(v);
    snprintf(path, sizeof path, "%s/\xfe\xfe.png", dir);
    snprintf(msg, sizeof msg, "%s/\xfe\xfe.png: No such file or directory", dir);
    expect_load_error(path, FS_ERR_NOT_FOUND, msg);
    g_free(jpg);
    img_free(&one);
    test_rmtree(dir);
}

/* Unreadable file: as root (CI containers) permissions do not apply, so check it as "nobody". */
static void test_permission_denied(void **state)
{
    (void)state;
    char dir[256], path[512], msg[1024];
    test_scratch(dir, sizeof dir);
    assert_int_equal(chmod(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/secret.jpg", dir);
    test_write(path, "x", 1);
    assert_int_equal(chmod(path, 0), 0);
    snprintf(msg, sizeof msg, "%s: Permission denied", path);
    if (geteuid() != 0) {
        expect_load_error(path, FS_ERR_IO, msg);
    } else {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            fs_error err = {0};
            img_rgb img;
            close(fds[0]);
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(3);
            fs_status rc = img_load(path, NULL, &img, NULL, NULL, NULL, &err);
            ssize_t w = write(fds[1], err.message, strlen(err.message) + 1);
            _exit(rc == FS_ERR_IO && w > 0 ? 0 : 4);
        }
        close(fds[1]);
        char got[1024] = {0};
        size_t n = 0;
        ssize_t r;
        while (n < sizeof got - 1 && (r = read(fds[0], got + n, sizeof got - 1 - n)) > 0)
            n += (size_t)r;
        close(fds[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_string_equal(got, msg);
    }
    test_rmtree(dir);
}

/* ---- shrink-on-load -------------------------------------------------------------------- */

static void test_shrink_on_load(void **state)
{
    (void)state;
    img_rgb u = test_pattern(1920, 1280, 160), got;
    size_t len;
    void *jpg = jpeg_of(&u, 90, 0, &len);
    static const struct { int min_long, w, h; float scale; } cases[] = {
        {0, 1920, 1280, 1.0f},  {640, 960, 640, 2.0f},  {480, 480, 320, 4.0f},
        {240, 240, 160, 8.0f},  {100, 240, 160, 8.0f},  {961, 1920, 1280, 1.0f},
        {4000, 1920, 1280, 1.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        img_load_options opt = {.min_long_side = cases[i].min_long};
        float scale = 0;
        int ow = 0, oh = 0;
        load_ok(jpg, len, &opt, &got, &scale, &ow, &oh);
        assert_int_equal(got.width, cases[i].w);
        assert_int_equal(got.height, cases[i].h);
        assert_true(scale == cases[i].scale);
        assert_int_equal(ow, 1920);
        assert_int_equal(oh, 1280);
        expect_pattern(&got, cases[i].w, cases[i].h, 160 * cases[i].w / 1920, 16);
        img_free(&got);
    }
    g_free(jpg);
    /* rotated: long side kept, sizes reported upright */
    img_rgb r = stored_for(&u, 6);
    jpg = jpeg_of(&r, 90, 6, &len);
    img_load_options opt = {.min_long_side = 640};
    float scale = 0;
    int ow = 0, oh = 0;
    load_ok(jpg, len, &opt, &got, &scale, &ow, &oh);
    assert_int_equal(got.width, 960);
    assert_int_equal(got.height, 640);
    assert_int_equal(ow, 1920);
    assert_int_equal(oh, 1280);
    assert_true(scale == 2.0f);
    expect_pattern(&got, 960, 640, 80, 16);
    img_free(&got);
    g_free(jpg);
    img_free(&r);
    img_free(&u);
}

/* ---- the real sample photos ------------------------------------------------------------ */

static void sample_path(int i, char *buf, size_t size)
{
    char data[512];
    fs_error err = {0};
    assert_int_equal(fs_data_dir(data, sizeof data, &err), FS_OK);
    snprintf(buf, size, "%s/samples/sample%d.jpg", data, i);
    if (access(buf, R_OK) != 0)
        fail_msg("%s missing: run scripts/fetch-models.sh", buf);
}

/* Full decode equals libvips' own decode of the same file (same libjpeg-turbo underneath, modulo
 * rounding), and the 640-px shrink-on-load matches an area-averaged downscale of it. */
static void test_sample_photos(void **state)
{
    (void)state;
    for (int i = 1; i <= 6; i++) {
        char path[600];
        sample_path(i, path, sizeof path);
        img_rgb full, small, ref;
        fs_error err = {0};
        int ow, oh;
        float scale;
        assert_int_equal(img_load(path, NULL, &full, &scale, &ow, &oh, &err), FS_OK);
        assert_int_equal(full.width, 1920);
        assert_int_equal(ow, full.width);
        assert_int_equal(oh, full.height);

        VipsImage *v = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
        VipsImage *up = NULL;
        assert_non_null(v);
        assert_int_equal(vips_autorot(v, &up, NULL), 0);
        size_t n;
        uint8_t *px = vips_image_write_to_memory(up, &n);
        assert_int_equal(vips_image_get_width(up), full.width);
        assert_int_equal(vips_image_get_height(up), full.height);
        assert_int_equal(n, (size_t)full.width * full.height * 3);
        img_rgb vref = {full.width, full.height, px};
        double d = test_mean_diff(&full, &vref);
        if (d > 0.5)
            fail_msg("%s: differs from libvips by %.3f on average", path, d);
        g_free(px);
        g_object_unref(up);
        g_object_unref(v);

        img_load_options opt = {.min_long_side = 640};
        assert_int_equal(img_load(path, &opt, &small, &scale, &ow, &oh, &err), FS_OK);
        assert_int_equal(small.width, 960);
        assert_true(scale == 2.0f);
        assert_int_equal(img_resize(&full, small.width, small.height, &ref, &err), FS_OK);
        d = test_mean_diff(&small, &ref);
        if (d > 3.0)
            fail_msg("%s: DCT-scaled decode differs from a downscale by %.3f", path, d);
        img_free(&ref);
        img_free(&small);
        img_free(&full);
    }
}

/* ---- threads --------------------------------------------------------------------------- */

typedef struct worker {
    const void *jpg, *png, *bad;
    size_t jpg_len, png_len, bad_len;
    int failures;
} worker;

static void *decode_loop(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 20; i++) {
        img_rgb img;
        fs_error err;
        img_load_options opt = {.min_long_side = i % 2 ? 100 : 0};
        if (img_load_buffer(w->jpg, w->jpg_len, "j", &opt, &img, NULL, NULL, NULL, &err))
            w->failures++;
        img_free(&img);
        if (img_load_buffer(w->png, w->png_len, "p", NULL, &img, NULL, NULL, NULL, &err))
            w->failures++;
        img_free(&img);
        if (img_load_buffer(w->bad, w->bad_len, "b", NULL, &img, NULL, NULL, NULL, &err) !=
                FS_ERR_FORMAT ||
            strcmp(err.message, "b: truncated or corrupt image (png)") != 0)
            w->failures++;
    }
    return NULL;
}

/* Several threads decoding at once: every load succeeds or fails as it does alone, and
 * one thread's bad file never shows up in another's message. */
static void test_concurrent_loads(void **state)
{
    (void)state;
    img_rgb u = test_pattern(320, 240, 16);
    size_t jl, pl;
    void *jpg = jpeg_of(&u, 90, 6, &jl), *png = NULL;
    VipsImage *v = test_to_vips(&u);
    assert_int_equal(vips_pngsave_buffer(v, &png, &pl, NULL), 0);
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){jpg, png, png, jl, pl, pl / 2, 0};
        assert_int_equal(pthread_create(&t[i], NULL, decode_loop, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    g_free(png);
    g_free(jpg);
    g_object_unref(v);
    img_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orientation_table_matches_libvips),
        cmocka_unit_test(test_jpeg_orientations),
        cmocka_unit_test(test_png_webp_orientations),
        cmocka_unit_test(test_png_rgb_palette_tiff_webp_lossless),
        cmocka_unit_test(test_grayscale),
        cmocka_unit_test(test_cmyk_jpeg),
        cmocka_unit_test(test_16bit),
        cmocka_unit_test(test_alpha_flattened_on_white),
        cmocka_unit_test(test_gif_first_frame),
        cmocka_unit_test(test_heif_if_supported),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_header_over_little_data),
        cmocka_unit_test(test_tiny_and_non_utf8_names),
        cmocka_unit_test(test_permission_denied),
        cmocka_unit_test(test_shrink_on_load),
        cmocka_unit_test(test_sample_photos),
        cmocka_unit_test(test_concurrent_loads),
        cmocka_unit_test(test_decode_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
