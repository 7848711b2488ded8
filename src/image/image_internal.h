/*
 * image_internal.h — what the files of src/image/ share and nothing outside needs: the once-only
 * libvips start-up, path quoting for messages, the two decoders behind img_load_buffer
 * (libjpeg-turbo for baseline/progressive RGB and grayscale JPEG, libvips for everything else),
 * EXIF orientation, and the default limits.
 */
#ifndef FS_IMAGE_INTERNAL_H
#define FS_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

#define FS_IMAGE_DEFAULT_MAX_PIXELS 100000000ull

/* Starts libvips once per process (thread-safe, pthread_once): VIPS_INIT, operation cache off,
 * libvips' worker threads per pipeline set to 1 (our engine parallelises across images), untrusted
 * loaders blocked, and glib warnings of the "VIPS" log domain silenced so that a bad file never
 * prints to stderr. Those are the only process-wide changes this module makes. Fails only if
 * libvips itself cannot start. Tests call it before using libvips directly. */
fs_status img_vips_start(fs_error *err);

/* Copies name into buf (size >= 1) for use in a one-line message: control characters become '?'
 * and an over-long name is cut with "...". Other bytes (also non-UTF-8 ones) are kept as they are.
 */
void img_quote_name(const char *name, char *buf, size_t size);

/* The parameters both decoders share; the result goes to out (owned by the caller afterwards). */
typedef struct img_decode_request {
    const uint8_t *data;
    size_t size;
    const char *name;       /* already quoted */
    uint64_t max_pixels;    /* resolved: never 0 */
    int min_long_side;      /* 0 = full resolution */
    int end_added;          /* JPEG: data is the file plus an end marker we added; scan data that
                             * runs into it is truncation (libjpeg would pad it with grey) */
    int max_decode_ms;      /* 0 = no limit */
    double deadline;        /* util_now() past which decoding stops (when max_decode_ms > 0) */
} img_decode_request;

/* The error of a decode stopped at its deadline: FS_ERR_LIMIT. */
fs_status img_too_slow(const img_decode_request *req, fs_error *err);

typedef struct img_decode_result {
    img_rgb image;         /* upright 8-bit RGB */
    int orig_w, orig_h;     /* upright size at full resolution */
} img_decode_result;

/* libjpeg-turbo decoder: DCT-scaled shrink-on-load, EXIF orientation. When the JPEG is one it
 * leaves to libvips (CMYK/YCCK, which need colour management), it sets *defer = 1 and returns
 * FS_OK with nothing decoded; every failure fills err. */
fs_status img_decode_jpeg(const img_decode_request *req, img_decode_result *res, int *defer,
                          fs_error *err);

/* libvips decoder for every other format (and CMYK JPEG). */
fs_status img_decode_vips(const img_decode_request *req, img_decode_result *res, fs_error *err);

/* Reads the EXIF orientation (1..8) from the payload of a JPEG APP1 segment (starting with
 * "Exif\0\0"). Returns 1 when absent, malformed or out of range. Never reads outside [data,
 * data+size). */
int img_exif_orientation(const uint8_t *data, size_t size);

/* Replaces *img by its upright version for EXIF orientation o (1..8; other values: no change).
 * On FS_ERR_NOMEM img is left as it was. */
fs_status img_orient(img_rgb *img, int orientation, fs_error *err);

#endif
