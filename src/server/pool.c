/*
 * pool.c — the cap on heavy requests (searches by photo, pictures): as many run at once as there
 * are workers (a worker holds one pipeline's state); a few more wait for one, up to a few
 * seconds; beyond that a request gets 503 at once, so a burst never exhausts memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <time.h>

#include "srv.h"

#define POOL_WAITERS_PER_WORKER 4
#define POOL_WAIT_SECONDS 10

int srv_pool_open(srv_ctx *ctx, fs_error *err)
{
    int n = ctx->cfg->workers > 0 ? ctx->cfg->workers : 2;
    ctx->workers = calloc((size_t)n, sizeof *ctx->workers);
    ctx->busy = calloc((size_t)n, sizeof *ctx->busy);
    if (!ctx->workers || !ctx->busy) {
        err->code = FS_ERR_NOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (fs_worker_new(ctx->engine, n > 1 ? 1 : 0, &ctx->workers[i], err) != FS_OK)
            return -1;
        ctx->n_workers = i + 1;
    }
    pthread_mutex_init(&ctx->pool_lock, NULL);
    pthread_cond_init(&ctx->pool_free, NULL);
    return 0;
}

void srv_pool_close(srv_ctx *ctx)
{
    for (int i = 0; i < ctx->n_workers; i++)
        fs_worker_free(ctx->workers[i]);
    free(ctx->workers);
    free(ctx->busy);
    ctx->workers = NULL;
    ctx->busy = NULL;
}

static int free_slot(const srv_ctx *ctx)
{
    for (int i = 0; i < ctx->n_workers; i++)
        if (!ctx->busy[i])
            return i;
    return -1;
}

fs_worker *srv_pool_take(srv_ctx *ctx, int *slot)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += POOL_WAIT_SECONDS;
    pthread_mutex_lock(&ctx->pool_lock);
    int i = free_slot(ctx);
    if (i < 0 && ctx->waiting < ctx->n_workers * POOL_WAITERS_PER_WORKER) {
        ctx->waiting++;
        while ((i = free_slot(ctx)) < 0 && !ctx->stopping)
            if (pthread_cond_timedwait(&ctx->pool_free, &ctx->pool_lock, &until) == ETIMEDOUT) {
                i = free_slot(ctx);
                break;
            }
        ctx->waiting--;
    }
    if (i >= 0)
        ctx->busy[i] = 1;
    pthread_mutex_unlock(&ctx->pool_lock);
    *slot = i;
    return i >= 0 ? ctx->workers[i] : NULL;
}

void srv_pool_give(srv_ctx *ctx, int slot)
{
    pthread_mutex_lock(&ctx->pool_lock);
    ctx->busy[slot] = 0;
    pthread_cond_signal(&ctx->pool_free);
    pthread_mutex_unlock(&ctx->pool_lock);
}
