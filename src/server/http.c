/*
 * http.c — the listener (libmicrohttpd, a thread per connection): per-request state from the raw
 * request target, the body read up to the upload limit (a larger one answered 413 before it is
 * read, or discarded and then answered 413 when it comes chunked), the token checked before
 * anything else, the request routed (routes.c), the response sent with headers that keep the page
 * to its own origin, and one log line per error. A client that goes away mid-upload or
 * mid-response only ends its own request: its state is freed when libmicrohttpd says the request
 * is over (request_done).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http.h"

#define DISCARD_FACTOR 4      /* a chunked body this many times the limit closes the connection */

typedef struct conn_state {
    char *target;             /* the raw request target (path and query), as sent */
    srv_buf body;
    size_t discarded;
    int started, too_large, answered;
} conn_state;

/* libmicrohttpd's first call for a request: the raw target, before any decoding. */
static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
    (void)cls;
    (void)con;
    conn_state *s = calloc(1, sizeof *s);
    if (s && !(s->target = strdup(uri))) {
        free(s);
        s = NULL;
    }
    return s; /* NULL: the access handler answers 503 */
}

static void request_done(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)con;
    (void)why;
    conn_state *s = *con_cls;
    if (!s)
        return;
    free(s->target);
    srv_buf_free(&s->body);
    free(s);
    *con_cls = NULL;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    srv_stream *st = cls;
    long n = st->fill(st->state, pos, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void stream_free(void *cls)
{
    srv_stream *st = cls;
    st->release(st->state);
    free(st);
}

static void log_error(const char *method, const char *target, const srv_response *res)
{
    /* the target as sent, cut and without control characters: a log line stays one line */
    char shown[200];
    size_t n = 0;
    for (; target[n] && n + 1 < sizeof shown; n++)
        shown[n] = (unsigned char)target[n] < 0x20 || target[n] == 0x7f ? '?' : target[n];
    shown[n] = '\0';
    fprintf(stderr, "facesearch serve: %s %s -> %d %s\n", method, shown, res->status, res->error);
}

static enum MHD_Result send_response(struct MHD_Connection *con, srv_response *res)
{
    struct MHD_Response *r;
    if (res->stream.fill) {
        srv_stream *st = malloc(sizeof *st);
        if (!st) {
            res->stream.release(res->stream.state);
            return MHD_NO;
        }
        *st = res->stream;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, st,
                                              stream_free);
        if (!r)
            stream_free(st);
    } else if (res->static_body) {
        r = MHD_create_response_from_buffer(res->static_len, (void *)res->static_body,
                                            MHD_RESPMEM_PERSISTENT);
    } else if (res->body.nomem) {
        srv_buf_free(&res->body);
        static const char oom[] = "{\"error\":\"out of memory\",\"code\":503}\n";
        res->status = 503;
        res->content_type = "application/json";
        r = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    } else {
        r = MHD_create_response_from_buffer(res->body.len, res->body.data,
                                            MHD_RESPMEM_MUST_FREE);
        if (r)
            res->body.data = NULL; /* libmicrohttpd frees it */
    }
    srv_buf_free(&res->body);
    if (!r)
        return MHD_NO;
    if (res->content_type)
        MHD_add_response_header(r, "Content-Type", res->content_type);
    MHD_add_response_header(r, "Cache-Control", res->cache_control[0] ? res->cache_control
                                                                       : "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' blob: data:; "
                            "style-src 'self'; script-src 'self'; frame-ancestors 'none'");
    if (res->set_cookie[0])
        MHD_add_response_header(r, "Set-Cookie", res->set_cookie);
    enum MHD_Result ok = MHD_queue_response(con, (unsigned)res->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Answers with an error right away (before the body is read). */
static enum MHD_Result answer_error(struct MHD_Connection *con, conn_state *s, const char *method,
                                    int status, const char *message)
{
    srv_response res = {0};
    srv_error(&res, status, "%s", message);
    log_error(method, s ? s->target : "?", &res);
    if (s)
        s->answered = 1;
    return send_response(con, &res);
}

static int is_api(const char *target)
{
    return strncmp(target, "/api/", 5) == 0;
}

static int authorised(srv_ctx *ctx, struct MHD_Connection *con, const char *target)
{
    if (!ctx->cfg->token)
        return 1;
    /* the page and the login itself are open; every other API call needs the token */
    if (!is_api(target) || strncmp(target, "/api/v1/login", 13) == 0)
        return 1;
    return srv_auth_ok(ctx, MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-Facesearch-Token"),
                       MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization"),
                       MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Cookie"));
}

/* Takes a chunk of the body, up to the limit; past it the rest is counted and dropped. */
static int take_body(srv_ctx *ctx, conn_state *s, const char *data, size_t n)
{
    if (!s->too_large && s->body.len + n > ctx->cfg->max_upload)
        s->too_large = 1;
    if (s->too_large) {
        s->discarded += n;
        return s->discarded <= ctx->cfg->max_upload * DISCARD_FACTOR ? 0 : -1;
    }
    srv_buf_add(&s->body, data, n);
    return 0;
}

static enum MHD_Result handle(srv_ctx *ctx, struct MHD_Connection *con, conn_state *s,
                              const char *method)
{
    char *buf = malloc(strlen(s->target) + 1);
    char *seg[SRV_SEGMENTS_MAX];
    srv_request req = {.method = method, .seg = seg};
    srv_response res = {0};
    if (!buf) {
        srv_error(&res, 503, "out of memory");
    } else if (srv_parse_target(s->target, buf, seg, &req.n_seg, &req.query)) {
        srv_error(&res, 400, "malformed request path or query string");
    } else {
        req.content_type = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
        req.body = s->body.len ? s->body.data : NULL;
        req.body_len = s->body.len;
        req.body_too_large = s->too_large;
        if (s->body.nomem)
            srv_error(&res, 503, "out of memory");
        else
            srv_route(ctx, &req, &res);
    }
    if (res.status >= 400)
        log_error(method, s->target, &res);
    enum MHD_Result ok = send_response(con, &res);
    srv_params_free(&req.query);
    free(buf);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)version;
    srv_ctx *ctx = cls;
    conn_state *s = *con_cls;
    if (!s)
        return answer_error(con, NULL, method, 503, "out of memory");
    if (s->answered) { /* answered early: the rest of the body is dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (!s->started) {
        s->started = 1;
        if (!authorised(ctx, con, s->target))
            return answer_error(con, s, method, 401, "a token is needed (log in on the page)");
        const char *len = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
        if (len && strtoull(len, NULL, 10) > ctx->cfg->max_upload)
            return answer_error(con, s, method, 413, "the request body is too large");
        return MHD_YES;
    }
    if (*upload_size) {
        int rc = take_body(ctx, s, upload, *upload_size);
        *upload_size = 0;
        return rc ? MHD_NO : MHD_YES;
    }
    return handle(ctx, con, s, method);
}

struct MHD_Daemon *srv_listen(srv_ctx *ctx, const struct sockaddr *addr, int *port)
{
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
            (addr->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, on_request, ctx, MHD_OPTION_SOCK_ADDR, addr,
        MHD_OPTION_URI_LOG_CALLBACK, uri_logger, ctx, MHD_OPTION_NOTIFY_COMPLETED, request_done,
        ctx, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_CONNECTION_LIMIT, 128u, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d)
        return NULL;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    return d;
}
