/*
 * orient.c — turning a decoded image upright according to its EXIF orientation (1..8).
 *
 * With R the stored image (W x H) and U the upright one, for output pixel (x, y):
 *   1: U = R(x, y)                2: U = R(W-1-x, y)        (mirrored)
 *   3: U = R(W-1-x, H-1-y)        4: U = R(x, H-1-y)        (rotated 180 / flipped)
 *   5: U = R(y, x)                6: U = R(y, H-1-x)        (transposed / needs 90° clockwise)
 *   7: U = R(W-1-y, H-1-x)        8: U = R(W-1-y, x)        (transversed / needs 90° anticlockwise)
 * For 5..8 U is H x W.
 */
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"
#include "util/error.h"

fs_status img_orient(img_rgb *img, int o, fs_error *err)
{
    if (o <= 1 || o > 8)
        return FS_OK;
    const int W = img->width, H = img->height;
    const int swap = o >= 5;
    img_rgb u;
    fs_status rc = img_new(swap ? H : W, swap ? W : H, &u, err);
    if (rc != FS_OK)
        return rc;
    const uint8_t *r = img->rgb;
    for (int y = 0; y < u.height; y++) {
        uint8_t *dst = u.rgb + (size_t)y * (size_t)u.width * 3;
        /* source position of x = 0 and the step per x, in pixels of R */
        int sx, sy, dx, dy;
        switch (o) {
        case 2: sx = W - 1; sy = y; dx = -1; dy = 0; break;
        case 3: sx = W - 1; sy = H - 1 - y; dx = -1; dy = 0; break;
        case 4: sx = 0; sy = H - 1 - y; dx = 1; dy = 0; break;
        case 5: sx = y; sy = 0; dx = 0; dy = 1; break;
        case 6: sx = y; sy = H - 1; dx = 0; dy = -1; break;
        case 7: sx = W - 1 - y; sy = H - 1; dx = 0; dy = -1; break;
        default: sx = W - 1 - y; sy = 0; dx = 0; dy = 1; break; /* 8 */
        }
        ptrdiff_t step = ((ptrdiff_t)dy * W + dx) * 3;
        ptrdiff_t off = ((ptrdiff_t)sy * W + sx) * 3; /* an index, so it may step past the ends */
        for (int x = 0; x < u.width; x++, off += step, dst += 3) {
            const uint8_t *src = r + off;
            dst[0] = src[0];
            dst[1] = src[1];
            dst[2] = src[2];
        }
    }
    img_free(img);
    *img = u;
    return FS_OK;
}
