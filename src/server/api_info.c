/*
 * api_info.c — GET /api/v1/health, /stats and /models: is the server up, what the index holds,
 * which model packs this machine has and which one the server uses.
 */
#include <string.h>

#include "srv.h"

int srv_api_health(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    srv_buf *b = srv_json(res, 200);
    srv_buf_puts(b, "{\"status\":\"ok\",\"version\":");
    srv_json_string(b, fs_version());
    srv_buf_puts(b, ",\"pack\":");
    srv_json_string(b, fs_pack_name(fs_engine_pack(ctx->engine)));
    srv_buf_printf(b, ",\"sharded\":%s}\n", ctx->cfg->search ? "true" : "false");
    return 0;
}

int srv_api_stats(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    fs_index_stats s;
    fs_error err;
    fs_index *ix = srv_reader_take(ctx);
    fs_status rc = fs_index_stats_get(ix, &s, &err);
    srv_reader_give(ctx, ix);
    if (rc)
        return srv_error_fs(res, &err);
    srv_buf *b = srv_json(res, 200);
    srv_buf_printf(b, "{\"files\":%lld,\"failed\":%lld,\"faces\":%lld,\"folders\":%lld,"
                      "\"bytes\":%lld,\"pack\":",
                   s.files, s.failed, s.faces, s.folders, s.bytes);
    srv_json_string(b, s.pack);
    srv_buf_puts(b, ",\"index\":");
    srv_json_string(b, ctx->db_dir);
    srv_buf_puts(b, ",\"roots\":[");
    for (size_t i = 0; i < ctx->n_roots; i++) {
        if (i)
            srv_buf_puts(b, ",");
        srv_json_string(b, ctx->roots[i]);
    }
    srv_buf_puts(b, "]}\n");
    return 0;
}

typedef struct pack_list {
    srv_buf *b;
    int n;
} pack_list;

static void add_pack(const char *name, const char *dir, void *ctx)
{
    pack_list *l = ctx;
    srv_buf_puts(l->b, l->n ? ",{\"name\":" : "{\"name\":");
    l->n++;
    srv_json_string(l->b, name);
    srv_buf_puts(l->b, ",\"dir\":");
    srv_json_string(l->b, dir);
    srv_buf_puts(l->b, "}");
}

int srv_api_models(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    const fs_pack *pack = fs_engine_pack(ctx->engine);
    srv_buf b = {0};
    pack_list l = {&b, 0};
    srv_buf_puts(&b, "{\"active\":{\"name\":");
    srv_json_string(&b, fs_pack_name(pack));
    srv_buf_puts(&b, ",\"threshold\":");
    srv_json_float(&b, fs_pack_threshold(pack));
    srv_buf_puts(&b, ",\"files\":[");
    for (size_t i = 0; i < fs_pack_file_count(pack); i++) {
        srv_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        srv_json_string(&b, fs_pack_file_name(pack, i));
        srv_buf_puts(&b, ",\"sha256\":");
        srv_json_string(&b, fs_pack_file_sha256(pack, i));
        srv_buf_puts(&b, "}");
    }
    srv_buf_puts(&b, "]},\"installed\":[");
    fs_error err;
    fs_status rc = fs_pack_list(add_pack, &l, &err);
    srv_buf_puts(&b, "]}\n");
    if (rc) {
        srv_buf_free(&b);
        return srv_error_fs(res, &err);
    }
    res->body = b;
    srv_json(res, 200);
    return 0;
}
