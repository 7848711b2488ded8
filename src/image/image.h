/*
 * image.h — images as the face pipeline sees them: 8-bit RGB, upright (EXIF orientation applied),
 * with the operations the pipeline needs: load (any supported format, with a decompression-bomb
 * limit and optional shrink-on-load), resize, affine warp (face alignment), crop, draw, save.
 *
 * Pixels are interleaved RGB, row-major, stride = 3 * width, no padding. An img_rgb owns its
 * pixels; img_free releases them and leaves an empty image.
 */
#ifndef FS_IMAGE_H
#define FS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch.h"

typedef struct img_rgb {
    int width, height;
    uint8_t *rgb;
} img_rgb;

typedef struct img_load_options {
    /* Refuse images with more pixels than this (0 = the default, 100 megapixels). Checked from the
     * header, before any pixel is decoded. */
    uint64_t max_pixels;
    /* When > 0, the decoder may return an image whose longer side is at least this many pixels
     * but smaller than the original (JPEG shrink-on-load); `scale` then says by how much. */
    int min_long_side;
    /* When not NULL, receives FS_WARN_* bits (facesearch.h): damage the decoder worked around. */
    unsigned *warnings;
    /* When > 0, decoding that takes longer than this many milliseconds is stopped and fails with
     * FS_ERR_LIMIT ("NAME: takes too long to decode (over N ms)"): a file under the byte and
     * pixel limits can still cost seconds (a progressive JPEG of thousands of scans, a huge
     * image compressed to almost nothing). Checked as the decoder goes, row by row. */
    int max_decode_ms;
} img_load_options;

/* Decodes the file at path (JPEG, PNG, WebP, TIFF, GIF first frame, HEIC/AVIF where the system
 * supports it), applies EXIF orientation, converts to 8-bit RGB (CMYK, grayscale, 16-bit, alpha
 * flattened on white). On success *scale is original_long_side / returned_long_side (>= 1; 1 when
 * not shrunk) if scale is not NULL, and orig_w/orig_h (may be NULL) receive the upright size at
 * full resolution. Errors name the path: "PATH: not an image", "PATH: truncated or corrupt image
 * (...)", "PATH: image too large (W x H pixels, limit N)", "PATH: Permission denied", ... */
fs_status img_load(const char *path, const img_load_options *opt, img_rgb *out,
                   float *scale, int *orig_w, int *orig_h, fs_error *err);

/* Reads the whole regular file at path into a malloc'd buffer (*data, *size; the caller frees
 * *data), with the messages of img_load for what cannot be read ("PATH: Permission denied",
 * "PATH: empty file", "PATH: not a regular file", "PATH: file too large (...)"). */
fs_status img_read_file(const char *path, uint8_t **data, size_t *size, fs_error *err);

/* Same from a buffer holding a whole file; name is used in messages. */
fs_status img_load_buffer(const void *data, size_t size, const char *name,
                          const img_load_options *opt, img_rgb *out, float *scale,
                          int *orig_w, int *orig_h, fs_error *err);

void img_free(img_rgb *img);

/* Allocates an image of w x h (pixels uninitialised). */
fs_status img_new(int w, int h, img_rgb *out, fs_error *err);

/* Resizes src to w x h into a new image (area averaging when shrinking, bilinear when growing). */
fs_status img_resize(const img_rgb *src, int w, int h, img_rgb *out, fs_error *err);

/* Shrinks src by an integer factor: floor(w / factor) x floor(h / factor) pixels, each the
 * rounded mean of its factor x factor block (the last width % factor columns and height % factor
 * rows are dropped). Much faster than img_resize for the same box filter. */
fs_status img_shrink(const img_rgb *src, int factor, img_rgb *out, fs_error *err);

/* Fills out (w x h, allocated by the caller as an img_rgb) by sampling src bilinearly at
 * (x', y') = (m[0]*x + m[1]*y + m[2], m[3]*x + m[4]*y + m[5]) for each output pixel (x, y) —
 * i.e. m maps output coordinates to source coordinates. Outside src: black. Pixel centres are at
 * integer coordinates. */
void img_warp_affine(const img_rgb *src, const float m[6], img_rgb *out);

/* Copies the rectangle [x1, x2) x [y1, y2) (clamped to the image) into a new image. */
fs_status img_crop(const img_rgb *src, int x1, int y1, int x2, int y2, img_rgb *out,
                   fs_error *err);

/* Draws a rectangle outline (thickness t) and small filled dots, clipped to the image. */
void img_draw_rect(img_rgb *img, int x1, int y1, int x2, int y2, int t, uint8_t r, uint8_t g,
                   uint8_t b);
void img_draw_dot(img_rgb *img, float x, float y, int radius, uint8_t r, uint8_t g, uint8_t b);

/* Writes img to a new file at path; the format follows the extension (.jpg/.jpeg, .png, .webp).
 * Written to a temporary file beside path and renamed, so a crash never leaves a half-written
 * file. Never replaces an existing file (or folder) at path: FS_ERR_IO "PATH: already exists;
 * facesearch never writes over a file". */
fs_status img_save(const img_rgb *img, const char *path, fs_error *err);

/* Encodes img as a JPEG of the given quality (1..100) into memory: *data is malloc'd (caller
 * frees), *size its bytes. On failure *data is NULL. */
fs_status img_encode_jpeg(const img_rgb *img, int quality, uint8_t **data, size_t *size,
                          fs_error *err);

#endif
