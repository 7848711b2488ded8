/*
 * warp.c — img_warp_affine: inverse-mapped bilinear sampling, used to cut the 112 x 112
 * aligned face out of the full-resolution photo.
 *
 * Output pixel (x, y) samples the source at (m0 x + m1 y + m2, m3 x + m4 y + m5); pixel centres are
 * at integer coordinates, so an identity or integer-translation matrix copies pixels exactly.
 * Each of the four bilinear taps that falls outside the source counts as black (like OpenCV's
 * BORDER_CONSTANT with 0), so borders fade to black over one pixel.
 */
#include <math.h>

#include "image/image_internal.h"

static void tap(const img_rgb *src, int x, int y, float w, float acc[3])
{
    if (w == 0.0f || x < 0 || y < 0 || x >= src->width || y >= src->height)
        return;
    const uint8_t *p = src->rgb + ((size_t)y * (size_t)src->width + (size_t)x) * 3;
    acc[0] += w * p[0];
    acc[1] += w * p[1];
    acc[2] += w * p[2];
}

static uint8_t to_u8(float v)
{
    v += 0.5f;
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

void img_warp_affine(const img_rgb *src, const float m[6], img_rgb *out)
{
    for (int y = 0; y < out->height; y++) {
        uint8_t *o = out->rgb + (size_t)y * (size_t)out->width * 3;
        for (int x = 0; x < out->width; x++, o += 3) {
            double sx = (double)m[0] * x + (double)m[1] * y + m[2];
            double sy = (double)m[3] * x + (double)m[4] * y + m[5];
            /* far outside (or NaN): black, and no int overflow in floor() below */
            if (!(sx > -2.0 && sy > -2.0 && sx < src->width + 1.0 && sy < src->height + 1.0)) {
                o[0] = o[1] = o[2] = 0;
                continue;
            }
            int x0 = (int)floor(sx), y0 = (int)floor(sy);
            float fx = (float)(sx - x0), fy = (float)(sy - y0);
            float acc[3] = {0, 0, 0};
            tap(src, x0, y0, (1 - fx) * (1 - fy), acc);
            tap(src, x0 + 1, y0, fx * (1 - fy), acc);
            tap(src, x0, y0 + 1, (1 - fx) * fy, acc);
            tap(src, x0 + 1, y0 + 1, fx * fy, acc);
            o[0] = to_u8(acc[0]);
            o[1] = to_u8(acc[1]);
            o[2] = to_u8(acc[2]);
        }
    }
}
