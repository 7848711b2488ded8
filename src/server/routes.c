/*
 * routes.c — which handler answers which request: a table of methods and path patterns
 * ("{id}" matches a positive decimal number, nothing else), the page's files for everything that
 * is not the API, 404 for an unknown path and 405 for a known path with another method. Serving
 * a sharded library (fs_server_config.search), searches, photos, faces and people by (library)
 * id, people's names and their grouping work; what needs one index's writer or stats answers 501
 * saying which command does it instead.
 */
#include <string.h>

#include "srv.h"

typedef int (*srv_handler)(srv_ctx *ctx, const srv_request *req, srv_response *res);

typedef struct route {
    const char *method;
    const char *pattern[6];      /* segments after /api/v1; NULL-terminated */
    srv_handler run;
    const char *unsharded;       /* NULL: answers on a sharded library too; else why not */
} route;

/* Why an endpoint answers 501 on a sharded library. */
#define NO_RUNS "index runs and statistics are each shard's: run `mpirun -np N facesearch index " \
                "--shards DIR ROOT...`, or look at one shard with --db DIR/shard-NNN"

static const route ROUTES[] = {
    {"GET", {"health", NULL}, srv_api_health, NULL},
    {"GET", {"stats", NULL}, srv_api_stats, NO_RUNS},
    {"GET", {"models", NULL}, srv_api_models, NULL},
    {"POST", {"login", NULL}, srv_api_login, NULL},
    {"POST", {"search", NULL}, srv_api_search_upload, NULL},
    {"GET", {"faces", "{id}", "search", NULL}, srv_api_search_face, NULL},
    {"GET", {"faces", "{id}", "crop", NULL}, srv_api_face_crop, NULL},
    {"GET", {"faces", "{id}", NULL}, srv_api_face, NULL},
    {"POST", {"faces", "{id}", "move", NULL}, srv_api_face_move, NULL},
    {"POST", {"faces", "{id}", "reject", NULL}, srv_api_face_reject, NULL},
    {"GET", {"photos", "{id}", "thumbnail", NULL}, srv_api_photo_thumbnail, NULL},
    {"GET", {"photos", "{id}", "image", NULL}, srv_api_photo_image, NULL},
    {"GET", {"photos", "{id}", NULL}, srv_api_photo, NULL},
    {"GET", {"index", NULL}, srv_api_index_status, NO_RUNS},
    {"POST", {"index", NULL}, srv_api_index_start, NO_RUNS},
    {"DELETE", {"index", NULL}, srv_api_index_cancel, NO_RUNS},
    {"GET", {"index", "events", NULL}, srv_api_index_events, NO_RUNS},
    {"GET", {"people", NULL}, srv_api_people_list, NULL},
    {"POST", {"people", "update", NULL}, srv_api_people_update, NULL},
    {"GET", {"people", "update", NULL}, srv_api_people_update_status, NULL},
    {"GET", {"people", "unsure", NULL}, srv_api_people_unsure, NULL},
    {"GET", {"people", "{id}", NULL}, srv_api_person, NULL},
    {"POST", {"people", "{id}", "name", NULL}, srv_api_person_name, NULL},
    {"POST", {"people", "{id}", "merge", NULL}, srv_api_person_merge, NULL},
};

/* A positive decimal id of at most 18 digits. */
static int is_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18 || s[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int matches(const route *r, char *const *seg, size_t n)
{
    size_t k = 0;
    for (; r->pattern[k]; k++) {
        if (k >= n)
            return 0;
        if (strcmp(r->pattern[k], "{id}") == 0 ? !is_id(seg[k]) : strcmp(r->pattern[k], seg[k]))
            return 0;
    }
    return k == n;
}

static int serve_asset(const srv_request *req, srv_response *res)
{
    const char *name = req->n_seg == 0 ? "" : req->n_seg == 1 ? req->seg[0] : NULL;
    const char *data, *type;
    size_t len;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return srv_error(res, 405, "%s: method not allowed", req->method);
    if (!name || !srv_asset(name, &data, &len, &type))
        return srv_error(res, 404, "no such page");
    res->status = 200;
    res->content_type = type;
    res->static_body = data;
    res->static_len = len;
    strcpy(res->cache_control, "no-cache");
    return 0;
}

int srv_route(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (req->n_seg < 2 || strcmp(req->seg[0], "api") || strcmp(req->seg[1], "v1"))
        return serve_asset(req, res);
    char *const *seg = req->seg + 2;
    size_t n = req->n_seg - 2;
    int path_known = 0;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (!matches(&ROUTES[i], seg, n))
            continue;
        path_known = 1;
        if (strcmp(ROUTES[i].method, req->method) != 0)
            continue;
        if (ctx->cfg->search && ROUTES[i].unsharded)
            return srv_error(res, 501, "not available on a sharded library (serve --shards): %s",
                             ROUTES[i].unsharded);
        return ROUTES[i].run(ctx, req, res);
    }
    if (path_known)
        return srv_error(res, 405, "%s: method not allowed here", req->method);
    return srv_error(res, 404, "no such API endpoint");
}
