/*
 * draw.c — marking faces on an image for `detect --draw`: rectangle outlines and landmark dots,
 * both clipped to the image, so any coordinates are safe.
 */
#include <math.h>

#include "image/image_internal.h"

static void fill(img_rgb *img, int x1, int y1, int x2, int y2, uint8_t r, uint8_t g, uint8_t b)
{
    if (x1 < 0)
        x1 = 0;
    if (y1 < 0)
        y1 = 0;
    if (x2 > img->width)
        x2 = img->width;
    if (y2 > img->height)
        y2 = img->height;
    for (int y = y1; y < y2; y++) {
        uint8_t *p = img->rgb + ((size_t)y * (size_t)img->width + (size_t)x1) * 3;
        for (int x = x1; x < x2; x++, p += 3) {
            p[0] = r;
            p[1] = g;
            p[2] = b;
        }
    }
}

/* The outline is the band of thickness t (at least 1) just inside [x1, x2) x [y1, y2). */
void img_draw_rect(img_rgb *img, int x1, int y1, int x2, int y2, int t, uint8_t r, uint8_t g,
                   uint8_t b)
{
    if (x2 < x1) {
        int s = x1;
        x1 = x2;
        x2 = s;
    }
    if (y2 < y1) {
        int s = y1;
        y1 = y2;
        y2 = s;
    }
    if (t < 1)
        t = 1;
    if (t > x2 - x1 || t > y2 - y1) { /* thicker than the box: it is all outline */
        fill(img, x1, y1, x2, y2, r, g, b);
        return;
    }
    fill(img, x1, y1, x2, y1 + t, r, g, b);
    fill(img, x1, y2 - t, x2, y2, r, g, b);
    fill(img, x1, y1 + t, x1 + t, y2 - t, r, g, b);
    fill(img, x2 - t, y1 + t, x2, y2 - t, r, g, b);
}

/* A filled disc: every pixel whose centre is within radius of (x, y); radius 0 is one pixel. */
void img_draw_dot(img_rgb *img, float x, float y, int radius, uint8_t r, uint8_t g, uint8_t b)
{
    if (!(fabsf(x) < 1e7f && fabsf(y) < 1e7f) || radius < 0 || radius > 100000)
        return;
    int cx = (int)lroundf(x), cy = (int)lroundf(y);
    int y1 = cy - radius < 0 ? 0 : cy - radius;
    int y2 = cy + radius >= img->height ? img->height - 1 : cy + radius;
    int x1 = cx - radius < 0 ? 0 : cx - radius;
    int x2 = cx + radius >= img->width ? img->width - 1 : cx + radius;
    float r2 = (float)radius * radius + 0.25f;
    for (int py = y1; py <= y2; py++)
        for (int px = x1; px <= x2; px++) {
            float dx = px - x, dy = py - y;
            if (dx * dx + dy * dy <= r2) {
                uint8_t *p = img->rgb + ((size_t)py * (size_t)img->width + (size_t)px) * 3;
                p[0] = r;
                p[1] = g;
                p[2] = b;
            }
        }
}
