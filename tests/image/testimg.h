/*
 * testimg.h — helpers shared by tests/unit/test_image_*.c: synthetic test pictures, encoding them
 * with libvips in any format (with an EXIF orientation tag when asked), a scratch folder, and
 * pixel comparisons. Header-only (static functions) because the test build compiles only
 * tests/unit/test_*.c files.
 */
#ifndef FS_TEST_IMAGE_H
#define FS_TEST_IMAGE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vips/vips.h>

#include "image/image.h"
#include "image/image_internal.h"

/* A block pattern: block (bx, by) of side `block` gets a colour unique to it, far from its
 * neighbours, so that any flip, rotation or transposition is visible even after JPEG. */
static inline void test_block_colour(int bx, int by, uint8_t c[3])
{
    c[0] = (uint8_t)(40 + 70 * (bx % 4));
    c[1] = (uint8_t)(40 + 70 * (by % 4));
    c[2] = (uint8_t)((bx + by) % 2 ? 220 : 30);
}

static inline img_rgb test_pattern(int w, int h, int block)
{
    img_rgb img;
    assert_int_equal(img_new(w, h, &img, NULL), FS_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            test_block_colour(x / block, y / block, img.rgb + ((size_t)y * w + x) * 3);
    return img;
}

static inline const uint8_t *test_px(const img_rgb *img, int x, int y)
{
    return img->rgb + ((size_t)y * img->width + x) * 3;
}

/* Largest per-channel difference between a pixel and a colour. */
static inline int test_px_diff(const uint8_t *a, const uint8_t *b)
{
    int m = 0;
    for (int c = 0; c < 3; c++) {
        int d = abs((int)a[c] - (int)b[c]);
        if (d > m)
            m = d;
    }
    return m;
}

/* Mean absolute difference over all channels of two images of the same size. */
static inline double test_mean_diff(const img_rgb *a, const img_rgb *b)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    double s = 0;
    size_t n = (size_t)a->width * a->height * 3;
    for (size_t i = 0; i < n; i++)
        s += abs((int)a->rgb[i] - (int)b->rgb[i]);
    return s / (double)n;
}

/* A libvips image (a copy) of an img_rgb. */
static inline VipsImage *test_to_vips(const img_rgb *img)
{
    assert_int_equal(img_vips_start(NULL), FS_OK);
    VipsImage *v = vips_image_new_from_memory_copy(img->rgb, (size_t)img->width * img->height * 3,
                                                   img->width, img->height, 3, VIPS_FORMAT_UCHAR);
    assert_non_null(v);
    return v;
}

/* A fresh scratch folder under $TMPDIR (or /tmp), removed by test_rmtree. */
static inline void test_scratch(char *dir, size_t size)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, size, "%s/fs-image-test-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(dir));
}

static inline void test_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static inline void test_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

#endif
