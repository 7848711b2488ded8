/*
 * decode.c — how fast a photo becomes detector input: decode the sample photos to ~640 px on the
 * long side through img_load (libjpeg-turbo DCT-scaled decode, then area-average resize)
 * versus plain libvips (vips_thumbnail_buffer, and jpegload with shrink + resize), from a buffer
 * in memory so that disk reads do not count. Prints medians of RUNS runs per photo:
 *   RESULT decode path=<name> photo=<file> ms=<median>
 *   RESULT decode path=<name> photo=all ms=<median of the per-photo medians summed>
 * Usage: decode [RUNS] (default 11). Needs the samples (scripts/fetch-models.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vips/vips.h>

#include "image/image.h"
#include "image/image_internal.h"

#define TARGET 640
#define MAX_RUNS 101

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Ours: shrink-on-load to >= 640, then resize to exactly 640 on the long side. */
static int run_ours(const void *data, size_t size)
{
    img_load_options opt = {.min_long_side = TARGET};
    img_rgb img, small;
    fs_error err;
    if (img_load_buffer(data, size, "bench", &opt, &img, NULL, NULL, NULL, &err) != FS_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    int w = img.width >= img.height ? TARGET : img.width * TARGET / img.height;
    int h = img.width >= img.height ? img.height * TARGET / img.width : TARGET;
    fs_status rc = img_resize(&img, w, h, &small, &err);
    img_free(&img);
    img_free(&small);
    return rc == FS_OK ? 0 : -1;
}

static int to_memory(VipsImage *v)
{
    size_t n;
    void *p = vips_image_write_to_memory(v, &n);
    g_free(p);
    return p ? 0 : -1;
}

static int run_thumbnail(const void *data, size_t size)
{
    VipsImage *t = NULL;
    if (vips_thumbnail_buffer((void *)data, size, &t, TARGET, NULL))
        return -1;
    int r = to_memory(t);
    g_object_unref(t);
    return r;
}

static int run_vips_shrink(const void *data, size_t size)
{
    VipsImage *probe = vips_image_new_from_buffer(data, size, "", NULL);
    if (!probe)
        return -1;
    int w = vips_image_get_width(probe), h = vips_image_get_height(probe);
    g_object_unref(probe);
    int long_side = w > h ? w : h, shrink = 1;
    while (shrink < 8 && long_side / (shrink * 2) >= TARGET)
        shrink *= 2;
    VipsImage *v = vips_image_new_from_buffer(data, size, "", "shrink", shrink, "access",
                                              VIPS_ACCESS_SEQUENTIAL, NULL);
    VipsImage *r = NULL;
    if (!v)
        return -1;
    double scale = (double)TARGET / (long_side / shrink);
    int st = vips_resize(v, &r, scale, NULL);
    g_object_unref(v);
    if (st)
        return -1;
    st = to_memory(r);
    g_object_unref(r);
    return st;
}

static char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 11;
    if (runs < 1 || runs > MAX_RUNS)
        runs = 11;
    char dir[512];
    fs_error err;
    if (fs_data_dir(dir, sizeof dir, &err) != FS_OK || img_vips_start(&err) != FS_OK) {
        fprintf(stderr, "decode: %s\n", err.message);
        return 2;
    }
    static const struct { const char *name; int (*run)(const void *, size_t); } paths[] = {
        {"facesearch", run_ours},
        {"vips_jpegload_shrink", run_vips_shrink},
        {"vips_thumbnail", run_thumbnail},
    };
    double total[3] = {0, 0, 0};
    for (int i = 1; i <= 6; i++) {
        char path[600];
        size_t size;
        snprintf(path, sizeof path, "%s/samples/sample%d.jpg", dir, i);
        char *data = read_all(path, &size);
        if (!data) {
            fprintf(stderr, "decode: %s: cannot read (run scripts/fetch-models.sh)\n", path);
            return 2;
        }
        for (size_t p = 0; p < 3; p++) {
            double t[MAX_RUNS];
            paths[p].run(data, size); /* warm-up */
            for (int r = 0; r < runs; r++) {
                double t0 = now_ms();
                if (paths[p].run(data, size)) {
                    fprintf(stderr, "decode: %s failed on %s\n", paths[p].name, path);
                    return 2;
                }
                t[r] = now_ms() - t0;
            }
            double m = median(t, runs);
            total[p] += m;
            printf("RESULT decode path=%s photo=sample%d.jpg ms=%.2f\n", paths[p].name, i, m);
        }
        free(data);
    }
    for (size_t p = 0; p < 3; p++)
        printf("RESULT decode path=%s photo=all-6 ms=%.2f per_photo_ms=%.2f\n", paths[p].name,
               total[p], total[p] / 6);
    return 0;
}
