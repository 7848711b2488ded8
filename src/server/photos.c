/*
 * photos.c — photos and faces by id: GET /api/v1/photos/{id} (what the index holds, with the
 * upright size), /photos/{id}/image (the upright photo), /photos/{id}/thumbnail?size=N (cached
 * on disk beside the index, keyed by the file's size and mtime so that a changed photo gets a new
 * one), /faces/{id} and /faces/{id}/crop?size=N. A photo is read only if the index holds it and
 * its real path lies under a root; the request never names a path. On a sharded library the ids
 * are the library's, and photos and faces come from the rank that holds them
 * (fs_server_config.photo and .face).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srv.h"

#define THUMB_MIN 16
#define THUMB_MAX 2048
#define THUMB_DEFAULT 320

int srv_under_root(const srv_ctx *ctx, const char *canon)
{
    for (size_t i = 0; i < ctx->n_roots; i++) {
        const char *r = ctx->roots[i];
        size_t n = strlen(r);
        if (strncmp(canon, r, n) == 0 &&
            (canon[n] == '\0' || canon[n] == '/' || (n == 1 && r[0] == '/')))
            return 1;
    }
    return 0;
}

int srv_path_allowed(const srv_ctx *ctx, const char *path)
{
    char *real = realpath(path, NULL);
    int ok = real && strcmp(real, path) == 0 && srv_under_root(ctx, real);
    free(real);
    return ok;
}

static int64_t id_of(const srv_request *req)
{
    return strtoll(req->seg[3], NULL, 10); /* routes.c let only a decimal id through */
}

/* A sharded library served without a way to its photos or faces by id (fs_server_config). */
static fs_status no_lookup(fs_error *err)
{
    snprintf(err->message, sizeof err->message,
             "not available on this sharded library: no lookup of photos and faces by id");
    return err->code = FS_ERR_UNSUPPORTED;
}

fs_status srv_photo_by_id(srv_ctx *ctx, int64_t id, fs_photo *out, fs_error *err)
{
    const fs_server_config *cfg = ctx->cfg;
    if (cfg->photo)
        return cfg->photo(cfg->search_ctx, id, out, err);
    if (cfg->search)
        return no_lookup(err);
    fs_index *ix = srv_reader_take(ctx);
    fs_status rc = fs_index_photo(ix, id, out, err);
    srv_reader_give(ctx, ix);
    return rc;
}

fs_status srv_face_by_id(srv_ctx *ctx, fs_index *ix, int64_t id, fs_matches *out, fs_error *err)
{
    const fs_server_config *cfg = ctx->cfg;
    if (cfg->face)
        return cfg->face(cfg->search_ctx, id, out, err);
    if (cfg->search)
        return no_lookup(err);
    fs_index *own = ix ? ix : srv_reader_take(ctx);
    fs_status rc = fs_index_face(own, id, out, err);
    if (!ix)
        srv_reader_give(ctx, own);
    return rc;
}

/* The indexed photo of the request's id, if the server may show it; else an error response. */
static int photo_of(srv_ctx *ctx, int64_t id, fs_photo *photo, srv_response *res)
{
    fs_error err;
    fs_status rc = srv_photo_by_id(ctx, id, photo, &err);
    if (rc)
        return srv_error_fs(res, &err), -1;
    if (!srv_path_allowed(ctx, photo->path)) {
        fs_photo_free(photo);
        return srv_error(res, 404, "photo %lld: not under the server's folders", (long long)id),
               -1;
    }
    return 0;
}

/* A JPEG (malloc'd) as the response body. */
static void jpeg_body(srv_response *res, unsigned char *jpeg, size_t size)
{
    res->status = 200;
    res->content_type = "image/jpeg";
    res->body.data = (char *)jpeg;
    res->body.len = res->body.cap = size;
    strcpy(res->cache_control, "private, max-age=60");
}

/* Renders a picture of path with a worker slot held (the cap on heavy requests). */
static int render(srv_ctx *ctx, const char *path, const float *region, int size, srv_response *res,
                  unsigned char **jpeg, size_t *len)
{
    int slot;
    if (!srv_pool_take(ctx, &slot))
        return srv_error(res, 503, "the server is busy; try again"), -1;
    fs_error err;
    fs_status rc = fs_photo_jpeg(path, region, size, 0, jpeg, len, NULL, NULL, &err);
    srv_pool_give(ctx, slot);
    if (rc)
        return srv_error_fs(res, &err), -1;
    return 0;
}

int srv_api_photo(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    fs_photo p;
    if (photo_of(ctx, id_of(req), &p, res))
        return 0;
    int w = 0, h = 0;
    fs_error err;
    if (fs_image_size(p.path, &w, &h, &err) != FS_OK)
        w = h = 0; /* unreadable now: the record is still shown */
    srv_buf *b = srv_json(res, 200);
    srv_buf_printf(b, "{\"id\":%lld,\"path\":", (long long)p.id);
    srv_json_string(b, p.path);
    srv_buf_printf(b, ",\"width\":%d,\"height\":%d,\"failed\":%s,\"faces\":[", w, h,
                   p.failed ? "true" : "false");
    for (size_t i = 0; i < p.faces.count; i++) {
        const fs_match *m = &p.faces.items[i];
        srv_buf_printf(b, "%s{\"face_id\":%lld,\"face\":%d,", i ? "," : "", (long long)m->face_id,
                       m->face_number);
        srv_json_face(b, &m->face);
        srv_buf_puts(b, "}");
    }
    srv_buf_puts(b, "]}\n");
    fs_photo_free(&p);
    return 0;
}

int srv_api_photo_image(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    fs_photo p;
    if (photo_of(ctx, id_of(req), &p, res))
        return 0;
    unsigned char *jpeg;
    size_t len;
    if (render(ctx, p.path, NULL, 0, res, &jpeg, &len) == 0)
        jpeg_body(res, jpeg, len);
    fs_photo_free(&p);
    return 0;
}

/* Reads a whole cached file; NULL if absent. */
static unsigned char *read_cached(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    struct stat st;
    unsigned char *data = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        st.st_size < 64 << 20 && (data = malloc((size_t)st.st_size))) {
        ssize_t n = read(fd, data, (size_t)st.st_size);
        if (n != st.st_size) {
            free(data);
            data = NULL;
        }
        *len = (size_t)st.st_size;
    }
    close(fd);
    return data;
}

/* Drops the thumbnails of size px of a photo other than keep (a changed photo's old ones). */
static void drop_stale(const char *dir, const char *prefix, const char *keep)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    size_t pn = strlen(prefix);
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, pn) == 0 && strcmp(e->d_name, keep) != 0) {
            char path[8192];
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
                unlink(path);
        }
    closedir(d);
}

/* Stores a thumbnail: a temporary file (one per thread: two requests may make the same one)
 * renamed into place, so readers never see half of one. */
static void store_cached(const char *dir, const char *name, const unsigned char *data, size_t n)
{
    char path[8192], tmp[8300];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s.tmp-%ld-%lx", path, (long)getpid(),
                 (unsigned long)pthread_self()) >= (int)sizeof tmp)
        return;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return;
    int ok = write(fd, data, n) == (ssize_t)n;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}

int srv_api_photo_thumbnail(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    long size;
    if (srv_param_long(&req->query, "size", THUMB_MIN, THUMB_MAX, THUMB_DEFAULT, &size))
        return srv_error(res, 400, "size: a number of pixels from %d to %d", THUMB_MIN,
                         THUMB_MAX);
    fs_photo p;
    if (photo_of(ctx, id_of(req), &p, res))
        return 0;
    struct stat st;
    if (stat(p.path, &st) != 0) {
        fs_photo_free(&p);
        return srv_error(res, 404, "photo %lld: its file is gone", (long long)id_of(req));
    }
    /* the key: photo, size, and the file as it is now (a changed file gets a new name) */
    char dir[4400], prefix[64], name[160];
    snprintf(dir, sizeof dir, "%s/%lld", ctx->cache_dir, (long long)p.id);
    snprintf(prefix, sizeof prefix, "%ld-", size);
    snprintf(name, sizeof name, "%ld-%lld-%lld.%09ld.jpg", size, (long long)st.st_size,
             (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    unsigned char *jpeg = read_cached(path, &len);
    if (jpeg) {
        jpeg_body(res, jpeg, len);
        fs_photo_free(&p);
        return 0;
    }
    if (render(ctx, p.path, NULL, (int)size, res, &jpeg, &len) == 0) {
        if ((mkdir(ctx->cache_dir, 0755) == 0 || errno == EEXIST) &&
            (mkdir(dir, 0755) == 0 || errno == EEXIST)) {
            drop_stale(dir, prefix, name);
            store_cached(dir, name, jpeg, len);
        }
        jpeg_body(res, jpeg, len);
    }
    fs_photo_free(&p);
    return 0;
}

/* The face of the request's id, if its photo may be shown; else an error response. */
static int face_of(srv_ctx *ctx, const srv_request *req, fs_matches *one, srv_response *res)
{
    fs_error err;
    int64_t id = id_of(req);
    fs_status rc = srv_face_by_id(ctx, NULL, id, one, &err);
    if (rc)
        return srv_error_fs(res, &err), -1;
    if (!srv_path_allowed(ctx, one->items[0].path)) {
        fs_matches_free(one);
        return srv_error(res, 404, "face %lld: not under the server's folders", (long long)id),
               -1;
    }
    return 0;
}

int srv_api_face(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    fs_matches one;
    if (face_of(ctx, req, &one, res))
        return 0;
    const fs_match *m = &one.items[0];
    srv_buf *b = srv_json(res, 200);
    srv_buf_printf(b, "{\"face_id\":%lld,\"photo_id\":%lld,\"face\":%d,\"path\":",
                   (long long)m->face_id, (long long)m->photo_id, m->face_number);
    srv_json_string(b, m->path);
    srv_buf_puts(b, ",");
    srv_json_face(b, &m->face);
    srv_buf_puts(b, "}\n");
    fs_matches_free(&one);
    return 0;
}

int srv_api_face_crop(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    long size;
    if (srv_param_long(&req->query, "size", THUMB_MIN, THUMB_MAX, 160, &size))
        return srv_error(res, 400, "size: a number of pixels from %d to %d", THUMB_MIN,
                         THUMB_MAX);
    fs_matches one;
    if (face_of(ctx, req, &one, res))
        return 0;
    const float *b = one.items[0].face.box;
    float mw = (b[2] - b[0]) / 4, mh = (b[3] - b[1]) / 4;
    float region[4] = {b[0] - mw, b[1] - mh, b[2] + mw, b[3] + mh};
    unsigned char *jpeg;
    size_t len;
    if (render(ctx, one.items[0].path, region, (int)size, res, &jpeg, &len) == 0)
        jpeg_body(res, jpeg, len);
    fs_matches_free(&one);
    return 0;
}
