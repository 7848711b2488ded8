/*
 * cmd_serve.c — `facesearch serve`: reads the options and hands them to the server
 * (include/facesearch_server.h), which runs until Ctrl-C.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "facesearch_server.h"

int cmd_serve(const cli_globals *g, int argc, char **argv)
{
    enum { OPT_HOST = 1, OPT_PORT, OPT_TOKEN, OPT_ROOT, OPT_WORKERS, OPT_MAX_UPLOAD,
           OPT_MAX_PIXELS, OPT_MAX_DECODE_MS };
    static const struct option opts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"root", required_argument, NULL, OPT_ROOT},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"max-upload", required_argument, NULL, OPT_MAX_UPLOAD},
        {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
        {"max-decode-ms", required_argument, NULL, OPT_MAX_DECODE_MS},
        {NULL, 0, NULL, 0},
    };
    fs_server_config cfg = {.host = "127.0.0.1", .port = 8080, .db = g->db, .models = g->models,
                            .threads = g->threads, .precision = g->precision,
                            .max_upload = 20u << 20, .max_pixels = 50000000,
                            .max_decode_ms = 10000, .workers = 2};
    const char *env_token = getenv("FACESEARCH_TOKEN");
    if (env_token && *env_token)
        cfg.token = env_token;
    long n;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_HOST:
            cfg.host = optarg;
            break;
        case OPT_PORT:
            if (cli_parse_int("--port", optarg, 0, 65535, &n))
                return EXIT_ERROR;
            cfg.port = (int)n;
            break;
        case OPT_TOKEN:
            if (strlen(optarg) < 8)
                return cli_fail("--token: use at least 8 characters");
            cfg.token = optarg;
            break;
        case OPT_ROOT:
            if (cfg.n_roots == FS_SERVER_ROOTS_MAX)
                return cli_fail("--root: at most %d folders", FS_SERVER_ROOTS_MAX);
            cfg.roots[cfg.n_roots++] = optarg;
            break;
        case OPT_WORKERS:
            if (cli_parse_int("--workers", optarg, 1, 64, &n))
                return EXIT_ERROR;
            cfg.workers = (int)n;
            break;
        case OPT_MAX_UPLOAD:
            if (cli_parse_int("--max-upload", optarg, 1024, 1L << 30, &n))
                return EXIT_ERROR;
            cfg.max_upload = (size_t)n;
            break;
        case OPT_MAX_PIXELS:
            if (cli_parse_int("--max-pixels", optarg, 1, 1000000000L, &n))
                return EXIT_ERROR;
            cfg.max_pixels = (uint64_t)n;
            break;
        case OPT_MAX_DECODE_MS:
            if (cli_parse_int("--max-decode-ms", optarg, 1, 3600000L, &n))
                return EXIT_ERROR;
            cfg.max_decode_ms = (int)n;
            break;
        default:
            return cli_fail("serve: %s: unknown option (see facesearch serve --help)",
                            cli_bad_option(argc, argv));
        }
    }
    if (optind < argc)
        return cli_fail("serve: unexpected argument '%s' (folders are given with --root)",
                        argv[optind]);
    return fs_server_run(&cfg);
}
