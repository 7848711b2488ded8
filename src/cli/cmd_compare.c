/*
 * cmd_compare.c — `facesearch compare A B`: cosine similarity of the largest face of each image
 * and whether it reaches the pack's threshold. Exit 0 match, 1 no match, 2 error.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Embeds the largest face of path into *face. */
static int largest_face(fs_worker *w, const char *path, fs_face *face)
{
    fs_faces faces;
    fs_error err;
    if (fs_detect_file(w, path, 1, &faces, &err) != FS_OK)
        return cli_fail_error(&err);
    long i = fs_faces_largest(&faces);
    if (i < 0) {
        fs_faces_free(&faces);
        return cli_fail("%s: no face found", path);
    }
    *face = faces.faces[i];
    fs_faces_free(&faces);
    return 0;
}

int cmd_compare(const cli_globals *g, int argc, char **argv)
{
    int json = 0;
    const char *paths[2];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_fail("compare: %s: unknown option", argv[i]);
        else if (n < 2)
            paths[n++] = argv[i];
        else
            return cli_fail("compare: takes exactly two images");
    }
    if (n != 2)
        return cli_fail("compare: takes exactly two images");

    fs_engine *engine;
    fs_worker *worker;
    fs_error err;
    if (cli_open_engine(g, 0, 0, &engine))
        return EXIT_ERROR;
    if (fs_worker_new(engine, 0, &worker, &err) != FS_OK) {
        fs_engine_close(engine);
        return cli_fail_error(&err);
    }
    fs_face a, b;
    int status = largest_face(worker, paths[0], &a);
    if (status == 0)
        status = largest_face(worker, paths[1], &b);
    if (status == 0) {
        float sim = fs_similarity(&a, &b), t = fs_pack_threshold(fs_engine_pack(engine));
        int match = sim >= t;
        if (json) {
            fputs("{\"a\":", stdout);
            cli_json_string(stdout, paths[0]);
            fputs(",\"b\":", stdout);
            cli_json_string(stdout, paths[1]);
            printf(",\"similarity\":%.4f,\"threshold\":%.4f,\"match\":%s}\n", sim, t,
                   match ? "true" : "false");
        } else {
            printf("similarity %.4f  threshold %.2f  %s\n", sim, t, match ? "same person" : "different people");
        }
        status = match ? EXIT_MATCH : EXIT_NO_MATCH;
    }
    fs_worker_free(worker);
    fs_engine_close(engine);
    return status;
}
