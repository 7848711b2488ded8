/*
 * resize.c — img_resize: separable resampling, each axis on its own.
 *   Shrinking an axis: area averaging. Output sample i covers source [i*s, (i+1)*s) with s = n/m;
 *   each source pixel weighs by how much of it lies in that interval (exact box filter, so no
 *   aliasing at any ratio — what a detector wants from a downscaled photo).
 *   Growing (or keeping) an axis: bilinear with pixel centres aligned, i.e. output i samples source
 *   position (i + 0.5) * n / m - 0.5, clamped to the edge. Same size is an exact copy.
 * Horizontal pass row by row into a small ring of float rows, vertical pass from the ring with
 * rounding to nearest.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_internal.h"
#include "util/error.h"

/* For each of m outputs: taps source samples starting at first[i], weights w[i * taps + k]. */
typedef struct axis_filter {
    int taps;
    int *first;
    float *w;
} axis_filter;

/* Frees the filter's arrays; safe to call again (the pointers are cleared). */
static void axis_free(axis_filter *a)
{
    free(a->first);
    free(a->w);
    a->first = NULL;
    a->w = NULL;
}

static int axis_build(axis_filter *a, int n, int m)
{
    double s = (double)n / m;
    a->taps = m < n ? (int)ceil(s) + 1 : 2;
    a->first = malloc(sizeof *a->first * (size_t)m);
    a->w = calloc((size_t)m * (size_t)a->taps, sizeof *a->w);
    if (!a->first || !a->w) {
        axis_free(a);
        return -1;
    }
    for (int i = 0; i < m; i++) {
        float *w = a->w + (size_t)i * (size_t)a->taps;
        if (m < n) {
            double lo = i * s, hi = (i + 1) * s;
            int j0 = (int)floor(lo);
            a->first[i] = j0;
            for (int k = 0; k < a->taps; k++) {
                int j = j0 + k;
                if (j >= n)
                    break;
                double cover = fmin(hi, j + 1.0) - fmax(lo, (double)j);
                w[k] = cover > 0 ? (float)(cover / s) : 0.0f;
            }
        } else {
            double pos = (i + 0.5) * s - 0.5;
            if (pos < 0)
                pos = 0;
            if (pos > n - 1)
                pos = n - 1;
            int j0 = (int)floor(pos);
            if (j0 > n - 2)
                j0 = n >= 2 ? n - 2 : 0;
            double f = pos - j0;
            a->first[i] = j0;
            w[0] = (float)(1.0 - f);
            w[1] = n >= 2 ? (float)f : 0.0f;
        }
    }
    return 0;
}

static uint8_t to_u8(float v)
{
    v += 0.5f;
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

/* Horizontal pass of one source row into w * 3 floats. */
static void resize_row(const uint8_t *row, const axis_filter *fx, int w, float *t)
{
    for (int x = 0; x < w; x++) {
        const float *wt = fx->w + (size_t)x * (size_t)fx->taps;
        int j0 = fx->first[x];
        float r = 0, g = 0, b = 0;
        for (int k = 0; k < fx->taps; k++) {
            if (wt[k] == 0.0f)
                continue;
            const uint8_t *p = row + (size_t)(j0 + k) * 3;
            r += wt[k] * p[0];
            g += wt[k] * p[1];
            b += wt[k] * p[2];
        }
        t[3 * x] = r;
        t[3 * x + 1] = g;
        t[3 * x + 2] = b;
    }
}

fs_status img_resize(const img_rgb *src, int w, int h, img_rgb *out, fs_error *err)
{
    out->width = out->height = 0;
    out->rgb = NULL;
    if (!src->rgb || src->width <= 0 || src->height <= 0)
        return util_fail(err, FS_ERR_ARG, "resize of an empty image");
    if (w <= 0 || h <= 0)
        return util_fail(err, FS_ERR_ARG, "resize to an invalid size %d x %d", w, h);
    const int sw = src->width, sh = src->height;
    const size_t rowf = (size_t)w * 3;
    if (sw == w && sh == h) {
        fs_status rc = img_new(w, h, out, err);
        if (rc == FS_OK)
            memcpy(out->rgb, src->rgb, rowf * (size_t)h);
        return rc;
    }
    axis_filter fx = {0}, fy = {0};
    float *ring = NULL, *acc = NULL;
    int *ring_row = NULL;
    fs_status rc = img_new(w, h, out, err);
    if (rc != FS_OK)
        return rc;
    /* Horizontally resized source rows live in a small ring (each is made once: the first source
     * row of successive output rows never decreases), so memory stays a few rows, not a whole
     * float copy of the image. */
    int ring_n = 0;
    if (axis_build(&fx, sw, w) == 0 && axis_build(&fy, sh, h) == 0) {
        ring_n = fy.taps;
        ring = malloc(sizeof *ring * rowf * (size_t)ring_n);
        ring_row = malloc(sizeof *ring_row * (size_t)ring_n);
        acc = malloc(sizeof *acc * rowf);
    }
    if (!ring || !ring_row || !acc) {
        free(ring);
        free(ring_row);
        free(acc);
        axis_free(&fx);
        axis_free(&fy);
        img_free(out);
        return util_fail(err, FS_ERR_NOMEM, "out of memory resizing to %d x %d", w, h);
    }
    for (int i = 0; i < ring_n; i++)
        ring_row[i] = -1;
    for (int y = 0; y < h; y++) {
        const float *wt = fy.w + (size_t)y * (size_t)fy.taps;
        int j0 = fy.first[y];
        memset(acc, 0, sizeof *acc * rowf);
        for (int k = 0; k < fy.taps; k++) {
            if (wt[k] == 0.0f)
                continue;
            int j = j0 + k, slot = j % ring_n;
            float *t = ring + (size_t)slot * rowf;
            if (ring_row[slot] != j) {
                resize_row(src->rgb + (size_t)j * (size_t)sw * 3, &fx, w, t);
                ring_row[slot] = j;
            }
            const float weight = wt[k];
            for (size_t c = 0; c < rowf; c++) /* vectorised */
                acc[c] += weight * t[c];
        }
        uint8_t *o = out->rgb + (size_t)y * rowf;
        for (size_t c = 0; c < rowf; c++)
            o[c] = to_u8(acc[c]);
    }
    free(ring);
    free(ring_row);
    free(acc);
    axis_free(&fx);
    axis_free(&fy);
    return FS_OK;
}

/* One output row of img_shrink from its column sums: factor adjacent pixels, rounded to
 * nearest. Inlined so that the common factors are compile-time constants. */
static inline __attribute__((always_inline)) void shrink_columns(const uint32_t *sum, uint8_t *o,
                                                                 int w, int factor)
{
    const uint32_t area = (uint32_t)factor * (uint32_t)factor, half = area / 2;
    for (int x = 0; x < w; x++, sum += 3 * factor, o += 3) {
        uint32_t r = 0, g = 0, b = 0;
        for (int k = 0; k < factor; k++) {
            r += sum[3 * k];
            g += sum[3 * k + 1];
            b += sum[3 * k + 2];
        }
        o[0] = (uint8_t)((r + half) / area);
        o[1] = (uint8_t)((g + half) / area);
        o[2] = (uint8_t)((b + half) / area);
    }
}

fs_status img_shrink(const img_rgb *src, int factor, img_rgb *out, fs_error *err)
{
    out->width = out->height = 0;
    out->rgb = NULL;
    if (!src->rgb || factor < 1 || factor > 64 || src->width < factor || src->height < factor)
        return util_fail(err, FS_ERR_ARG, "shrink of a %d x %d image by %d", src->width,
                         src->height, factor);
    const int w = src->width / factor, h = src->height / factor;
    fs_status rc = img_new(w, h, out, err);
    if (rc != FS_OK)
        return rc;
    const size_t in_row = (size_t)src->width * 3, cols = (size_t)w * factor * 3;
    uint32_t *sum = malloc(sizeof *sum * cols);
    if (!sum) {
        img_free(out);
        return util_fail(err, FS_ERR_NOMEM, "out of memory shrinking to %d x %d", w, h);
    }
    for (int y = 0; y < h; y++) {
        /* the factor source rows of this output row, summed column by column (vectorised) */
        const uint8_t *row = src->rgb + (size_t)y * factor * in_row;
        for (size_t c = 0; c < cols; c++)
            sum[c] = row[c];
        for (int k = 1; k < factor; k++) {
            row += in_row;
            for (size_t c = 0; c < cols; c++)
                sum[c] += row[c];
        }
        uint8_t *o = out->rgb + (size_t)y * w * 3;
        switch (factor) { /* constant factors let the compiler divide by multiplying */
        case 2: shrink_columns(sum, o, w, 2); break;
        case 3: shrink_columns(sum, o, w, 3); break;
        case 4: shrink_columns(sum, o, w, 4); break;
        default: shrink_columns(sum, o, w, factor); break;
        }
    }
    free(sum);
    return FS_OK;
}
