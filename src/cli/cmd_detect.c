/*
 * cmd_detect.c — `facesearch detect IMAGE...`: the faces found in each image, as a table or as
 * one JSON object per image (SPEC.md §2), optionally drawn onto a copy (--draw).
 * Exit 0 when every image was read, 2 if any failed (the others are still printed).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

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
        default: return cli_fail("detect: %s: unknown option", argv[optind - 1]), -1;
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
    printf("%s: %dx%d, %zu face%s\n", path, faces->width, faces->height, faces->count,
           faces->count == 1 ? "" : "s");
    for (size_t i = 0; i < faces->count; i++) {
        const fs_face *f = &faces->faces[i];
        printf("  %zu  box %.0f,%.0f %.0f,%.0f  (%.0fx%.0f)  score %.3f\n", i + 1, f->box[0], f->box[1],
               f->box[2], f->box[3], f->box[2] - f->box[0], f->box[3] - f->box[1], f->score);
    }
}

/* Where --draw writes the copy of path: OUT itself for a single image that is not a folder,
 * else OUT/basename. */
static int draw_path(const char *draw, const char *path, int several, char *buf, size_t size)
{
    struct stat st;
    int is_dir = stat(draw, &st) == 0 && S_ISDIR(st.st_mode);
    if (!several && !is_dir)
        return snprintf(buf, size, "%s", draw) < (int)size ? 0 : -1;
    if (!is_dir && mkdir(draw, 0777) != 0)
        return -1;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return snprintf(buf, size, "%s/%s", draw, base) < (int)size ? 0 : -1;
}

int cmd_detect(const cli_globals *g, int argc, char **argv)
{
    detect_args a = {.min_size = 20};
    int first = parse(argc, argv, &a);
    if (first < 0)
        return EXIT_ERROR;
    fs_engine *engine;
    fs_worker *worker;
    fs_error err;
    if (cli_open_engine(g, (int)a.min_size, a.det_threshold, &engine))
        return EXIT_ERROR;
    if (fs_worker_new(engine, &worker, &err) != FS_OK) {
        fs_engine_close(engine);
        return cli_fail_error(&err);
    }
    int status = 0;
    for (int i = first; i < argc; i++) {
        fs_faces faces;
        fs_stage_times before, after;
        fs_worker_times(worker, &before);
        fs_status st = fs_detect_file(worker, argv[i], 0, &faces, &err);
        fs_worker_times(worker, &after);
        if (g->verbose)
            fprintf(stderr, "%s: decode %.1f ms, detect %.1f ms, landmarks %.1f ms\n", argv[i],
                    1e3 * (after.decode - before.decode), 1e3 * (after.detect - before.detect),
                    1e3 * (after.landmarks - before.landmarks));
        if (st != FS_OK) {
            cli_fail_error(&err);
            status = EXIT_ERROR;
            continue;
        }
        print_faces(argv[i], &faces, a.json);
        if (a.draw) {
            char out[PATH_MAX];
            if (draw_path(a.draw, argv[i], argc - first > 1, out, sizeof out) != 0) {
                cli_fail("%s: cannot write drawings there", a.draw);
                status = EXIT_ERROR;
            } else if (fs_draw_faces(engine, argv[i], &faces, out, &err) != FS_OK) {
                cli_fail_error(&err);
                status = EXIT_ERROR;
            }
        }
        fs_faces_free(&faces);
    }
    fs_worker_free(worker);
    fs_engine_close(engine);
    return status;
}
