/*
 * view.c — photos as a viewer gets them (the server's photo, thumbnail and face-crop pictures):
 * the upright size from the header alone (fs_image_size) and a JPEG of the upright photo or of a
 * region of it, scaled down (fs_photo_jpeg). Decoding goes through img_load, with its format
 * allow-list, pixel limit and shrink-on-load, so a viewer never reaches a decoder the index
 * would not use.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "image/image_internal.h"
#include "util/error.h"

/* libvips loader class names ("VipsForeignLoadJpegFile") of the formats img_load accepts. */
static int loader_allowed(const char *loader)
{
    static const char *const formats[] = {"jpeg", "png", "webp", "tiff", "gif", "heif", "jxl"};
    char lower[96];
    size_t n = 0;
    for (; loader[n] && n + 1 < sizeof lower; n++)
        lower[n] = (char)tolower((unsigned char)loader[n]);
    lower[n] = '\0';
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strstr(lower, formats[i]))
            return 1;
    return 0;
}

fs_status fs_image_size(const char *path, int *width, int *height, fs_error *err)
{
    char qname[320];
    img_quote_name(path, qname, sizeof qname);
    *width = *height = 0;
    fs_status rc = img_vips_start(err);
    if (rc != FS_OK)
        return rc;
    const char *loader = vips_foreign_find_load(path);
    if (!loader || !loader_allowed(loader)) {
        vips_error_clear();
        return util_fail(err, FS_ERR_FORMAT, "%s: not an image", qname);
    }
    VipsImage *v = vips_image_new_from_file(path, NULL); /* the header only: pixels are lazy */
    if (!v) {
        vips_error_clear();
        return util_fail(err, FS_ERR_FORMAT, "%s: truncated or corrupt image", qname);
    }
    int w = vips_image_get_width(v), h = vips_image_get_height(v), orientation = 1;
    if (vips_image_get_typeof(v, VIPS_META_ORIENTATION) &&
        vips_image_get_int(v, VIPS_META_ORIENTATION, &orientation) != 0)
        orientation = 1;
    g_object_unref(v);
    vips_error_clear();
    int swap = orientation >= 5 && orientation <= 8;
    *width = swap ? h : w;
    *height = swap ? w : h;
    return FS_OK;
}

/* The region clamped to a w x h image, as whole pixels [x1, x2) x [y1, y2); 0 if empty. */
static int clamp_region(const float *r, int w, int h, int box[4])
{
    float x1 = r ? r[0] : 0, y1 = r ? r[1] : 0, x2 = r ? r[2] : (float)w, y2 = r ? r[3] : (float)h;
    if (!(x1 == x1 && y1 == y1 && x2 == x2 && y2 == y2)) /* NaN */
        return 0;
    box[0] = x1 < 0 ? 0 : x1 > (float)w ? w : (int)floorf(x1);
    box[1] = y1 < 0 ? 0 : y1 > (float)h ? h : (int)floorf(y1);
    box[2] = x2 < 0 ? 0 : x2 > (float)w ? w : (int)ceilf(x2);
    box[3] = y2 < 0 ? 0 : y2 > (float)h ? h : (int)ceilf(y2);
    return box[2] > box[0] && box[3] > box[1];
}

fs_status fs_photo_jpeg(const char *path, const float *region, int max_side, uint64_t max_pixels,
                        unsigned char **jpeg, size_t *size, int *photo_w, int *photo_h,
                        fs_error *err)
{
    *jpeg = NULL;
    *size = 0;
    if (max_side < 0)
        return util_fail(err, FS_ERR_ARG, "negative picture size");
    int full_w = 0, full_h = 0, min_long = 0;
    fs_status rc;
    /* shrink-on-load: decode at the smallest scale that still gives max_side pixels to the
     * region's longer side */
    if (max_side > 0) {
        rc = fs_image_size(path, &full_w, &full_h, err);
        if (rc)
            return rc;
        int box[4];
        if (!clamp_region(region, full_w, full_h, box))
            return util_fail(err, FS_ERR_ARG, "empty region of the photo");
        int rw = box[2] - box[0], rh = box[3] - box[1];
        int rlong = rw > rh ? rw : rh, flong = full_w > full_h ? full_w : full_h;
        double need = (double)flong * max_side / rlong;
        min_long = need >= flong ? 0 : (int)ceil(need);
    }
    img_load_options lo = {.max_pixels = max_pixels, .min_long_side = min_long};
    img_rgb img = {0}, part = {0}, out = {0};
    float scale = 1;
    rc = img_load(path, &lo, &img, &scale, &full_w, &full_h, err);
    if (rc)
        return rc;
    int box[4];
    float r[4] = {0, 0, (float)full_w, (float)full_h};
    if (region)
        for (int i = 0; i < 4; i++)
            r[i] = region[i] / scale;
    else
        r[2] = (float)img.width, r[3] = (float)img.height;
    if (!clamp_region(r, img.width, img.height, box))
        rc = util_fail(err, FS_ERR_ARG, "empty region of the photo");
    const img_rgb *src = &img;
    if (rc == FS_OK && (box[0] || box[1] || box[2] != img.width || box[3] != img.height)) {
        rc = img_crop(&img, box[0], box[1], box[2], box[3], &part, err);
        src = &part;
    }
    if (rc == FS_OK) {
        int w = src->width, h = src->height, longer = w > h ? w : h;
        if (max_side > 0 && longer > max_side) {
            int tw = (int)lround((double)w * max_side / longer);
            int th = (int)lround((double)h * max_side / longer);
            rc = img_resize(src, tw < 1 ? 1 : tw, th < 1 ? 1 : th, &out, err);
            src = &out;
        }
    }
    if (rc == FS_OK)
        rc = img_encode_jpeg(src, 85, jpeg, size, err);
    img_free(&out);
    img_free(&part);
    img_free(&img);
    if (rc == FS_OK) {
        if (photo_w)
            *photo_w = full_w;
        if (photo_h)
            *photo_h = full_h;
    }
    return rc;
}
