/*
 * decode_vips.c — every format but plain JPEG, through libvips: PNG, WebP, TIFF, GIF (first frame),
 * HEIC/AVIF and JPEG XL where the system's libheif/libjxl handle them, and CMYK JPEG.
 *
 * Steps: recognise the format from the bytes and allow only the loaders above (libvips could also
 * open SVG, PDF, ... which have no place in a photo library); read the header lazily and refuse
 * images over the pixel limit before any pixel is decoded; then decode sequentially through
 * flatten (alpha on white) → sRGB (CMYK, grey, 16-bit) → 3 bands → 8 bits, and apply the EXIF
 * orientation with img_orient, as for JPEG. Truncated files fail (fail_on=truncated). With a
 * deadline, the pipeline reports its progress (libvips' "eval" signal, as each strip is computed)
 * and is killed when the deadline passes: a huge PNG compressed to almost nothing costs seconds.
 */
#include <stdio.h>
#include <string.h>

#include <vips/vips.h>

#include "image/image_internal.h"
#include "util/clock.h"
#include "util/error.h"

static const char *const allowed_loaders[] = {
    "jpegload_buffer", "pngload_buffer", "webpload_buffer", "tiffload_buffer",
    "gifload_buffer",  "heifload_buffer", "jxlload_buffer",
};

/* "pngload_buffer" -> "png", written into buf. */
static void format_name(const char *loader, char *buf, size_t size)
{
    size_t n = 0;
    const char *end = strstr(loader, "load");
    size_t len = end ? (size_t)(end - loader) : strlen(loader);
    for (; n < len && n + 1 < size; n++)
        buf[n] = loader[n];
    buf[n] = '\0';
}

/* ImageMagick's loader (libvips's fallback) claims nearly any bytes, a file of zeros included:
 * the format it would read is named from the file's signature, and bytes with no known
 * signature are not an image. NULL: no known signature. */
static const char *magick_format(const uint8_t *d, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *name;
    } known[] = {
        {"BM", 2, "bmp"},           {"8BPS", 4, "psd"},      {"\0\0\1\0", 4, "ico"},
        {"DDS ", 4, "dds"},         {"gimp xcf", 8, "xcf"},  {"v/1\1", 4, "exr"},
        {"%PDF", 4, "pdf"},         {"%!PS", 4, "ps"},       {"#?RADIANCE", 10, "hdr"},
        {"\x89PNG", 4, "png"},      {"II*\0", 4, "tiff"},    {"MM\0*", 4, "tiff"},
    };
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (n >= known[i].len && memcmp(d, known[i].magic, known[i].len) == 0)
            return known[i].name;
    if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7')
        return "pnm";
    return NULL;
}

/* Replaces *img by the result of an operation (out), dropping the reference to the old one.
 * Returns -1 (and leaves *img) if the operation failed (status != 0). Call it as
 * `step(img, vips_op(*img, &t, ...), &t)`: t is read only after the operation has run. */
static int step(VipsImage **img, int status, VipsImage **out)
{
    if (status != 0)
        return -1;
    g_object_unref(*img);
    *img = *out;
    return 0;
}

/* Turns a freshly opened image into 8-bit, 3-band sRGB (still lazy). Returns 0 or -1. */
static int to_rgb8(VipsImage **img)
{
    VipsImage *t = NULL;
    VipsInterpretation in = vips_image_get_interpretation(*img);
    if (vips_image_hasalpha(*img)) {
        int bands = vips_image_get_bands(*img) - 1;
        double white = in == VIPS_INTERPRETATION_CMYK ? 0.0
                       : (in == VIPS_INTERPRETATION_RGB16 || in == VIPS_INTERPRETATION_GREY16 ||
                          vips_image_get_format(*img) == VIPS_FORMAT_USHORT)
                           ? 65535.0
                           : 255.0;
        double bg[8];
        if (bands > 8)
            bands = 8;
        for (int i = 0; i < bands; i++)
            bg[i] = white;
        VipsArrayDouble *arr = vips_array_double_new(bg, bands);
        int r = vips_flatten(*img, &t, "background", arr, NULL);
        vips_area_unref(VIPS_AREA(arr));
        if (step(img, r, &t))
            return -1;
        in = vips_image_get_interpretation(*img);
    }
    if (in != VIPS_INTERPRETATION_sRGB && vips_colourspace_issupported(*img)) {
        if (step(img, vips_colourspace(*img, &t, VIPS_INTERPRETATION_sRGB, NULL), &t))
            return -1;
    }
    int bands = vips_image_get_bands(*img);
    if (bands == 1 || bands == 2) {
        VipsImage *grey = NULL;
        if (bands == 2 && step(img, vips_extract_band(*img, &grey, 0, NULL), &grey))
            return -1;
        VipsImage *three[3] = {*img, *img, *img};
        if (step(img, vips_bandjoin(three, &t, 3, NULL), &t))
            return -1;
    } else if (bands > 3) {
        if (step(img, vips_extract_band(*img, &t, 0, "n", 3, NULL), &t))
            return -1;
    }
    VipsBandFormat f = vips_image_get_format(*img);
    if (f != VIPS_FORMAT_UCHAR) {
        int shift = f == VIPS_FORMAT_USHORT || f == VIPS_FORMAT_SHORT;
        if (step(img, vips_cast_uchar(*img, &t, "shift", shift, NULL), &t))
            return -1;
    }
    return 0;
}

/* The "eval" signal of the last image of the pipeline: past the deadline, kill it (the sink
 * stops and the write fails). */
typedef struct deadline_watch {
    double deadline;
    int killed;
} deadline_watch;

static void on_eval(VipsImage *image, VipsProgress *progress, void *ctx)
{
    (void)progress;
    deadline_watch *w = ctx;
    if (!w->killed && util_now() > w->deadline) {
        w->killed = 1;
        vips_image_set_kill(image, TRUE);
    }
}

fs_status img_decode_vips(const img_decode_request *req, img_decode_result *res, fs_error *err)
{
    fs_status rc = img_vips_start(err);
    if (rc != FS_OK)
        return rc;
    /* libvips answers with a type name ("VipsForeignLoadPngBuffer"); we compare nicknames. */
    const char *type = vips_foreign_find_load_buffer(req->data, req->size);
    const char *loader = type ? vips_nickname_find(g_type_from_name(type)) : NULL;
    if (!loader) {
        vips_error_clear();
        return util_fail(err, FS_ERR_FORMAT, "%s: not an image", req->name);
    }
    char fmt[32];
    format_name(loader, fmt, sizeof fmt);
    if (strncmp(loader, "magick", 6) == 0) {
        const char *named = magick_format(req->data, req->size);
        if (!named)
            return util_fail(err, FS_ERR_FORMAT, "%s: not an image", req->name);
        snprintf(fmt, sizeof fmt, "%s", named);
    }
    int allowed = 0;
    for (size_t i = 0; i < sizeof allowed_loaders / sizeof *allowed_loaders; i++)
        allowed |= strcmp(loader, allowed_loaders[i]) == 0;
    if (!allowed)
        return util_fail(err, FS_ERR_UNSUPPORTED, "%s: unsupported image format (%s)", req->name,
                         fmt);

    VipsImage *img = vips_image_new_from_buffer(req->data, req->size, "", "access",
                                                VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                                VIPS_FAIL_ON_TRUNCATED, NULL);
    if (!img) {
        vips_error_clear();
        return util_fail(err, FS_ERR_FORMAT, "%s: truncated or corrupt image (%s)", req->name, fmt);
    }
    int w = vips_image_get_width(img), h = vips_image_get_height(img);
    if (w <= 0 || h <= 0 || (uint64_t)w * (uint64_t)h > req->max_pixels) {
        g_object_unref(img);
        return util_fail(err, FS_ERR_LIMIT, "%s: image too large (%d x %d pixels, limit %llu)",
                         req->name, w, h, (unsigned long long)req->max_pixels);
    }
    int orientation = 1;
    if (vips_image_get_typeof(img, VIPS_META_ORIENTATION) &&
        vips_image_get_int(img, VIPS_META_ORIENTATION, &orientation) != 0)
        orientation = 1;

    size_t bytes = 0;
    void *pixels = NULL;
    deadline_watch watch = {.deadline = req->deadline};
    if (to_rgb8(&img) == 0) {
        if (req->max_decode_ms > 0) {
            vips_image_set_progress(img, TRUE);
            g_signal_connect(img, "eval", G_CALLBACK(on_eval), &watch);
        }
        pixels = vips_image_write_to_memory(img, &bytes);
    }
    int ow = vips_image_get_width(img), oh = vips_image_get_height(img);
    g_object_unref(img);
    if (watch.killed || (req->max_decode_ms > 0 && util_now() > req->deadline)) {
        g_free(pixels);
        vips_error_clear();
        return img_too_slow(req, err);
    }
    if (!pixels || ow != w || oh != h || bytes != (size_t)w * (size_t)h * 3) {
        g_free(pixels);
        vips_error_clear();
        return util_fail(err, FS_ERR_FORMAT, "%s: truncated or corrupt image (%s)", req->name, fmt);
    }
    rc = img_new(w, h, &res->image, err);
    if (rc == FS_OK)
        memcpy(res->image.rgb, pixels, bytes);
    g_free(pixels);
    if (rc != FS_OK)
        return rc;
    rc = img_orient(&res->image, orientation, err);
    if (rc != FS_OK) {
        img_free(&res->image);
        return rc;
    }
    res->orig_w = orientation >= 5 ? h : w;
    res->orig_h = orientation >= 5 ? w : h;
    return FS_OK;
}
