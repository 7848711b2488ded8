/*
 * serve.c — fs_server_run: checks the configuration (roots, address, token), opens the engine, the
 * index (an empty one is created if there is none, so that a fresh server can index) and the
 * worker pool, listens until SIGINT or SIGTERM, then stops in order: listener (connections
 * end), index run (its batch committed), index, workers, engine.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "http.h"

static int fail(const char *fmt, const char *a, const char *b)
{
    fputs("facesearch: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 2;
}

/* The address to listen at; *loopback says whether only this machine can reach it. */
static int parse_address(const char *host, int port, struct sockaddr_storage *ss, int *loopback)
{
    memset(ss, 0, sizeof *ss);
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
        return 0;
    }
    return -1;
}

/* The canonical roots; each must be a folder. */
static int open_roots(srv_ctx *ctx)
{
    const fs_server_config *cfg = ctx->cfg;
    if (cfg->n_roots == 0)
        return fail("serve: give the folders it may index and show with --root DIR%s%s", "", "");
    for (size_t i = 0; i < cfg->n_roots; i++) {
        struct stat st;
        char *real = realpath(cfg->roots[i], NULL);
        if (!real || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(real);
            return fail("%s: --root must be an existing folder%s", cfg->roots[i], "");
        }
        ctx->roots[ctx->n_roots++] = real;
    }
    return 0;
}

/* The readers requests share (as many as heavy-request workers, at least 2); an index is
 * created first if there is none. */
static int open_index(srv_ctx *ctx)
{
    fs_error err;
    fs_index *probe;
    fs_status rc = fs_index_open(ctx->db_dir, ctx->engine, FS_INDEX_READ, &probe, &err);
    if (rc == FS_ERR_NOT_FOUND) {
        rc = fs_index_open(ctx->db_dir, ctx->engine, FS_INDEX_WRITE, &probe, &err);
        if (rc == FS_ERR_BUSY) /* another writer is creating it */
            rc = fs_index_open(ctx->db_dir, ctx->engine, FS_INDEX_READ, &probe, &err);
    }
    if (rc)
        return fail("%s%s", err.message, "");
    fs_index_close(probe);
    int n = ctx->cfg->workers > 2 ? ctx->cfg->workers : 2;
    if (srv_readers_open(ctx, n, &err))
        return fail("%s%s", err.message, "");
    return 0;
}

static void close_all(srv_ctx *ctx)
{
    srv_index_shutdown(ctx);
    srv_people_shutdown(ctx);
    srv_readers_close(ctx);
    srv_pool_close(ctx);
    fs_engine_close(ctx->engine);
    for (size_t i = 0; i < ctx->n_roots; i++)
        free(ctx->roots[i]);
}

/* Blocks until SIGINT or SIGTERM (blocked in every thread, taken here). */
static void wait_for_stop(const sigset_t *set)
{
    int sig;
    sigwait(set, &sig);
}

int fs_server_run(const fs_server_config *cfg)
{
    srv_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return fail("out of memory%s%s", "", "");
    ctx->cfg = cfg;
    pthread_mutex_init(&ctx->run_lock, NULL);
    pthread_cond_init(&ctx->run_changed, NULL);
    struct sockaddr_storage addr;
    int loopback, port = 0, status = 2;
    fs_error err;
    if (parse_address(cfg->host, cfg->port, &addr, &loopback)) {
        fail("--host %s: not an IPv4 or IPv6 address%s", cfg->host, "");
        goto out;
    }
    if (!loopback && !cfg->token) {
        fail("--host %s: listening beyond this machine needs --token (or FACESEARCH_TOKEN)%s",
             cfg->host, "");
        goto out;
    }
    if (open_roots(ctx))
        goto out;
    if (cfg->db)
        snprintf(ctx->db_dir, sizeof ctx->db_dir, "%s", cfg->db);
    else if (fs_index_default_dir(ctx->db_dir, sizeof ctx->db_dir, &err) != FS_OK) {
        fail("%s%s", err.message, "");
        goto out;
    }
    snprintf(ctx->cache_dir, sizeof ctx->cache_dir, "%s/thumbnails", ctx->db_dir);
    fs_engine_options eo = {.threads = cfg->threads, .precision = cfg->precision,
                            .max_pixels = cfg->max_pixels, .max_decode_ms = cfg->max_decode_ms};
    if (fs_engine_open(cfg->models, &eo, &ctx->engine, &err) != FS_OK) {
        fail("%s%s", err.message, "");
        goto out;
    }
    ctx->threshold = fs_pack_threshold(fs_engine_pack(ctx->engine));
    if (!cfg->search && open_index(ctx))
        goto out;
    if (srv_pool_open(ctx, &err)) {
        fail("%s%s", err.message, "");
        goto out;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d = srv_listen(ctx, (struct sockaddr *)&addr, &port);
    if (!d) {
        fail("%s: cannot listen there (in use, or not an address of this machine)%s", cfg->host,
             "");
        goto out;
    }
    const char *fmt = addr.ss_family == AF_INET6 ? "[%s]" : "%s";
    fprintf(stderr, "facesearch serve: listening on http://");
    fprintf(stderr, fmt, cfg->host);
    fprintf(stderr, ":%d/ (%s %s)\n", port, cfg->search ? "sharded library" : "index",
            ctx->db_dir);
    fflush(stderr);
    wait_for_stop(&set);
    fprintf(stderr, "facesearch serve: stopping\n");
    ctx->stopping = 1;
    pthread_mutex_lock(&ctx->run_lock);
    pthread_cond_broadcast(&ctx->run_changed);
    pthread_mutex_unlock(&ctx->run_lock);
    pthread_mutex_lock(&ctx->pool_lock);
    pthread_cond_broadcast(&ctx->pool_free);
    pthread_mutex_unlock(&ctx->pool_lock);
    MHD_stop_daemon(d);
    status = 0;
out:
    close_all(ctx);
    free(ctx);
    return status;
}
