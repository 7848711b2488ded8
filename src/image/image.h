/*
 * image.h — images as the face pipeline sees them: 8-bit RGB, upright (EXIF orientation applied),
 * with the operations the pipeline needs: load (any supported format, with a decompression-bomb
 * limit and optional shrink-on-load), resize, affine warp (face alignment), crop, draw, save.
 *
 * Pixels are interleaved RGB, row-major, stride = 3 * width, no padding. An fs_image owns its
 * pixels; fs_image_free releases them and leaves an empty image.
 */
#ifndef FS_IMAGE_H
#define FS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch.h"

typedef struct fs_image {
    int width, height;
    uint8_t *rgb;
} fs_image;

typedef struct fs_image_load_options {
    /* Refuse images with more pixels than this (0 = the default, 100 megapixels). Checked from the
     * header, before any pixel is decoded. */
    uint64_t max_pixels;
    /* When > 0, the decoder may return an image whose longer side is at least this many pixels
     * but smaller than the original (JPEG shrink-on-load); `scale` then says by how much. */
    int min_long_side;
    /* When not NULL, receives FS_WARN_* bits (facesearch.h): damage the decoder worked around. */
    unsigned *warnings;
} fs_image_load_options;

/* Decodes the file at path (JPEG, PNG, WebP, TIFF, GIF first frame, HEIC/AVIF where the system
 * supports it), applies EXIF orientation, converts to 8-bit RGB (CMYK, grayscale, 16-bit, alpha
 * flattened on white). On success *scale is original_long_side / returned_long_side (>= 1; 1 when
 * not shrunk) if scale is not NULL, and orig_w/orig_h (may be NULL) receive the upright size at
 * full resolution. Errors name the path: "PATH: not an image", "PATH: truncated or corrupt image
 * (...)", "PATH: image too large (W x H pixels, limit N)", "PATH: Permission denied", ... */
fs_status fs_image_load(const char *path, const fs_image_load_options *opt, fs_image *out,
                        float *scale, int *orig_w, int *orig_h, fs_error *err);

/* Reads the whole regular file at path into a malloc'd buffer (*data, *size; the caller frees
 * *data), with the messages of fs_image_load for what cannot be read ("PATH: Permission denied",
 * "PATH: empty file", "PATH: not a regular file", "PATH: file too large (...)"). */
fs_status fs_image_read_file(const char *path, uint8_t **data, size_t *size, fs_error *err);

/* Same from a buffer holding a whole file; name is used in messages. */
fs_status fs_image_load_buffer(const void *data, size_t size, const char *name,
                               const fs_image_load_options *opt, fs_image *out, float *scale,
                               int *orig_w, int *orig_h, fs_error *err);

void fs_image_free(fs_image *img);

/* Allocates an image of w x h (pixels uninitialised). */
fs_status fs_image_new(int w, int h, fs_image *out, fs_error *err);

/* Resizes src to w x h into a new image (area averaging when shrinking, bilinear when growing). */
fs_status fs_image_resize(const fs_image *src, int w, int h, fs_image *out, fs_error *err);

/* Shrinks src by an integer factor: floor(w / factor) x floor(h / factor) pixels, each the
 * rounded mean of its factor x factor block (the last width % factor columns and height % factor
 * rows are dropped). Much faster than fs_image_resize for the same box filter. */
fs_status fs_image_shrink(const fs_image *src, int factor, fs_image *out, fs_error *err);

/* Fills out (w x h, allocated by the caller as an fs_image) by sampling src bilinearly at
 * (x', y') = (m[0]*x + m[1]*y + m[2], m[3]*x + m[4]*y + m[5]) for each output pixel (x, y) —
 * i.e. m maps output coordinates to source coordinates. Outside src: black. Pixel centres are at
 * integer coordinates. */
void fs_image_warp_affine(const fs_image *src, const float m[6], fs_image *out);

/* Copies the rectangle [x1, x2) x [y1, y2) (clamped to the image) into a new image. */
fs_status fs_image_crop(const fs_image *src, int x1, int y1, int x2, int y2, fs_image *out,
                        fs_error *err);

/* Draws a rectangle outline (thickness t) and small filled dots, clipped to the image. */
void fs_image_draw_rect(fs_image *img, int x1, int y1, int x2, int y2, int t, uint8_t r, uint8_t g,
                        uint8_t b);
void fs_image_draw_dot(fs_image *img, float x, float y, int radius, uint8_t r, uint8_t g, uint8_t b);

/* Writes img to a new file at path; the format follows the extension (.jpg/.jpeg, .png, .webp).
 * Written to a temporary file beside path and renamed, so a crash never leaves a half-written
 * file. Never replaces an existing file (or folder) at path: FS_ERR_IO "PATH: already exists;
 * facesearch never writes over a file". */
fs_status fs_image_save(const fs_image *img, const char *path, fs_error *err);

#endif
