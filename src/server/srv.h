/*
 * srv.h — what the files of src/server/ share: the running server (srv_ctx), one request and
 * its response as handlers see them, and each file's entry points. Ownership: the listener
 * (http.c) owns requests and responses; handlers fill a response's body (srv_buf, owned by the
 * response) or name a static one.
 */
#ifndef FS_SERVER_SRV_H
#define FS_SERVER_SRV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "facesearch.h"
#include "buf.h"
#include "parse.h"
#include "facesearch_server.h"

/* An index run started from the API (api_index.c). Guarded by srv_ctx.run_lock. */
typedef enum srv_run_state { RUN_IDLE, RUN_RUNNING, RUN_DONE, RUN_CANCELLED, RUN_FAILED }
    srv_run_state;

typedef struct srv_index_run {
    srv_run_state state;
    char folder[4096];
    fs_index_progress progress;
    volatile int stop;           /* set by cancel: the run finishes its batch and stops */
    char error[512];
    uint64_t version;            /* bumped at every change: SSE clients wait for it */
    pthread_t thread;
    int joinable;
} srv_index_run;

/* A people update (grouping) started from the API (api_people.c): one at a time, never with an
 * index run (both need the index's writer). Guarded by srv_ctx.run_lock. */
typedef struct srv_people_run {
    srv_run_state state;         /* RUN_IDLE, RUN_RUNNING, RUN_DONE or RUN_FAILED */
    int rebuild;
    fs_people_progress progress; /* the last reported (stage: a static string, or NULL) */
    fs_people_summary summary;   /* when done */
    char error[512];
    pthread_t thread;
    int joinable;
} srv_people_run;

typedef struct srv_ctx {
    const fs_server_config *cfg;
    char db_dir[4096];
    char cache_dir[4200];        /* thumbnails: db_dir/thumbnails */
    char *roots[FS_SERVER_ROOTS_MAX];  /* canonical (realpath) */
    size_t n_roots;
    fs_engine *engine;
    float threshold;             /* the pack's */

    /* readers of the index, each used by one request at a time (readers.c) */
    pthread_mutex_t readers_lock;
    pthread_cond_t reader_free;
    fs_index **readers;
    int *reader_busy;
    int n_readers;
    uint64_t reader_next_ticket, reader_serving;  /* first come, first served */

    /* heavy requests: at most n_workers at once, each with a worker; a few more wait */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_free;
    fs_worker **workers;
    int *busy;
    int n_workers, waiting;

    pthread_mutex_t run_lock;
    pthread_cond_t run_changed;
    srv_index_run run;
    srv_people_run people;
    volatile int stopping;       /* the server is shutting down */
} srv_ctx;

/* A request as handlers see it. */
typedef struct srv_request {
    const char *method;
    char **seg;                  /* decoded path segments */
    size_t n_seg;
    srv_params query;            /* query-string fields */
    const char *content_type;    /* may be NULL */
    const char *body;            /* the whole body (NULL if none) */
    size_t body_len;
    int body_too_large;
} srv_request;

/* A streamed response (SSE): fill writes at most max bytes into out and returns the count, 0 to
 * wait and try again, -1 to end the stream. */
typedef struct srv_stream {
    long (*fill)(void *state, uint64_t pos, char *out, size_t max);
    void (*release)(void *state);
    void *state;
} srv_stream;

typedef struct srv_response {
    int status;
    const char *content_type;
    srv_buf body;                /* owned */
    const char *static_body;     /* instead of body: static data (the page's files) */
    size_t static_len;
    char cache_control[64];
    char set_cookie[256];
    char error[600];             /* the message of an error response, for the log line */
    srv_stream stream;           /* stream.fill set: a streamed response */
} srv_response;

/* ---- responses (respond.c) ----------------------------------------------------------------- */

/* An error response: JSON {"error": "...", "code": status}. Returns 0. */
int srv_error(srv_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The HTTP status for a library status (FS_ERR_NOT_FOUND 404, FS_ERR_LIMIT 413, FS_ERR_BUSY 409,
 * bad input 400, FS_ERR_NOMEM and FS_ERR_UNAVAILABLE 503, the rest 500). */
int srv_status_of(fs_status rc);
/* An error response from a library error. Returns 0. */
int srv_error_fs(srv_response *res, const fs_error *err);
/* Starts a JSON body (content type set). */
srv_buf *srv_json(srv_response *res, int status);
/* A face's geometry: "box":[...],"landmarks":[[x,y],...],"score":s (no braces). */
void srv_json_face(srv_buf *b, const fs_face *f);

/* Integer and float query fields: absent -> def; malformed or out of range -> -1. */
int srv_param_long(const srv_params *p, const char *key, long lo, long hi, long def, long *out);
int srv_param_float(const srv_params *p, const char *key, float lo, float hi, float def,
                    float *out);

/* ---- auth.c ---------------------------------------------------------------------------------- */

/* 1 when the token is not required or the request carries it (header X-Facesearch-Token,
 * Authorization: Bearer, or cookie facesearch_token), compared in constant time. */
int srv_auth_ok(const srv_ctx *ctx, const char *header_token, const char *bearer,
                const char *cookie_header);
/* Constant-time comparison of two NUL-terminated strings (time depends only on their lengths). */
int srv_token_equal(const char *a, const char *b);
/* POST /api/v1/login {"token": "..."}: sets the cookie when right. */
int srv_api_login(srv_ctx *ctx, const srv_request *req, srv_response *res);

/* ---- pool.c ---------------------------------------------------------------------------------- */

/* Takes a free worker for a heavy request, waiting up to a few seconds if all are busy (and at
 * most a few requests wait); NULL when the server is too busy (respond 503). */
fs_worker *srv_pool_take(srv_ctx *ctx, int *slot);
void srv_pool_give(srv_ctx *ctx, int slot);
int srv_pool_open(srv_ctx *ctx, fs_error *err);
void srv_pool_close(srv_ctx *ctx);

/* ---- readers.c ------------------------------------------------------------------------------ */

/* Opens n readers of the index at ctx->db_dir (searches map the vector files, so readers share
 * them). 0, or -1 with err filled. */
int srv_readers_open(srv_ctx *ctx, int n, fs_error *err);
void srv_readers_close(srv_ctx *ctx);
/* A reader for one request (waits while all are in use, first come first served; searches take
 * a millisecond). */
fs_index *srv_reader_take(srv_ctx *ctx);
void srv_reader_give(srv_ctx *ctx, fs_index *reader);

/* ---- photos (photos.c) ----------------------------------------------------------------------- */

/* A photo or face by id: from the index (ix, or a reader taken for the call when NULL), or from
 * the sharded library's rank that holds it (fs_server_config.photo, .face; ix NULL). */
fs_status srv_photo_by_id(srv_ctx *ctx, int64_t id, fs_photo *out, fs_error *err);
fs_status srv_face_by_id(srv_ctx *ctx, fs_index *ix, int64_t id, fs_matches *out, fs_error *err);

/* Whether path (from the index) is a photo the server may show: its real path is itself (no
 * link) and lies under a root. */
int srv_path_allowed(const srv_ctx *ctx, const char *path);
/* Whether a canonical path is under (or equal to) one of the roots. */
int srv_under_root(const srv_ctx *ctx, const char *canon);

/* ---- API areas: each handler fills res and returns 0 --------------------------------------- */
int srv_api_health(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_stats(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_models(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_search_upload(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_search_face(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_photo(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_photo_image(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_photo_thumbnail(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_face(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_face_crop(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_index_status(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_index_start(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_index_cancel(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_index_events(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_people_list(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_person(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_people_unsure(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_people_update(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_people_update_status(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_person_name(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_person_merge(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_face_move(srv_ctx *ctx, const srv_request *req, srv_response *res);
int srv_api_face_reject(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* Stops a running index run and waits for it (shutdown). */
void srv_index_shutdown(srv_ctx *ctx);
/* Waits for a running people update to finish (shutdown; it is one transaction). */
void srv_people_shutdown(srv_ctx *ctx);

/* ---- routes.c, assets.c ---------------------------------------------------------------------- */

/* Finds the handler for the request and runs it (404 / 405 when there is none). */
int srv_route(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* The page's file at name ("" = index.html): 1 and its data, or 0. */
int srv_asset(const char *name, const char **data, size_t *len, const char **type);

#endif
