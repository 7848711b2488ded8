/*
 * api_index.c — index runs from the API: GET /api/v1/index (the state of the last run and its
 * progress: files done/total, faces, photos/s, ETA), POST /api/v1/index {"folder": "/a/b"} (a
 * folder under a root; default every root) starts one in the background (409 if one runs,
 * here or from the tool, or while a people update runs), DELETE /api/v1/index cancels it (what is done is kept), and GET
 * /api/v1/index/events streams the progress as Server-Sent Events (the state at once, then every
 * change) until a run that was active during the stream ends.
 * The run is the one writer; the server's reader keeps answering searches meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "srv.h"

static const char *state_name(srv_run_state s)
{
    static const char *const names[] = {"idle", "running", "done", "cancelled", "failed"};
    return names[s];
}

/* The run as JSON (run_lock held). */
static void run_json(const srv_index_run *r, srv_buf *b)
{
    const fs_index_progress *p = &r->progress;
    double rate = p->seconds > 0 ? (double)(p->done - p->unchanged) / p->seconds : 0;
    size_t left = p->total > p->done ? p->total - p->done : 0;
    srv_buf_printf(b, "{\"state\":\"%s\",\"folder\":", state_name(r->state));
    srv_json_string(b, r->folder);
    srv_buf_printf(b,
                   ",\"total\":%zu,\"done\":%zu,\"added\":%zu,\"changed\":%zu,\"unchanged\":%zu,"
                   "\"removed\":%zu,\"failed\":%zu,\"faces\":%zu,\"seconds\":%.2f,"
                   "\"photos_per_second\":%.2f,\"eta_seconds\":",
                   p->total, p->done, p->added, p->changed, p->unchanged, p->removed, p->failed,
                   p->faces, p->seconds, rate);
    if (r->state == RUN_RUNNING && rate > 0)
        srv_buf_printf(b, "%.0f", (double)left / rate);
    else
        srv_buf_puts(b, "null");
    srv_buf_puts(b, ",\"error\":");
    srv_json_string(b, r->error);
    srv_buf_puts(b, "}");
}

int srv_api_index_status(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    srv_buf *b = srv_json(res, 200);
    pthread_mutex_lock(&ctx->run_lock);
    run_json(&ctx->run, b);
    pthread_mutex_unlock(&ctx->run_lock);
    srv_buf_puts(b, "\n");
    return 0;
}

static void on_progress(const fs_index_progress *p, void *arg)
{
    srv_ctx *ctx = arg;
    pthread_mutex_lock(&ctx->run_lock);
    ctx->run.progress = *p;
    ctx->run.version++;
    pthread_cond_broadcast(&ctx->run_changed);
    pthread_mutex_unlock(&ctx->run_lock);
}

static void on_problem(const char *message, void *arg)
{
    (void)arg;
    fprintf(stderr, "facesearch serve: index: %s\n", message);
}

typedef struct run_args {
    srv_ctx *ctx;
    fs_index *writer;
    char *folders[FS_SERVER_ROOTS_MAX];
    size_t n;
} run_args;

static void *run_thread(void *arg)
{
    run_args *a = arg;
    srv_ctx *ctx = a->ctx;
    fs_index_options opt = {.workers = ctx->cfg->workers, .stop = &ctx->run.stop,
                            .on_progress = on_progress, .on_problem = on_problem, .ctx = ctx};
    fs_index_progress summary = {0};
    fs_error err = {0};
    fs_status rc = fs_index_update(a->writer, (const char *const *)a->folders, a->n, &opt,
                                   &summary, &err);
    fs_index_close(a->writer);
    pthread_mutex_lock(&ctx->run_lock);
    ctx->run.progress = summary;
    if (rc) {
        ctx->run.state = RUN_FAILED;
        snprintf(ctx->run.error, sizeof ctx->run.error, "%s", err.message);
        fprintf(stderr, "facesearch serve: index run failed: %s\n", err.message);
    } else {
        ctx->run.state = ctx->run.stop ? RUN_CANCELLED : RUN_DONE;
    }
    ctx->run.version++;
    pthread_cond_broadcast(&ctx->run_changed);
    pthread_mutex_unlock(&ctx->run_lock);
    for (size_t i = 0; i < a->n; i++)
        free(a->folders[i]);
    free(a);
    return NULL;
}

/* The folders to index: the body's "folder" (under a root), else every root. */
static int run_folders(srv_ctx *ctx, const srv_request *req, run_args *a, srv_response *res)
{
    srv_params p = {0};
    if (req->body_len && srv_parse_json_object(req->body, req->body_len, &p)) {
        srv_params_free(&p);
        return srv_error(res, 400, "the body is not a JSON object of strings and numbers"), -1;
    }
    const char *folder = srv_params_get(&p, "folder");
    if (!folder)
        folder = srv_params_get(&req->query, "folder");
    fs_error err;
    int rc = 0;
    if (folder && *folder) {
        /* canonical: links and ".." resolved, so the check sees where the walk would go */
        struct stat st;
        if (folder[0] != '/' || fs_path_canonical(folder, &a->folders[0], &err) != FS_OK ||
            !srv_under_root(ctx, a->folders[0]) || stat(a->folders[0], &st) != 0 ||
            !S_ISDIR(st.st_mode))
            rc = (srv_error(res, 400, "folder: not a folder under the server's folders"), -1);
        else
            a->n = 1;
    } else {
        for (size_t i = 0; i < ctx->n_roots && rc == 0; i++)
            if (!(a->folders[a->n++] = strdup(ctx->roots[i])))
                rc = (srv_error(res, 503, "out of memory"), -1);
    }
    srv_params_free(&p);
    return rc;
}

int srv_api_index_start(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (req->body_too_large)
        return srv_error(res, 413, "the request body is too large");
    run_args *a = calloc(1, sizeof *a);
    if (!a)
        return srv_error(res, 503, "out of memory");
    a->ctx = ctx;
    if (run_folders(ctx, req, a, res))
        goto fail;
    pthread_mutex_lock(&ctx->run_lock);
    int running = ctx->run.state == RUN_RUNNING;
    int grouping = ctx->people.state == RUN_RUNNING;
    pthread_mutex_unlock(&ctx->run_lock);
    if (running) {
        srv_error(res, 409, "an index run is already active (see GET /api/v1/index)");
        goto fail;
    }
    if (grouping) {
        srv_error(res, 409, "a people update is running (see GET /api/v1/people/update)");
        goto fail;
    }
    fs_error err;
    /* the writer lock: fails at once while the tool (or anyone) indexes */
    if (fs_index_open(ctx->db_dir, ctx->engine, FS_INDEX_WRITE | FS_INDEX_EXISTING, &a->writer,
                      &err) != FS_OK) {
        srv_error_fs(res, &err);
        goto fail;
    }
    pthread_mutex_lock(&ctx->run_lock);
    if (ctx->run.joinable)
        pthread_join(ctx->run.thread, NULL);
    ctx->run.joinable = 0;
    ctx->run.state = RUN_RUNNING;
    ctx->run.stop = 0;
    ctx->run.error[0] = '\0';
    memset(&ctx->run.progress, 0, sizeof ctx->run.progress);
    snprintf(ctx->run.folder, sizeof ctx->run.folder, "%s", a->n == 1 ? a->folders[0] : "");
    ctx->run.version++;
    if (pthread_create(&ctx->run.thread, NULL, run_thread, a) != 0) {
        ctx->run.state = RUN_FAILED;
        pthread_mutex_unlock(&ctx->run_lock);
        fs_index_close(a->writer);
        srv_error(res, 503, "could not start the index run");
        goto fail;
    }
    ctx->run.joinable = 1;
    srv_buf *b = srv_json(res, 202);
    run_json(&ctx->run, b);
    pthread_mutex_unlock(&ctx->run_lock);
    srv_buf_puts(b, "\n");
    return 0;
fail:
    for (size_t i = 0; i < FS_SERVER_ROOTS_MAX; i++)
        free(a->folders[i]);
    free(a);
    return 0;
}

int srv_api_index_cancel(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    pthread_mutex_lock(&ctx->run_lock);
    int running = ctx->run.state == RUN_RUNNING;
    if (running)
        ctx->run.stop = 1;
    pthread_mutex_unlock(&ctx->run_lock);
    if (!running)
        return srv_error(res, 409, "no index run is active");
    return srv_api_index_status(ctx, req, res);
}

void srv_index_shutdown(srv_ctx *ctx)
{
    pthread_mutex_lock(&ctx->run_lock);
    ctx->run.stop = 1;
    int joinable = ctx->run.joinable;
    ctx->run.joinable = 0;
    pthread_cond_broadcast(&ctx->run_changed);
    pthread_mutex_unlock(&ctx->run_lock);
    if (joinable)
        pthread_join(ctx->run.thread, NULL);
}

/* ---- Server-Sent Events ------------------------------------------------------------------- */

typedef struct sse_state {
    srv_ctx *ctx;
    uint64_t seen;               /* the run version last sent */
    int sent_any, ended;
    int saw_running;             /* a run was active during the stream: it ends with the run */
    srv_buf pending;             /* an event not yet fully written */
    size_t off;
} sse_state;

static long sse_fill(void *arg, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    sse_state *s = arg;
    if (s->off == s->pending.len) {
        if (s->ended)
            return -1;
        srv_buf_free(&s->pending);
        s->off = 0;
        srv_ctx *ctx = s->ctx;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_mutex_lock(&ctx->run_lock);
        while (s->sent_any && ctx->run.version == s->seen && !ctx->stopping &&
               pthread_cond_timedwait(&ctx->run_changed, &ctx->run_lock, &until) == 0)
            ;
        int changed = !s->sent_any || ctx->run.version != s->seen;
        if (changed) {
            s->seen = ctx->run.version;
            s->sent_any = 1;
            srv_buf_puts(&s->pending, "event: progress\ndata: ");
            run_json(&ctx->run, &s->pending);
            srv_buf_puts(&s->pending, "\n\n");
            if (ctx->run.state == RUN_RUNNING)
                s->saw_running = 1;
            else
                s->ended = s->saw_running;
        } else if (ctx->stopping) {
            s->ended = 1;
        } else {
            srv_buf_puts(&s->pending, ": keep-alive\n\n"); /* notices a closed client */
        }
        pthread_mutex_unlock(&ctx->run_lock);
        if (s->pending.nomem)
            return -1;
        if (s->pending.len == 0)
            return -1;
    }
    size_t n = s->pending.len - s->off;
    if (n > max)
        n = max;
    memcpy(out, s->pending.data + s->off, n);
    s->off += n;
    return (long)n;
}

static void sse_release(void *arg)
{
    sse_state *s = arg;
    srv_buf_free(&s->pending);
    free(s);
}

int srv_api_index_events(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    sse_state *s = calloc(1, sizeof *s);
    if (!s)
        return srv_error(res, 503, "out of memory");
    s->ctx = ctx;
    res->status = 200;
    res->content_type = "text/event-stream";
    strcpy(res->cache_control, "no-cache");
    res->stream = (srv_stream){sse_fill, sse_release, s};
    return 0;
}
