/*
 * cmd_serve.c — `facesearch serve`: reads the options and hands them to the server
 * (include/facesearch_server.h), which runs until Ctrl-C. With --shards DIR under mpirun, rank 0
 * runs the server with the searches of the sharded library (include/facesearch_mpi.h, the
 * front) and the other ranks answer them until the server stops.
 */
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "facesearch_server.h"
#ifdef FACESEARCH_MPI
#include "facesearch_mpi.h"

#define SHARD_WAIT_MS FS_MPI_ANSWER_MS

static fs_status front_search(void *front, const fs_face *query, const char *const *folders,
                              size_t n_folders, float threshold, size_t top, int min_face,
                              fs_matches *out, fs_error *err)
{
    return fs_mpi_front_search(front, query, folders, n_folders, threshold, top, min_face, out,
                               err);
}

static fs_status front_ready(void *front, fs_error *err)
{
    return fs_mpi_front_ready(front, err);
}

static fs_status front_photo(void *front, int64_t id, fs_photo *out, fs_error *err)
{
    return fs_mpi_front_photo(front, id, out, err);
}

static fs_status front_face(void *front, int64_t id, fs_matches *out, fs_error *err)
{
    return fs_mpi_front_face(front, id, out, err);
}

static fs_status front_person(void *front, int64_t id, fs_person *person, fs_person_faces *out,
                              fs_error *err)
{
    return fs_mpi_front_person(front, id, person, out, err);
}

static fs_status front_unsure(void *front, fs_person_faces *out, fs_error *err)
{
    return fs_mpi_front_unsure(front, out, err);
}

static fs_status front_group(void *front, const fs_people_options *opt,
                             fs_people_summary *summary, fs_error *err)
{
    return fs_mpi_front_people_update(front, opt, summary, err);
}

/* serve --shards DIR on every rank: rank 0 the server, the others fs_mpi_answer. A rank that
 * does not take the stop in time (stopped, gone) ends the run with MPI_Abort rather than hang
 * in MPI_Finalize, which waits for every rank. */
static int serve_shards(const cli_globals *g, fs_server_config *cfg, const char *dir,
                        int wait_ms)
{
    /* SIGINT and SIGTERM stay pending in every thread, MPI's included (started by
     * fs_mpi_open), until taken: by the server's sigwait on rank 0, by fs_mpi_answer's look at
     * the pending signals on the others (mpirun passes its SIGINT / SIGTERM on to every rank) */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    fs_mpi *mpi;
    fs_error err;
    if (fs_mpi_open(&mpi, &err) != FS_OK)
        return cli_fail_error(&err);
    int rank = fs_mpi_rank(mpi);
    fs_mpi_library *lib;
    if (fs_mpi_library_open(mpi, dir, &lib, &err) != FS_OK) {
        int status = rank == 0 ? cli_fail_error(&err) : EXIT_ERROR;
        fs_mpi_close(mpi);
        return status;
    }
    if (rank != 0) {
        fs_status rc = fs_mpi_answer(lib, &err);
        fs_mpi_library_close(lib);
        if (rc != FS_OK) {
            cli_fail_error(&err);
            fs_mpi_abort(mpi, EXIT_ERROR);
        }
        fs_mpi_close(mpi);
        return 0;
    }
    fs_mpi_front *front;
    if (fs_mpi_front_open(lib, wait_ms, &front, &err) != FS_OK) {
        cli_fail_error(&err);
        fs_mpi_abort(mpi, EXIT_ERROR);
    }
    char pack[256];
    cfg->models = cli_shards_pack(g, dir, pack, sizeof pack);
    cfg->db = dir;
    cfg->search = front_search;
    cfg->ready = front_ready;
    cfg->photo = front_photo;
    cfg->face = front_face;
    cfg->person = front_person;
    cfg->unsure = front_unsure;
    cfg->group = front_group;
    cfg->search_ctx = front;
    int status = fs_server_run(cfg);
    fs_status rc = fs_mpi_front_close(front, &err);
    fs_mpi_library_close(lib);
    if (rc != FS_OK) {
        fprintf(stderr, "facesearch serve: %s: ending every rank\n", err.message);
        fflush(stderr);
        fs_mpi_abort(mpi, EXIT_ERROR);
    }
    fs_mpi_close(mpi);
    return status;
}
#else
#define SHARD_WAIT_MS 3000

static int serve_shards(const cli_globals *g, fs_server_config *cfg, const char *dir,
                        int wait_ms)
{
    (void)g;
    (void)cfg;
    (void)wait_ms;
    return cli_fail_no_mpi(dir);
}
#endif

int cmd_serve(const cli_globals *g, int argc, char **argv)
{
    enum { OPT_HOST = 1, OPT_PORT, OPT_TOKEN, OPT_ROOT, OPT_WORKERS, OPT_MAX_UPLOAD,
           OPT_MAX_PIXELS, OPT_MAX_DECODE_MS, OPT_SHARDS, OPT_SHARD_WAIT_MS };
    static const struct option opts[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"root", required_argument, NULL, OPT_ROOT},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"max-upload", required_argument, NULL, OPT_MAX_UPLOAD},
        {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
        {"max-decode-ms", required_argument, NULL, OPT_MAX_DECODE_MS},
        {"shards", required_argument, NULL, OPT_SHARDS},
        {"shard-wait-ms", required_argument, NULL, OPT_SHARD_WAIT_MS},
        {NULL, 0, NULL, 0},
    };
    fs_server_config cfg = {.host = "127.0.0.1", .port = 8080, .db = g->db, .models = g->models,
                            .threads = g->threads, .precision = g->precision,
                            .max_upload = 20u << 20, .max_pixels = 50000000,
                            .max_decode_ms = 10000, .workers = 2};
    const char *env_token = getenv("FACESEARCH_TOKEN");
    if (env_token && *env_token)
        cfg.token = env_token;
    const char *shards = NULL;
    int shard_wait_ms = SHARD_WAIT_MS, wait_given = 0;
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
        case OPT_SHARDS:
            shards = optarg;
            break;
        case OPT_SHARD_WAIT_MS:
            if (cli_parse_int("--shard-wait-ms", optarg, 1, 3600000L, &n))
                return EXIT_ERROR;
            shard_wait_ms = (int)n;
            wait_given = 1;
            break;
        default:
            return cli_fail("serve: %s: unknown option (see facesearch serve --help)",
                            cli_bad_option(argc, argv));
        }
    }
    if (optind < argc)
        return cli_fail("serve: unexpected argument '%s' (folders are given with --root)",
                        argv[optind]);
    if (wait_given && !shards)
        return cli_fail("serve: --shard-wait-ms goes with --shards DIR");
    if (shards)
        return serve_shards(g, &cfg, shards, shard_wait_ms);
    return fs_server_run(&cfg);
}
