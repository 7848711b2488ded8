/*
 * save.c — img_save: encode with libvips into memory (JPEG quality 92, PNG, WebP quality 90),
 * then write a temporary file beside the target and move it to the target's name only if that
 * name is free (renameat2 RENAME_NOREPLACE, else link + unlink), so that a crash never leaves a
 * half-written file and an existing file is never replaced (SPEC.md §5: facesearch never writes
 * over a file it did not create). The temporary file is created with mode 0666 minus the umask,
 * like any new file, and removed on every failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <vips/vips.h>

#include "image/image_internal.h"
#include "util/error.h"

typedef enum { OUT_JPEG, OUT_PNG, OUT_WEBP, OUT_NONE } out_format;

static out_format format_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return OUT_NONE;
    if (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"))
        return OUT_JPEG;
    if (!strcasecmp(dot, ".png"))
        return OUT_PNG;
    if (!strcasecmp(dot, ".webp"))
        return OUT_WEBP;
    return OUT_NONE;
}

static fs_status errno_fail(fs_error *err, const char *qname, int e)
{
    char buf[128];
    if (strerror_r(e, buf, sizeof buf) != 0)
        strcpy(buf, "input/output error");
    return util_fail(err, FS_ERR_IO, "%s: %s", qname, buf);
}

/* Creates "PATH.tmp-PID-N" exclusively; fills tmp (size >= strlen(path) + 40). Returns fd or -1. */
static int create_temp(const char *path, char *tmp, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long seed = (unsigned long)ts.tv_nsec ^ (unsigned long)(uintptr_t)tmp;
    for (int attempt = 0; attempt < 100; attempt++) {
        seed = seed * 6364136223846793005ul + 1442695040888963407ul;
        snprintf(tmp, size, "%s.tmp-%ld-%08lx", path, (long)getpid(), (seed >> 16) & 0xffffffffu);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* Gives tmp the name path if no file has it; never replaces one (EEXIST). 0 or an errno. */
static int publish(const char *tmp, const char *path)
{
#ifdef SYS_renameat2
    /* through syscall(): the glibc wrapper needs _GNU_SOURCE, which changes strerror_r */
    const unsigned rename_noreplace = 1; /* RENAME_NOREPLACE of <linux/fs.h> */
    if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path, rename_noreplace) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return errno;
#endif
    /* a file system without RENAME_NOREPLACE: link fails on an existing name too */
    if (link(tmp, path) != 0)
        return errno;
    unlink(tmp);
    return 0;
}

static fs_status write_atomically(const char *path, const char *qname, const void *data,
                                  size_t size, fs_error *err)
{
    size_t tsize = strlen(path) + 48;
    char *tmp = malloc(tsize);
    if (!tmp)
        return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", qname);
    int fd = create_temp(path, tmp, tsize);
    if (fd < 0) {
        fs_status rc = errno_fail(err, qname, errno);
        free(tmp);
        return rc;
    }
    const uint8_t *p = data;
    size_t done = 0;
    int e = 0;
    while (done < size) {
        ssize_t n = write(fd, p + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            break;
        }
        done += (size_t)n;
    }
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e)
        e = publish(tmp, path);
    if (e) {
        unlink(tmp);
        free(tmp);
        if (e == EEXIST)
            return util_fail(err, FS_ERR_IO,
                             "%s: already exists; facesearch never writes over a file", qname);
        return errno_fail(err, qname, e);
    }
    free(tmp);
    return FS_OK;
}

/* Encodes img (not empty) in format f at quality (JPEG, WebP), metadata stripped when strip is
 * set, into *buf (*len bytes; free with g_free). name is used in messages. */
static fs_status encode(const img_rgb *img, out_format f, int quality, int strip,
                        const char *name, void **buf, size_t *len, fs_error *err)
{
    fs_status rc = img_vips_start(err);
    if (rc != FS_OK)
        return rc;
    /* A view of our pixels; libvips does not copy or free them. */
    VipsImage *v = vips_image_new_from_memory(img->rgb, (size_t)img->width * img->height * 3,
                                              img->width, img->height, 3, VIPS_FORMAT_UCHAR);
    if (!v) {
        vips_error_clear();
        return util_fail(err, FS_ERR_INTERNAL, "%s: libvips could not wrap the image", name);
    }
    int r;
    if (f == OUT_JPEG)
        r = vips_jpegsave_buffer(v, buf, len, "Q", quality, "strip", strip, NULL);
    else if (f == OUT_PNG)
        r = vips_pngsave_buffer(v, buf, len, "strip", strip, NULL);
    else
        r = vips_webpsave_buffer(v, buf, len, "Q", quality, "strip", strip, NULL);
    g_object_unref(v);
    if (r != 0 || !*buf) {
        vips_error_clear();
        g_free(*buf);
        *buf = NULL;
        return util_fail(err, FS_ERR_INTERNAL, "%s: could not encode the image", name);
    }
    return FS_OK;
}

fs_status img_save(const img_rgb *img, const char *path, fs_error *err)
{
    char qname[320];
    img_quote_name(path, qname, sizeof qname);
    if (!path)
        return util_fail(err, FS_ERR_ARG, "no path given");
    out_format f = format_of(path);
    if (f == OUT_NONE)
        return util_fail(err, FS_ERR_ARG, "%s: unknown output format (use .jpg, .png or .webp)",
                         qname);
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return util_fail(err, FS_ERR_ARG, "%s: empty image", qname);
    void *buf = NULL;
    size_t len = 0;
    fs_status rc = encode(img, f, f == OUT_JPEG ? 92 : 90, 0, qname, &buf, &len, err);
    if (rc != FS_OK)
        return rc;
    rc = write_atomically(path, qname, buf, len, err);
    g_free(buf);
    return rc;
}

fs_status img_encode_jpeg(const img_rgb *img, int quality, uint8_t **data, size_t *size,
                          fs_error *err)
{
    *data = NULL;
    *size = 0;
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return util_fail(err, FS_ERR_ARG, "empty image");
    void *buf = NULL;
    size_t len = 0;
    fs_status rc = encode(img, OUT_JPEG, quality, 1, "(image)", &buf, &len, err);
    if (rc != FS_OK)
        return rc;
    /* a plain malloc'd copy: the caller frees with free(), not g_free() */
    *data = malloc(len);
    if (*data)
        memcpy(*data, buf, len);
    g_free(buf);
    if (!*data)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    *size = len;
    return FS_OK;
}
