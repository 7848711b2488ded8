/*
 * test_image_view.c — photos as a viewer gets them (image/view.c): the upright size from the
 * header for every EXIF orientation, a JPEG of the whole upright photo and of a region, scaled
 * down and never enlarged, and the errors (not an image, empty region, pixel limit).
 */
#include "image/testimg.h"

/* A JPEG file of a w x h pattern stored with EXIF orientation o (upright it is w x h). */
static void write_oriented(const char *path, int w, int h, int o)
{
    int rw = o >= 5 ? h : w, rh = o >= 5 ? w : h;
    img_rgb stored;
    assert_int_equal(img_new(rw, rh, &stored, NULL), FS_OK);
    memset(stored.rgb, 128, (size_t)rw * rh * 3);
    VipsImage *v = test_to_vips(&stored);
    vips_image_set_int(v, VIPS_META_ORIENTATION, o);
    void *buf = NULL;
    size_t len = 0;
    assert_int_equal(vips_jpegsave_buffer(v, &buf, &len, "Q", 90, NULL), 0);
    test_write(path, buf, len);
    g_free(buf);
    g_object_unref(v);
    img_free(&stored);
}

/* The size of a JPEG in memory, decoded by libvips. */
static void jpeg_size(const unsigned char *data, size_t size, int *w, int *h)
{
    VipsImage *v = vips_image_new_from_buffer(data, size, "", NULL);
    assert_non_null(v);
    *w = vips_image_get_width(v);
    *h = vips_image_get_height(v);
    g_object_unref(v);
}

static void test_size_every_orientation(void **state)
{
    (void)state;
    char dir[256], path[300];
    test_scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/p.jpg", dir);
    for (int o = 1; o <= 8; o++) {
        unlink(path);
        write_oriented(path, 120, 80, o);
        int w, h;
        assert_int_equal(fs_image_size(path, &w, &h, NULL), FS_OK);
        assert_int_equal(w, 120);
        assert_int_equal(h, 80);
    }
    test_rmtree(dir);
}

static void test_photo_jpeg_whole_and_region(void **state)
{
    (void)state;
    char dir[256], path[300];
    test_scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/p.jpg", dir);
    write_oriented(path, 400, 200, 6);
    unsigned char *jpeg;
    size_t size;
    int pw, ph, w, h;
    /* whole, full size */
    assert_int_equal(fs_photo_jpeg(path, NULL, 0, 0, &jpeg, &size, &pw, &ph, NULL), FS_OK);
    jpeg_size(jpeg, size, &w, &h);
    assert_int_equal(w, 400);
    assert_int_equal(h, 200);
    assert_int_equal(pw, 400);
    assert_int_equal(ph, 200);
    free(jpeg);
    /* a thumbnail: longer side 100 */
    assert_int_equal(fs_photo_jpeg(path, NULL, 100, 0, &jpeg, &size, &pw, &ph, NULL), FS_OK);
    jpeg_size(jpeg, size, &w, &h);
    assert_int_equal(w, 100);
    assert_int_equal(h, 50);
    assert_int_equal(pw, 400);
    free(jpeg);
    /* never enlarged */
    assert_int_equal(fs_photo_jpeg(path, NULL, 1000, 0, &jpeg, &size, NULL, NULL, NULL), FS_OK);
    jpeg_size(jpeg, size, &w, &h);
    assert_int_equal(w, 400);
    free(jpeg);
    /* a region, clamped to the photo, then scaled */
    float region[4] = {300, 100, 500, 300};
    assert_int_equal(fs_photo_jpeg(path, region, 0, 0, &jpeg, &size, NULL, NULL, NULL), FS_OK);
    jpeg_size(jpeg, size, &w, &h);
    assert_int_equal(w, 100);
    assert_int_equal(h, 100);
    free(jpeg);
    float wide[4] = {0, 0, 200, 100};
    assert_int_equal(fs_photo_jpeg(path, wide, 50, 0, &jpeg, &size, NULL, NULL, NULL), FS_OK);
    jpeg_size(jpeg, size, &w, &h);
    assert_int_equal(w, 50);
    assert_int_equal(h, 25);
    free(jpeg);
    test_rmtree(dir);
}

static void test_photo_jpeg_errors(void **state)
{
    (void)state;
    char dir[256], path[300], text[300];
    test_scratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/p.jpg", dir);
    snprintf(text, sizeof text, "%s/t.jpg", dir);
    write_oriented(path, 64, 64, 1);
    test_write(text, "not an image at all", 19);
    unsigned char *jpeg = (unsigned char *)"x";
    size_t size;
    fs_error err;
    float outside[4] = {100, 100, 200, 200};
    assert_int_equal(fs_photo_jpeg(path, outside, 32, 0, &jpeg, &size, NULL, NULL, &err),
                     FS_ERR_ARG);
    assert_null(jpeg);
    assert_int_equal(fs_photo_jpeg(path, outside, 0, 0, &jpeg, &size, NULL, NULL, &err),
                     FS_ERR_ARG);
    assert_int_equal(fs_photo_jpeg(path, NULL, 0, 100, &jpeg, &size, NULL, NULL, &err),
                     FS_ERR_LIMIT);
    assert_int_equal(fs_photo_jpeg(path, NULL, -1, 0, &jpeg, &size, NULL, NULL, &err),
                     FS_ERR_ARG);
    assert_int_not_equal(fs_photo_jpeg(text, NULL, 32, 0, &jpeg, &size, NULL, NULL, &err), FS_OK);
    assert_non_null(strstr(err.message, "not an image"));
    int w, h;
    assert_int_equal(fs_image_size(text, &w, &h, &err), FS_ERR_FORMAT);
    assert_int_equal(w, 0);
    test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_every_orientation),
        cmocka_unit_test(test_photo_jpeg_whole_and_region),
        cmocka_unit_test(test_photo_jpeg_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
