/*
 * readers.c — the index readers requests share: a few open readers (searches by id, photos and
 * faces by id, stats), each used by one request at a time; a request waits for a free one. A
 * reader maps the vector files, so more readers cost little memory; they let searches run on
 * every core instead of one at a time. Requests get readers in the order they asked (a ticket
 * each): a request that just finished and asks again cannot take a reader before one that has
 * been waiting, which otherwise, on busy cores, waited for many searches in a row (the p99 of
 * searches at 8 clients was 4 to 5 times the p50).
 */
#include <stdio.h>
#include <stdlib.h>

#include "srv.h"

int srv_readers_open(srv_ctx *ctx, int n, fs_error *err)
{
    ctx->readers = calloc((size_t)n, sizeof *ctx->readers);
    ctx->reader_busy = calloc((size_t)n, sizeof *ctx->reader_busy);
    if (!ctx->readers || !ctx->reader_busy) {
        err->code = FS_ERR_NOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (fs_index_open(ctx->db_dir, ctx->engine, FS_INDEX_READ, &ctx->readers[i], err) != FS_OK)
            return -1;
        ctx->n_readers = i + 1;
    }
    pthread_mutex_init(&ctx->readers_lock, NULL);
    pthread_cond_init(&ctx->reader_free, NULL);
    return 0;
}

void srv_readers_close(srv_ctx *ctx)
{
    for (int i = 0; i < ctx->n_readers; i++)
        fs_index_close(ctx->readers[i]);
    free(ctx->readers);
    free(ctx->reader_busy);
    ctx->readers = NULL;
    ctx->reader_busy = NULL;
    ctx->n_readers = 0;
}

static int free_reader(const srv_ctx *ctx)
{
    for (int i = 0; i < ctx->n_readers; i++)
        if (!ctx->reader_busy[i])
            return i;
    return -1;
}

fs_index *srv_reader_take(srv_ctx *ctx)
{
    pthread_mutex_lock(&ctx->readers_lock);
    uint64_t ticket = ctx->reader_next_ticket++;
    int i;
    while (ticket != ctx->reader_serving || (i = free_reader(ctx)) < 0)
        pthread_cond_wait(&ctx->reader_free, &ctx->readers_lock);
    ctx->reader_busy[i] = 1;
    ctx->reader_serving++;
    /* the next in line may find a reader free too */
    if (ctx->reader_serving != ctx->reader_next_ticket && free_reader(ctx) >= 0)
        pthread_cond_broadcast(&ctx->reader_free);
    pthread_mutex_unlock(&ctx->readers_lock);
    return ctx->readers[i];
}

void srv_reader_give(srv_ctx *ctx, fs_index *reader)
{
    pthread_mutex_lock(&ctx->readers_lock);
    for (int i = 0; i < ctx->n_readers; i++)
        if (ctx->readers[i] == reader)
            ctx->reader_busy[i] = 0;
    /* every waiter looks: only the first in line takes it */
    if (ctx->reader_serving != ctx->reader_next_ticket)
        pthread_cond_broadcast(&ctx->reader_free);
    pthread_mutex_unlock(&ctx->readers_lock);
}
