/*
 * api_search.c — searching the index: POST /api/v1/search with a photo (the raw body, or the
 * part "photo" of a multipart form) and GET /api/v1/faces/{id}/search by a face already indexed.
 * Fields (query string, or the form's other parts): threshold (default the pack's), top
 * (default 50, 0 = all), min_size (default 20), folder (a folder under a root; default all
 * roots), face (which face of the uploaded photo, 1-based; default the largest). Matches are
 * only ever photos under the roots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

#define TOP_DEFAULT 50
#define TOP_MAX 100000

typedef struct search_opts {
    float threshold;
    size_t top;
    int min_size;
    long face;                   /* 1-based; 0 = the largest */
    char *folder;                /* canonical, under a root; NULL = every root */
} search_opts;

static int read_opts(srv_ctx *ctx, const srv_params *p, search_opts *o, srv_response *res)
{
    long top, min_size;
    memset(o, 0, sizeof *o);
    if (srv_param_float(p, "threshold", -1, 1, ctx->threshold, &o->threshold))
        return srv_error(res, 400, "threshold: a number from -1 to 1"), -1;
    if (srv_param_long(p, "top", 0, TOP_MAX, TOP_DEFAULT, &top))
        return srv_error(res, 400, "top: a count from 0 (all) to %d", TOP_MAX), -1;
    if (srv_param_long(p, "min_size", 0, 100000, 20, &min_size))
        return srv_error(res, 400, "min_size: a number of pixels"), -1;
    if (srv_param_long(p, "face", 1, 100000, 0, &o->face))
        return srv_error(res, 400, "face: the number of a face of the photo, from 1"), -1;
    o->top = (size_t)top;
    o->min_size = (int)min_size;
    const char *folder = srv_params_get(p, "folder");
    if (folder && *folder) {
        fs_error err;
        if (folder[0] != '/' || fs_path_canonical(folder, &o->folder, &err) != FS_OK ||
            !srv_under_root(ctx, o->folder)) {
            free(o->folder);
            o->folder = NULL;
            return srv_error(res, 400, "folder: not a folder under the server's folders"), -1;
        }
    }
    return 0;
}

/* Runs the search with reader ix (or the sharded library's search) and writes "matches":[...]
 * (with the leading comma-free key). */
static int search_matches(srv_ctx *ctx, fs_index *ix, const fs_face *query, const search_opts *o,
                          srv_buf *b, fs_error *err)
{
    const char *folders[FS_SERVER_ROOTS_MAX];
    size_t n = 0;
    if (o->folder)
        folders[n++] = o->folder;
    else
        for (; n < ctx->n_roots; n++)
            folders[n] = ctx->roots[n];
    fs_matches m;
    const fs_server_config *cfg = ctx->cfg;
    fs_status rc =
        cfg->search ? cfg->search(cfg->search_ctx, query, folders, n, o->threshold, o->top,
                                  o->min_size, &m, err)
                    : fs_index_search_within(ix, query, 1, folders, n, o->threshold, o->top,
                                             o->min_size, &m, err);
    if (rc)
        return -1;
    srv_buf_puts(b, "\"matches\":[");
    size_t shown = 0;
    for (size_t i = 0; i < m.count; i++) {
        const fs_match *x = &m.items[i];
        /* the search looked under the roots by path: show only what lies under one */
        if (!srv_under_root(ctx, x->path))
            continue;
        srv_buf_printf(b, "%s{\"photo_id\":%lld,\"face_id\":%lld,\"face\":%d,\"similarity\":",
                       shown++ ? "," : "", (long long)x->photo_id, (long long)x->face_id,
                       x->face_number);
        srv_json_float(b, x->similarity);
        srv_buf_puts(b, ",\"path\":");
        srv_json_string(b, x->path);
        srv_buf_puts(b, ",");
        srv_json_face(b, &x->face);
        srv_buf_puts(b, "}");
    }
    srv_buf_printf(b, "],\"count\":%zu", shown);
    fs_matches_free(&m);
    return 0;
}

/* ---- by an uploaded photo ---------------------------------------------------------------- */

typedef struct upload {
    const char *data;
    size_t size;
    srv_params *fields;
    int bad;
} upload;

static int take_part(const srv_part *part, void *ctx)
{
    upload *u = ctx;
    if (strcmp(part->name, "photo") == 0) {
        u->data = part->data;
        u->size = part->size;
    } else if (part->name[0] && part->size < 4096) {
        char *v = malloc(part->size + 1);
        if (!v) {
            u->bad = 1;
            return 1;
        }
        memcpy(v, part->data, part->size);
        v[part->size] = '\0';
        size_t kn = strlen(part->name);
        if (u->fields->count < SRV_PARAMS_MAX) {
            char *k = malloc(kn + 1);
            if (!k) {
                free(v);
                u->bad = 1;
                return 1;
            }
            memcpy(k, part->name, kn + 1);
            u->fields->key[u->fields->count] = k;
            u->fields->value[u->fields->count++] = v;
        } else {
            free(v);
        }
    }
    return 0;
}

int srv_api_search_upload(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (req->body_too_large)
        return srv_error(res, 413, "the photo is larger than %zu bytes",
                         ctx->cfg->max_upload);
    srv_params fields = {0};
    for (size_t i = 0; i < req->query.count; i++) {
        fields.key[i] = strdup(req->query.key[i]);
        fields.value[i] = strdup(req->query.value[i]);
        fields.count = i + 1;
        if (!fields.key[i] || !fields.value[i]) {
            srv_params_free(&fields);
            return srv_error(res, 503, "out of memory");
        }
    }
    upload u = {.data = req->body, .size = req->body_len, .fields = &fields};
    char boundary[80];
    if (req->content_type && strncmp(req->content_type, "multipart/", 10) == 0) {
        u.data = NULL;
        u.size = 0;
        if (srv_multipart_boundary(req->content_type, boundary, sizeof boundary) ||
            !req->body ||
            srv_multipart_each(req->body, req->body_len, boundary, take_part, &u) < 0 ||
            u.bad) {
            srv_params_free(&fields);
            return srv_error(res, 400, "malformed multipart form");
        }
    }
    search_opts o;
    if (read_opts(ctx, &fields, &o, res)) {
        srv_params_free(&fields);
        return 0;
    }
    srv_params_free(&fields);
    if (!u.data || u.size == 0) {
        free(o.folder);
        return srv_error(res, 400, "no photo in the request (send it as the body, or as the "
                                   "form field 'photo')");
    }
    fs_error err;
    if (ctx->cfg->ready && ctx->cfg->ready(ctx->cfg->search_ctx, &err) != FS_OK) {
        free(o.folder); /* a part of the library is down: no photo detected for nothing */
        return srv_error_fs(res, &err);
    }
    int slot;
    fs_worker *w = srv_pool_take(ctx, &slot);
    if (!w) {
        free(o.folder);
        return srv_error(res, 503, "the server is busy; try again");
    }
    fs_faces faces = {0};
    fs_status rc = fs_detect_buffer(w, u.data, u.size, "uploaded photo", 1, &faces, &err);
    srv_pool_give(ctx, slot);
    if (rc) {
        free(o.folder);
        return srv_error_fs(res, &err);
    }
    long chosen = o.face ? o.face - 1 : fs_faces_largest(&faces);
    if (o.face && (size_t)o.face > faces.count) {
        free(o.folder);
        fs_faces_free(&faces);
        return srv_error(res, 400, "face: the photo has %zu face(s)", faces.count);
    }
    srv_buf *b = srv_json(res, 200);
    srv_buf_printf(b, "{\"query\":{\"width\":%d,\"height\":%d,\"face\":%ld,\"faces\":[",
                   faces.width, faces.height, chosen + 1);
    for (size_t i = 0; i < faces.count; i++) {
        srv_buf_puts(b, i ? ",{" : "{");
        srv_json_face(b, &faces.faces[i]);
        srv_buf_puts(b, "}");
    }
    srv_buf_puts(b, "]},\"threshold\":");
    srv_json_float(b, o.threshold);
    srv_buf_puts(b, ",");
    if (chosen < 0) {
        srv_buf_puts(b, "\"matches\":[],\"count\":0");
    } else {
        /* a sharded library is searched through cfg->search, with no reader */
        fs_index *ix = ctx->cfg->search ? NULL : srv_reader_take(ctx);
        int failed = search_matches(ctx, ix, &faces.faces[chosen], &o, b, &err);
        if (ix)
            srv_reader_give(ctx, ix);
        if (failed)
            srv_error_fs(res, &err);
    }
    if (res->status == 200)
        srv_buf_puts(b, "}\n");
    fs_faces_free(&faces);
    free(o.folder);
    return 0;
}

/* ---- by an indexed face ------------------------------------------------------------------- */

int srv_api_search_face(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    search_opts o;
    if (read_opts(ctx, &req->query, &o, res))
        return 0;
    int64_t id = strtoll(req->seg[3], NULL, 10);
    fs_matches one;
    fs_error err;
    /* one reader for the face and the search: a request waits in line once (a sharded library
     * is asked through fs_server_config, with no reader) */
    fs_index *ix = ctx->cfg->search ? NULL : srv_reader_take(ctx);
    fs_status rc = srv_face_by_id(ctx, ix, id, &one, &err);
    if (rc == FS_OK && !srv_under_root(ctx, one.items[0].path)) {
        fs_matches_free(&one);
        rc = FS_ERR_NOT_FOUND;
        snprintf(err.message, sizeof err.message, "face %lld: not under the server's folders",
                 (long long)id);
        err.code = rc;
    }
    if (rc) {
        if (ix)
            srv_reader_give(ctx, ix);
        free(o.folder);
        return srv_error_fs(res, &err);
    }
    srv_buf *b = srv_json(res, 200);
    srv_buf_printf(b, "{\"query\":{\"face_id\":%lld,\"photo_id\":%lld,\"face\":%d,",
                   (long long)id, (long long)one.items[0].photo_id, one.items[0].face_number);
    srv_json_face(b, &one.items[0].face);
    srv_buf_puts(b, "},\"threshold\":");
    srv_json_float(b, o.threshold);
    srv_buf_puts(b, ",");
    int failed = search_matches(ctx, ix, &one.items[0].face, &o, b, &err);
    if (ix)
        srv_reader_give(ctx, ix);
    if (failed)
        srv_error_fs(res, &err);
    if (res->status == 200)
        srv_buf_puts(b, "}\n");
    fs_matches_free(&one);
    free(o.folder);
    return 0;
}
