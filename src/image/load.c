/*
 * load.c — img_load and img_load_buffer: read the file, recognise the format from its
 * first bytes (never from the file name), and hand it to a decoder: libjpeg-turbo for JPEG (faster
 * than libvips thanks to DCT-scaled shrink-on-load, see bench/decode), libvips for the rest.
 *
 * Messages, each one line starting with the (quoted, see img_quote_name) path:
 *   "PATH: <strerror>"                       open/read failed (No such file or directory,
 * Permission denied, Is a directory, ...) "PATH: not a regular file"               a FIFO, socket
 * or device "PATH: empty file" "PATH: file too large (N bytes, limit M)" "PATH: not an image" no
 * decoder recognises the bytes "PATH: unsupported image format (FMT)"   recognised by libvips but
 * not allowed (svg, pdf, ...) "PATH: image too large (W x H pixels, limit N)" "PATH: truncated or
 * corrupt image (FMT)" and "(jpeg: libjpeg's message)"
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image_internal.h"
#include "util/clock.h"
#include "util/error.h"

/* Files beyond this are refused before reading: no supported photo under the pixel limit needs it.
 */
#define FS_IMAGE_MAX_FILE_BYTES (1024ull * 1024 * 1024)

static fs_status fail_errno(fs_error *err, const char *qname, int e)
{
    char buf[128];
    if (strerror_r(e, buf, sizeof buf) != 0)
        strcpy(buf, "input/output error");
    return util_fail(err, e == ENOENT ? FS_ERR_NOT_FOUND : FS_ERR_IO, "%s: %s", qname, buf);
}

/* Reads the whole regular file at path into a malloc'd buffer the caller frees. */
static fs_status read_file(const char *path, const char *qname, uint8_t **data, size_t *size,
                           fs_error *err)
{
    *data = NULL;
    *size = 0;
    /* O_NONBLOCK so that opening a FIFO does not wait for a writer; it has no effect on files. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail_errno(err, qname, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail_errno(err, qname, e);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return fail_errno(err, qname, EISDIR);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return util_fail(err, FS_ERR_IO, "%s: not a regular file", qname);
    }
    if (st.st_size == 0) {
        close(fd);
        return util_fail(err, FS_ERR_FORMAT, "%s: empty file", qname);
    }
    if ((uint64_t)st.st_size > FS_IMAGE_MAX_FILE_BYTES) {
        close(fd);
        return util_fail(err, FS_ERR_LIMIT, "%s: file too large (%llu bytes, limit %llu)", qname,
                         (unsigned long long)st.st_size, FS_IMAGE_MAX_FILE_BYTES);
    }
    size_t want = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(want);
    if (!buf) {
        close(fd);
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory reading %zu bytes", qname, want);
    }
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return fail_errno(err, qname, e);
        }
        if (n == 0)
            break; /* the file shrank while we read it: decode what is there */
        got += (size_t)n;
    }
    close(fd);
    if (got == 0) {
        free(buf);
        return util_fail(err, FS_ERR_FORMAT, "%s: empty file", qname);
    }
    *data = buf;
    *size = got;
    return FS_OK;
}

/* A JPEG that failed and does not end with its end marker (EOI): when only that marker is
 * missing (a common result of an interrupted copy or a careless writer), every pixel is present.
 * Decoding the data with the marker added, where scan data running into it counts as truncation,
 * tells: then the image is kept with FS_WARN_JPEG_NO_END; otherwise the first failure (failed)
 * stands, its message unchanged. */
static fs_status decode_without_end(const img_decode_request *req, img_decode_result *res,
                                    int *defer, const img_load_options *opt, fs_status failed)
{
    uint8_t *fixed = malloc(req->size + 2);
    if (!fixed)
        return failed;
    memcpy(fixed, req->data, req->size);
    fixed[req->size] = 0xFF;
    fixed[req->size + 1] = 0xD9;
    img_decode_request again = *req;
    again.data = fixed;
    again.size = req->size + 2;
    again.end_added = 1;
    fs_error ignored;
    fs_status st = img_decode_jpeg(&again, res, defer, &ignored);
    free(fixed);
    if (st != FS_OK)
        return failed;
    assert(!*defer); /* the same header: a JPEG the first attempt did not leave to libvips */
    if (opt && opt->warnings)
        *opt->warnings |= FS_WARN_JPEG_NO_END;
    return FS_OK;
}

fs_status img_too_slow(const img_decode_request *req, fs_error *err)
{
    return util_fail(err, FS_ERR_LIMIT, "%s: takes too long to decode (over %d ms)", req->name,
                     req->max_decode_ms);
}

static fs_status decode(const uint8_t *data, size_t size, const char *qname,
                        const img_load_options *opt, img_rgb *out, float *scale,
                        int *orig_w, int *orig_h, fs_error *err)
{
    img_decode_request req = {
        .data = data,
        .size = size,
        .name = qname,
        .max_pixels = opt && opt->max_pixels ? opt->max_pixels : FS_IMAGE_DEFAULT_MAX_PIXELS,
        .min_long_side = opt && opt->min_long_side > 0 ? opt->min_long_side : 0,
        .max_decode_ms = opt && opt->max_decode_ms > 0 ? opt->max_decode_ms : 0,
    };
    /* one budget for every attempt (the retry of a JPEG without its end marker included) */
    if (req.max_decode_ms)
        req.deadline = util_now() + req.max_decode_ms / 1000.0;
    img_decode_result res = {0};
    fs_status rc;
    if (size == 0)
        return util_fail(err, FS_ERR_FORMAT, "%s: empty file", qname);
    int defer = 0;
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        rc = img_decode_jpeg(&req, &res, &defer, err);
        if (rc == FS_ERR_FORMAT && !(data[size - 2] == 0xFF && data[size - 1] == 0xD9))
            rc = decode_without_end(&req, &res, &defer, opt, rc);
        if (rc != FS_OK)
            return rc;
    }
    if (!(size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) || defer) {
        rc = img_decode_vips(&req, &res, err);
        if (rc != FS_OK)
            return rc;
    }
    *out = res.image;
    if (orig_w)
        *orig_w = res.orig_w;
    if (orig_h)
        *orig_h = res.orig_h;
    if (scale) {
        int orig_long = res.orig_w > res.orig_h ? res.orig_w : res.orig_h;
        int long_side = out->width > out->height ? out->width : out->height;
        *scale = (float)orig_long / (float)long_side;
    }
    return FS_OK;
}

fs_status img_load_buffer(const void *data, size_t size, const char *name,
                          const img_load_options *opt, img_rgb *out, float *scale,
                          int *orig_w, int *orig_h, fs_error *err)
{
    char qname[320];
    out->width = out->height = 0;
    out->rgb = NULL;
    img_quote_name(name ? name : "(buffer)", qname, sizeof qname);
    if (!data && size > 0)
        return util_fail(err, FS_ERR_ARG, "%s: no data", qname);
    return decode(data, size, qname, opt, out, scale, orig_w, orig_h, err);
}

fs_status img_read_file(const char *path, uint8_t **data, size_t *size, fs_error *err)
{
    char qname[320];
    *data = NULL;
    *size = 0;
    if (!path)
        return util_fail(err, FS_ERR_ARG, "no path given");
    img_quote_name(path, qname, sizeof qname);
    return read_file(path, qname, data, size, err);
}

fs_status img_load(const char *path, const img_load_options *opt, img_rgb *out,
                   float *scale, int *orig_w, int *orig_h, fs_error *err)
{
    char qname[320];
    uint8_t *data;
    size_t size;
    out->width = out->height = 0;
    out->rgb = NULL;
    img_quote_name(path, qname, sizeof qname);
    if (!path)
        return util_fail(err, FS_ERR_ARG, "no path given");
    fs_status rc = read_file(path, qname, &data, &size, err);
    if (rc != FS_OK)
        return rc;
    rc = decode(data, size, qname, opt, out, scale, orig_w, orig_h, err);
    free(data);
    return rc;
}
