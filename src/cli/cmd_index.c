/*
 * cmd_index.c — `facesearch index DIR...`, `remove PATH...` and `stats`: the persistent index.
 * index shows a progress bar on a terminal (plain lines otherwise), stops cleanly on Ctrl-C
 * (finishing the current batch), and ends with a summary. Exit 0, or 2 if any photo failed.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#ifdef FACESEARCH_MPI
#include "facesearch_mpi.h"
#endif

#define MAX_ROOTS 256

static volatile int interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct progress_view {
    int tty, quiet;
    size_t lines;
} progress_view;

static void show_progress(const fs_index_progress *p, void *ctx)
{
    progress_view *v = ctx;
    if (v->quiet)
        return;
    double rate = p->seconds > 0 ? (p->done - p->unchanged) / p->seconds : 0;
    size_t left = p->total > p->done ? p->total - p->done : 0;
    if (v->tty) {
        int width = 30, filled = p->total ? (int)(width * p->done / p->total) : width;
        fprintf(stderr, "\r[%.*s%*s] %zu/%zu photos, %zu faces, %.1f photos/s", filled,
                "##############################", width - filled, "", p->done, p->total, p->faces,
                rate);
        if (rate > 0 && left)
            fprintf(stderr, ", ETA %.0fs ", left / rate);
        else
            fputs("          ", stderr);
    } else if (p->seconds >= (double)(v->lines + 1) * 5) { /* a plain line every 5 seconds */
        v->lines++;
        fprintf(stderr, "indexed %zu/%zu photos, %zu faces, %.1f photos/s\n", p->done, p->total,
                p->faces, rate);
    }
}

static void show_problem(const char *message, void *ctx)
{
    progress_view *v = ctx;
    if (v->tty && !v->quiet)
        fputs("\r\033[K", stderr);
    cli_fail("%s", message);
}

char *cli_canonical(const char *path)
{
    char *canon;
    fs_error err;
    if (fs_path_canonical(path, &canon, &err) != FS_OK) {
        cli_fail_error(&err);
        return NULL;
    }
    return canon;
}

int cli_existing_roots(char *const *args, size_t n, char **roots, size_t *kept)
{
    int status = 0;
    *kept = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(args[i], &st) != 0) {
            status = cli_fail("%s: %s", args[i], strerror(errno));
            continue;
        }
        char *canon = cli_canonical(args[i]);
        if (!canon) {
            status = EXIT_ERROR;
            continue;
        }
        roots[(*kept)++] = canon;
    }
    return status;
}

static void print_summary(const fs_index_progress *summary)
{
    fprintf(stderr,
            "%s%zu photo%s: %zu new, %zu changed, %zu unchanged, %zu moved, %zu removed, "
            "%zu failed; %zu face%s in %.1fs\n",
            interrupted ? "interrupted, progress kept. " : "", summary->total,
            summary->total == 1 ? "" : "s", summary->added, summary->changed,
            summary->unchanged, summary->moved, summary->removed, summary->failed,
            summary->faces, summary->faces == 1 ? "" : "s", summary->seconds);
}

#ifdef FACESEARCH_MPI
/* index --shards DIR under mpirun: every rank fills its shard (fs_mpi_index); rank 0 shows the
 * progress of all and the summary. A rank that cannot open the engine says why and makes the
 * run fail on every rank. */
static int index_shards(const cli_globals *g, const char *dir, const char *const *roots,
                        size_t n, int hidden)
{
    fs_mpi *mpi;
    fs_error err;
    if (fs_mpi_open(&mpi, &err) != FS_OK)
        return cli_fail_error(&err);
    int rank = fs_mpi_rank(mpi);
    char pack[256];
    cli_globals gs = *g;
    gs.models = cli_shards_pack(g, dir, pack, sizeof pack);
    fs_engine *engine = NULL;
    int status = cli_open_engine(&gs, 0, 0, &engine);
    interrupted = 0;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    progress_view view = {.tty = isatty(2), .quiet = g->quiet || rank != 0};
    fs_index_options io = {.workers = g->threads, .include_hidden = hidden,
                           .stop = &interrupted, .on_progress = show_progress,
                           .on_problem = show_problem, .ctx = &view};
    fs_index_progress summary;
    fs_status rc = fs_mpi_index(mpi, engine, dir, roots, n, g->wait, &io, &summary, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (view.tty && !view.quiet)
        fputc('\n', stderr);
    if (rc != FS_OK && status == 0)
        status = rank == 0 ? cli_fail_error(&err) : EXIT_ERROR;
    else if (rc == FS_OK && rank == 0) {
        if (!g->quiet)
            print_summary(&summary);
        if (g->verbose && !g->quiet)
            fprintf(stderr, "%zu of the photos embedded by a rank other than their shard's "
                    "(work stealing)\n", summary.shared);
        if (summary.failed || interrupted)
            status = EXIT_ERROR;
    }
    fs_engine_close(engine);
    fs_mpi_close(mpi);
    return status;
}
#else
static int index_shards(const cli_globals *g, const char *dir, const char *const *roots,
                        size_t n, int hidden)
{
    (void)g, (void)roots, (void)n, (void)hidden;
    return cli_fail_no_mpi(dir);
}
#endif

int cmd_index(const cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"hidden", no_argument, NULL, 'H'},
        {"min-size", required_argument, NULL, 'm'},
        {"shards", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *shards = NULL;
    int hidden = 0, c;
    long min_size = 20;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (c == 'H')
            hidden = 1;
        else if (c == 's')
            shards = optarg;
        else if (c == 'm') {
            /* accepted for old scripts; the index keeps every face (SPEC.md §5) */
            if (cli_parse_int("--min-size", optarg, 1, 100000, &min_size))
                return EXIT_ERROR;
            if (!g->quiet)
                fprintf(stderr, "note: the index keeps every face; --min-size applies when "
                                "searching (search --min-size %ld)\n", min_size);
        } else if (c == ':')
            return cli_fail("index: %s needs a value", argv[optind - 1]);
        else
            return cli_fail("index: %s: unknown option", cli_bad_option(argc, argv));
    }
    if (optind >= argc)
        return cli_fail("index: no folder given (see facesearch index --help)");
    if (argc - optind > MAX_ROOTS)
        return cli_fail("index: at most %d folders at once", MAX_ROOTS);
    /* a folder that cannot be read is reported and the others are indexed (exit 2) */
    char *roots[MAX_ROOTS];
    size_t n;
    int missing = cli_existing_roots(argv + optind, (size_t)(argc - optind), roots, &n);
    if (n == 0)
        return EXIT_ERROR;
    if (shards) {
        int status = index_shards(g, shards, (const char *const *)roots, n, hidden);
        for (size_t k = 0; k < n; k++)
            free(roots[k]);
        return missing ? missing : status;
    }
    fs_engine *engine;
    int status = cli_open_engine(g, 0, 0, &engine); /* every face above the pack's floor */
    if (status == 0) {
        fs_index_progress summary;
        status = cli_index_roots(g, engine, (const char *const *)roots, n, hidden, NULL, 0,
                                 &summary);
        fs_engine_close(engine);
    }
    for (size_t k = 0; k < n; k++)
        free(roots[k]);
    return missing ? missing : status;
}

int cli_index_roots(const cli_globals *g, fs_engine *engine, const char *const *roots, size_t n,
                    int hidden, const char *skip, int busy_ok, fs_index_progress *summary)
{
    fs_index *ix;
    fs_error err;
    memset(summary, 0, sizeof *summary);
    /* Ctrl-C is caught from before the index is created, so it always ends in a clean stop */
    interrupted = 0;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (fs_index_open(g->db, engine, FS_INDEX_WRITE | (g->wait ? FS_INDEX_WAIT : 0), &ix, &err)
        != FS_OK) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        if (busy_ok && err.code == FS_ERR_BUSY) {
            /* search -t: what is indexed is searched all the same */
            if (!g->quiet)
                fprintf(stderr, "note: %s; the folders were not refreshed, searching what is "
                                "indexed\n", err.message);
            return CLI_INDEX_BUSY;
        }
        return cli_fail_error(&err);
    }
    progress_view view = {.tty = isatty(2), .quiet = g->quiet};
    fs_index_options io = {.workers = g->threads, .include_hidden = hidden, .skip = skip,
                           .stop = &interrupted,
                           .on_progress = show_progress, .on_problem = show_problem, .ctx = &view};
    fs_status rc = fs_index_update(ix, roots, n, &io, summary, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (view.tty && !g->quiet)
        fputc('\n', stderr);
    int status = 0;
    if (rc != FS_OK)
        status = cli_fail_error(&err);
    else if (!g->quiet)
        print_summary(summary);
    if (status == 0 && (summary->failed || interrupted))
        status = EXIT_ERROR;
    fs_index_close(ix);
    return status;
}

int cmd_remove(const cli_globals *g, int argc, char **argv)
{
    if (argc < 2)
        return cli_fail("remove: no path given (see facesearch remove --help)");
    fs_engine *engine;
    fs_index *ix;
    fs_error err;
    if (cli_open_engine(g, 0, 0, &engine))
        return EXIT_ERROR;
    if (fs_index_open(g->db, engine,
                      FS_INDEX_WRITE | FS_INDEX_EXISTING | (g->wait ? FS_INDEX_WAIT : 0), &ix,
                      &err) != FS_OK) {
        fs_engine_close(engine);
        return cli_fail_error(&err);
    }
    int status = 0;
    for (int i = 1; i < argc && status == 0; i++) {
        char *abs = cli_canonical(argv[i]);
        size_t removed = 0;
        if (!abs)
            status = EXIT_ERROR;
        else if (fs_index_remove(ix, abs, &removed, &err) != FS_OK)
            status = cli_fail_error(&err);
        else if (!g->quiet) {
            cli_print_path(stdout, abs);
            printf(": %zu photo%s removed from the index\n", removed, removed == 1 ? "" : "s");
        }
        free(abs);
    }
    fs_index_close(ix);
    fs_engine_close(engine);
    return status;
}

int cmd_stats(const cli_globals *g, int argc, char **argv)
{
    int json = argc > 1 && strcmp(argv[1], "--json") == 0;
    if (argc > 1 + json)
        return cli_fail("stats: %s: unexpected argument", argv[1 + json]);
    fs_index *ix;
    fs_error err;
    if (fs_index_open(g->db, NULL, FS_INDEX_READ, &ix, &err) != FS_OK)
        return cli_fail_error(&err);
    fs_index_stats s;
    fs_status rc = fs_index_stats_get(ix, &s, &err);
    fs_index_close(ix);
    if (rc != FS_OK)
        return cli_fail_error(&err);
    if (json) {
        printf("{\"files\":%lld,\"failed\":%lld,\"faces\":%lld,\"folders\":%lld,\"bytes\":%lld,"
               "\"pack\":", s.files, s.failed, s.faces, s.folders, s.bytes);
        cli_json_string(stdout, s.pack);
        puts("}");
    } else {
        printf("files    %lld (%lld failed)\nfaces    %lld\nfolders  %lld\npack     %s\n"
               "size     %.1f MiB\n", s.files, s.failed, s.faces, s.folders, s.pack,
               s.bytes / 1048576.0);
    }
    return 0;
}
