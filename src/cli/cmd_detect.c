/*
 * cmd_detect.c — `facesearch detect IMAGE...`: the faces found in each image, as a table or as
 * one JSON object per image (SPEC.md §2), optionally drawn onto a copy (--draw).
 * Exit 0 when every image was read, 2 if any failed (the others are still printed).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"

typedef struct detect_args {
    int json;
    const char *draw;
    long min_size;
    float det_threshold;
} detect_args;

static int parse(int argc, char **argv, detect_args *a)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"draw", required_argument, NULL, 'd'},
        {"min-size", required_argument, NULL, 'm'},
        {"det-threshold", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'j': a->json = 1; break;
        case 'd': a->draw = optarg; break;
        case 'm':
            if (cli_parse_int("--min-size", optarg, 1, 100000, &a->min_size))
                return -1;
            break;
        case 't':
            if (cli_parse_float("--det-threshold", optarg, 0.01f, 1.0f, &a->det_threshold))
                return -1;
            break;
        case ':': return cli_fail("detect: %s needs a value", argv[optind - 1]), -1;
        default: return cli_fail("detect: %s: unknown option", cli_bad_option(argc, argv)), -1;
        }
    }
    if (optind >= argc)
        return cli_fail("detect: no image given (see facesearch detect --help)"), -1;
    return optind;
}

static void print_faces(const char *path, const fs_faces *faces, int json)
{
    if (json) {
        fputs("{\"path\":", stdout);
        cli_json_string(stdout, path);
        printf(",\"width\":%d,\"height\":%d,\"faces\":[", faces->width, faces->height);
        for (size_t i = 0; i < faces->count; i++) {
            fputs(i ? ",{" : "{", stdout);
            cli_json_face(stdout, &faces->faces[i]);
            fputc('}', stdout);
        }
        fputs("]}\n", stdout);
        return;
    }
    cli_print_path(stdout, path);
    printf(": %dx%d, %zu face%s\n", faces->width, faces->height, faces->count,
           faces->count == 1 ? "" : "s");
    for (size_t i = 0; i < faces->count; i++) {
        const fs_face *f = &faces->faces[i];
        printf("  %zu  box %.0f,%.0f %.0f,%.0f  (%.0fx%.0f)  score %.3f  quality %.2f\n", i + 1,
               f->box[0], f->box[1], f->box[2], f->box[3], f->box[2] - f->box[0],
               f->box[3] - f->box[1], f->score, f->quality);
    }
}

/* Where --draw writes, decided before any image is read (SPEC.md §5): one image and OUT not a
 * folder: the file OUT, which must not exist yet; else the folder OUT (made if absent), one
 * drawing per image named after it, with its folder's name in front when two images share a base
 * name, and a counter when the name is taken. */
typedef struct draw_plan {
    int to_folder;
    char *dir;              /* to_folder: OUT without trailing slashes (owned) */
    unsigned char *clash;   /* to_folder: per image, another image has the same base name */
} draw_plan;

/* True when path names the same file as one of the images. */
static int is_an_input(const char *path, char *const *images, int n)
{
    struct stat a, b;
    if (stat(path, &a) != 0)
        return 0;
    for (int i = 0; i < n; i++)
        if (stat(images[i], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            return 1;
    return 0;
}

static int plan_draw(const char *draw, char *const *images, char *const *canon, int n,
                     draw_plan *p)
{
    struct stat st;
    int exists = lstat(draw, &st) == 0;
    int is_dir = stat(draw, &st) == 0 && S_ISDIR(st.st_mode);
    size_t len = strlen(draw);
    int slash = len > 1 && draw[len - 1] == '/'; /* "OUT/": a folder, even for one image */
    if (exists && !is_dir && is_an_input(draw, images, n))
        return cli_fail("%s: is an input image; --draw never writes over an input", draw);
    if (n == 1 && !is_dir && !slash) {
        if (exists)
            return cli_fail("%s: already exists; --draw never writes over a file (name a new "
                            "file or a folder)", draw);
        return 0;
    }
    if (!is_dir) {
        if (exists)
            return cli_fail("%s: not a folder; --draw with several images needs a folder", draw);
        if (mkdir(draw, 0777) != 0)
            return cli_fail("%s: %s", draw, strerror(errno));
    }
    p->to_folder = 1;
    if (!(p->dir = strdup(draw)))
        return cli_fail("out of memory");
    while (len > 1 && p->dir[len - 1] == '/')
        p->dir[--len] = '\0';
    if (!(p->clash = malloc((size_t)n)) ||
        cli_basename_clashes((const char *const *)canon, (size_t)n, p->clash) != 0)
        return cli_fail("out of memory");
    return 0;
}

static int drawable_extension(const char *ext)
{
    return strcasecmp(ext, ".jpg") == 0 || strcasecmp(ext, ".jpeg") == 0 ||
           strcasecmp(ext, ".png") == 0 || strcasecmp(ext, ".webp") == 0;
}

/* The drawing's path for image i (canonical path canon): see draw_plan. 0, or -1 if too long. */
static int draw_path(const char *draw, const draw_plan *p, const char *canon, int i, char *buf,
                     size_t size)
{
    if (!p->to_folder)
        return snprintf(buf, size, "%s", draw) < (int)size ? 0 : -1;
    const char *base = cli_basename(canon);
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        dot = base + strlen(base);
    /* the drawing keeps the photo's format when we can write it, else it is a PNG */
    const char *ext = drawable_extension(dot) ? dot : ".png";
    char parent[NAME_MAX + 1] = "", stem[PATH_MAX];
    if (p->clash[i])
        cli_parent_name(canon, parent, sizeof parent);
    if (snprintf(stem, sizeof stem, "%s%s%.*s", parent, *parent ? "_" : "", (int)(dot - base),
                 base) >= (int)sizeof stem)
        return -1;
    return cli_free_path(p->dir, stem, ext, buf, size);
}

int cmd_detect(const cli_globals *g, int argc, char **argv)
{
    detect_args a = {.min_size = 20};
    int first = parse(argc, argv, &a);
    if (first < 0)
        return EXIT_ERROR;
    int n = argc - first;
    char *const *images = argv + first;
    char **canon = calloc((size_t)n, sizeof *canon);
    if (!canon)
        return cli_fail("out of memory");
    int status = 0;
    for (int i = 0; i < n && status == 0; i++) {
        canon[i] = realpath(images[i], NULL);
        if (!canon[i] && !(canon[i] = strdup(images[i]))) /* unreadable: reported when detected */
            status = cli_fail("out of memory");
    }
    draw_plan plan = {0};
    if (status == 0 && a.draw && plan_draw(a.draw, images, canon, n, &plan) != 0)
        status = EXIT_ERROR;
    fs_engine *engine = NULL;
    fs_worker *worker = NULL;
    fs_error err;
    if (status == 0 && cli_open_engine(g, (int)a.min_size, a.det_threshold, &engine))
        status = EXIT_ERROR;
    if (status == 0 && fs_worker_new(engine, 0, &worker, &err) != FS_OK)
        status = cli_fail_error(&err);
    for (int i = 0; worker && i < n; i++) {
        fs_faces faces;
        fs_stage_times before, after;
        fs_worker_times(worker, &before);
        fs_status rc = fs_detect_file(worker, images[i], 0, &faces, &err);
        fs_worker_times(worker, &after);
        if (g->verbose)
            fprintf(stderr, "%s: decode %.1f ms, detect %.1f ms, landmarks %.1f ms\n", images[i],
                    1e3 * (after.decode - before.decode), 1e3 * (after.detect - before.detect),
                    1e3 * (after.landmarks - before.landmarks));
        if (rc != FS_OK) {
            cli_fail_error(&err);
            status = EXIT_ERROR;
            continue;
        }
        if (faces.warnings & FS_WARN_JPEG_NO_END)
            cli_fail("%s: warning: JPEG end marker missing, decoded what is present", images[i]);
        /* JSON names the photo as search does: its canonical path */
        print_faces(a.json ? canon[i] : images[i], &faces, a.json);
        if (a.draw) {
            char out[PATH_MAX], plain[PATH_MAX];
            if (draw_path(a.draw, &plan, canon[i], i, out, sizeof out) != 0) {
                cli_fail("%s: no free name for the drawing of %s", a.draw, images[i]);
                status = EXIT_ERROR;
            } else if (fs_draw_faces(engine, images[i], &faces, out, &err) != FS_OK) {
                cli_fail_error(&err);
                status = EXIT_ERROR;
            } else if (plan.to_folder && !g->quiet &&
                       (snprintf(plain, sizeof plain, "%s/%s", plan.dir, cli_basename(canon[i])),
                        strcmp(out, plain) != 0)) {
                fprintf(stderr, "%s: drawn as %s\n", images[i], out);
            }
        }
        fs_faces_free(&faces);
    }
    fs_worker_free(worker);
    fs_engine_close(engine);
    free(plan.clash);
    free(plan.dir);
    for (int i = 0; i < n; i++)
        free(canon[i]);
    free(canon);
    return status;
}
