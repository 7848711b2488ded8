/*
 * image.c — the img_rgb value itself: allocation, release, crop, and the path quoting that every
 * message of this module uses.
 */
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"
#include "util/error.h"

/* Largest side we accept anywhere; keeps 3 * w * h far from overflowing even on 32-bit size_t
 * paths of the arithmetic below. */
#define FS_IMAGE_MAX_SIDE 1000000

fs_status img_new(int w, int h, img_rgb *out, fs_error *err)
{
    out->width = 0;
    out->height = 0;
    out->rgb = NULL;
    if (w <= 0 || h <= 0 || w > FS_IMAGE_MAX_SIDE || h > FS_IMAGE_MAX_SIDE)
        return util_fail(err, FS_ERR_ARG, "invalid image size %d x %d", w, h);
    uint64_t bytes = (uint64_t)w * (uint64_t)h * 3u;
    if (bytes > SIZE_MAX)
        return util_fail(err, FS_ERR_LIMIT, "image of %d x %d pixels does not fit in memory", w, h);
    uint8_t *p = malloc((size_t)bytes);
    if (!p)
        return util_fail(err, FS_ERR_NOMEM, "out of memory for a %d x %d image", w, h);
    out->width = w;
    out->height = h;
    out->rgb = p;
    return FS_OK;
}

void img_free(img_rgb *img)
{
    if (!img)
        return;
    free(img->rgb);
    img->rgb = NULL;
    img->width = 0;
    img->height = 0;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

fs_status img_crop(const img_rgb *src, int x1, int y1, int x2, int y2, img_rgb *out,
                   fs_error *err)
{
    int cx1 = clampi(x1, 0, src->width), cx2 = clampi(x2, 0, src->width);
    int cy1 = clampi(y1, 0, src->height), cy2 = clampi(y2, 0, src->height);
    if (cx2 <= cx1 || cy2 <= cy1) {
        out->width = out->height = 0;
        out->rgb = NULL;
        return util_fail(err, FS_ERR_ARG, "crop [%d, %d) x [%d, %d) is empty in a %d x %d image",
                         x1, x2, y1, y2, src->width, src->height);
    }
    fs_status rc = img_new(cx2 - cx1, cy2 - cy1, out, err);
    if (rc != FS_OK)
        return rc;
    size_t row = (size_t)(cx2 - cx1) * 3;
    for (int y = cy1; y < cy2; y++)
        memcpy(out->rgb + (size_t)(y - cy1) * row,
               src->rgb + ((size_t)y * (size_t)src->width + (size_t)cx1) * 3, row);
    return FS_OK;
}

void img_quote_name(const char *name, char *buf, size_t size)
{
    const size_t keep = 300; /* leaves room in fs_error.message for the rest of the line */
    size_t n = 0;
    if (!name)
        name = "(null)";
    for (size_t i = 0; name[i] && n + 1 < size; i++) {
        if (i == keep) {
            for (int k = 0; k < 3 && n + 1 < size; k++)
                buf[n++] = '.';
            break;
        }
        unsigned char c = (unsigned char)name[i];
        buf[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    buf[n] = '\0';
}
