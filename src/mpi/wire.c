/*
 * wire.c — the bytes that go between ranks (mpi_internal.h): growable output, bounded input,
 * and the matches of a search as sent from a rank to rank 0 (search --shards, serve --shards),
 * a shard's people units, the units the library knows, and a person's faces (people --shards).
 * Ranks run the same build on machines of one kind, so numbers go in the machine's own layout.
 */
#include "mpi_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

fs_status mpi_fail(fs_error *err, fs_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

double mpi_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void wire_put(wbuf *w, const void *p, size_t n)
{
    if (w->nomem || n == 0)
        return; /* p may be NULL: no bytes */
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        unsigned char *grown = realloc(w->data, cap);
        if (!grown) {
            w->nomem = 1;
            return;
        }
        w->data = grown;
        w->cap = cap;
    }
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

void wire_get(rbuf *r, void *p, size_t n)
{
    if (n == 0)
        return; /* p may be NULL: no bytes */
    if (r->bad || n > r->left) {
        r->bad = 1;
        memset(p, 0, n);
        return;
    }
    memcpy(p, r->p, n);
    r->p += n;
    r->left -= n;
}

char *wire_get_string(rbuf *r)
{
    const unsigned char *end = r->bad ? NULL : memchr(r->p, '\0', r->left);
    if (!end) {
        r->bad = 1;
        return NULL;
    }
    size_t n = (size_t)(end - r->p) + 1;
    char *s = malloc(n);
    if (s)
        memcpy(s, r->p, n);
    r->p += n;
    r->left -= n;
    return s;
}

void wire_put_matches(wbuf *w, const fs_matches *mt)
{
    uint64_t head[4] = {mt->count, mt->files, mt->files_failed, mt->faces};
    wire_put(w, head, sizeof head);
    for (size_t i = 0; i < mt->count; i++) {
        const fs_match *x = &mt->items[i];
        wire_put(w, &x->similarity, sizeof x->similarity);
        wire_put(w, &x->face_number, sizeof x->face_number);
        wire_put(w, &x->photo_id, sizeof x->photo_id);
        wire_put(w, &x->face_id, sizeof x->face_id);
        wire_put(w, x->face.box, sizeof x->face.box);
        wire_put(w, x->face.landmarks, sizeof x->face.landmarks);
        wire_put(w, &x->face.score, sizeof x->face.score);
        wire_put(w, &x->face.quality, sizeof x->face.quality);
        wire_put(w, x->path, strlen(x->path) + 1);
    }
}

fs_status wire_get_matches(rbuf *r, fs_matches *mt, fs_error *err)
{
    uint64_t head[4];
    memset(mt, 0, sizeof *mt);
    wire_get(r, head, sizeof head);
    if (r->bad || head[0] > r->left)
        return mpi_fail(err, FS_ERR_INTERNAL, "malformed search results");
    mt->files = (size_t)head[1];
    mt->files_failed = (size_t)head[2];
    mt->faces = (size_t)head[3];
    if (head[0] && !(mt->items = calloc((size_t)head[0], sizeof *mt->items)))
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; i < head[0]; i++) {
        fs_match *x = &mt->items[mt->count];
        wire_get(r, &x->similarity, sizeof x->similarity);
        wire_get(r, &x->face_number, sizeof x->face_number);
        wire_get(r, &x->photo_id, sizeof x->photo_id);
        wire_get(r, &x->face_id, sizeof x->face_id);
        wire_get(r, x->face.box, sizeof x->face.box);
        wire_get(r, x->face.landmarks, sizeof x->face.landmarks);
        wire_get(r, &x->face.score, sizeof x->face.score);
        wire_get(r, &x->face.quality, sizeof x->face.quality);
        x->path = wire_get_string(r);
        if (r->bad || !x->path) {
            free(x->path);
            fs_status rc = r->bad ? mpi_fail(err, FS_ERR_INTERNAL, "malformed search results")
                                  : mpi_fail(err, FS_ERR_NOMEM, "out of memory");
            fs_matches_free(mt);
            return rc;
        }
        mt->count++;
    }
    return FS_OK;
}

void wire_put_units(wbuf *w, const fs_people_units *u)
{
    uint64_t count = u->count, counts[2] = {u->unsure, u->unseen};
    int32_t dim = u->dim;
    wire_put(w, &count, sizeof count);
    wire_put(w, &dim, sizeof dim);
    wire_put(w, counts, sizeof counts);
    for (size_t i = 0; i < u->count; i++) {
        const fs_people_unit *x = &u->items[i];
        int32_t shard = x->shard;
        uint64_t n[2] = {x->faces, x->photos};
        wire_put(w, &shard, sizeof shard);
        wire_put(w, &x->person_id, sizeof x->person_id);
        wire_put(w, &x->face_id, sizeof x->face_id);
        wire_put(w, n, sizeof n);
        wire_put(w, x->box, sizeof x->box);
        wire_put(w, x->name ? x->name : "", x->name ? strlen(x->name) + 1 : 1);
        wire_put(w, x->path ? x->path : "", x->path ? strlen(x->path) + 1 : 1);
        wire_put(w, &u->scales[i], sizeof u->scales[i]);
        wire_put(w, u->codes + i * (size_t)u->dim, (size_t)u->dim * sizeof *u->codes);
    }
    uint64_t renames = u->n_renames;
    wire_put(w, &renames, sizeof renames);
    wire_put(w, u->renames, u->n_renames * sizeof *u->renames);
}

/* The renames that follow the units, appended to u's. */
static fs_status get_renames(rbuf *r, fs_people_units *u, fs_error *err)
{
    uint64_t n;
    wire_get(r, &n, sizeof n);
    if (r->bad || n > r->left / sizeof *u->renames)
        return mpi_fail(err, FS_ERR_INTERNAL, "malformed people units");
    if (n == 0)
        return FS_OK;
    fs_unit_rename *grown = realloc(u->renames, (u->n_renames + n) * sizeof *grown);
    if (!grown)
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    u->renames = grown;
    wire_get(r, u->renames + u->n_renames, n * sizeof *grown);
    u->n_renames += n;
    return FS_OK;
}

fs_status wire_get_units(rbuf *r, fs_people_units *u, fs_error *err)
{
    uint64_t count, counts[2];
    int32_t dim;
    wire_get(r, &count, sizeof count);
    wire_get(r, &dim, sizeof dim);
    wire_get(r, counts, sizeof counts);
    if (r->bad || count > r->left || dim < 0 || dim > 65536 || (u->count && count && dim != u->dim))
        return mpi_fail(err, FS_ERR_INTERNAL, "malformed people units");
    u->unsure += (size_t)counts[0];
    u->unseen += (size_t)counts[1];
    if (count == 0)
        return get_renames(r, u, err);
    size_t total = u->count + (size_t)count;
    fs_people_unit *items = realloc(u->items, total * sizeof *items);
    if (items)
        u->items = items;
    int8_t *codes = items ? realloc(u->codes, total * (size_t)dim * sizeof *codes) : NULL;
    if (codes)
        u->codes = codes;
    float *scales = codes ? realloc(u->scales, total * sizeof *scales) : NULL;
    if (!scales)
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    u->scales = scales;
    u->dim = dim;
    for (uint64_t i = 0; i < count; i++) {
        fs_people_unit *x = &u->items[u->count];
        memset(x, 0, sizeof *x);
        int32_t shard;
        uint64_t n[2];
        wire_get(r, &shard, sizeof shard);
        wire_get(r, &x->person_id, sizeof x->person_id);
        wire_get(r, &x->face_id, sizeof x->face_id);
        wire_get(r, n, sizeof n);
        wire_get(r, x->box, sizeof x->box);
        x->shard = shard;
        x->faces = (size_t)n[0];
        x->photos = (size_t)n[1];
        x->name = wire_get_string(r);
        x->path = wire_get_string(r);
        wire_get(r, &u->scales[u->count], sizeof *scales);
        wire_get(r, u->codes + u->count * (size_t)dim, (size_t)dim * sizeof *codes);
        if (r->bad || !x->name || !x->path) {
            fs_status rc = r->bad ? mpi_fail(err, FS_ERR_INTERNAL, "malformed people units")
                                  : mpi_fail(err, FS_ERR_NOMEM, "out of memory");
            free(x->name);
            free(x->path);
            return rc;
        }
        if (!x->name[0]) { /* unnamed */
            free(x->name);
            x->name = NULL;
        }
        u->count++;
    }
    return get_renames(r, u, err);
}

void wire_put_known(wbuf *w, const fs_library_known *known, size_t n)
{
    uint64_t count = n;
    wire_put(w, &count, sizeof count);
    wire_put(w, known, n * sizeof *known);
}

fs_status wire_get_known(rbuf *r, fs_library_known **known, size_t *n, fs_error *err)
{
    uint64_t count;
    *known = NULL;
    *n = 0;
    wire_get(r, &count, sizeof count);
    if (r->bad || count > r->left / sizeof **known)
        return mpi_fail(err, FS_ERR_INTERNAL, "malformed units of the library's people");
    if (count == 0)
        return FS_OK;
    if (!(*known = malloc((size_t)count * sizeof **known)))
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    wire_get(r, *known, (size_t)count * sizeof **known);
    *n = (size_t)count;
    return FS_OK;
}

void wire_put_person_faces(wbuf *w, const fs_person_faces *f)
{
    uint64_t count = f->count;
    wire_put(w, &count, sizeof count);
    for (size_t i = 0; i < f->count; i++) {
        const fs_person_face *x = &f->items[i];
        int32_t n[2] = {x->face_number, x->pinned};
        wire_put(w, &x->face_id, sizeof x->face_id);
        wire_put(w, &x->photo_id, sizeof x->photo_id);
        wire_put(w, &x->person_id, sizeof x->person_id);
        wire_put(w, n, sizeof n);
        wire_put(w, x->box, sizeof x->box);
        wire_put(w, x->landmarks, sizeof x->landmarks);
        wire_put(w, &x->score, sizeof x->score);
        wire_put(w, &x->quality, sizeof x->quality);
        wire_put(w, x->path, strlen(x->path) + 1);
    }
}

fs_status wire_get_person_faces(rbuf *r, fs_person_faces *f, fs_error *err)
{
    uint64_t count;
    wire_get(r, &count, sizeof count);
    if (r->bad || count > r->left)
        return mpi_fail(err, FS_ERR_INTERNAL, "malformed person's faces");
    if (count == 0)
        return FS_OK;
    fs_person_face *items = realloc(f->items, (f->count + (size_t)count) * sizeof *items);
    if (!items)
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    f->items = items;
    for (uint64_t i = 0; i < count; i++) {
        fs_person_face *x = &f->items[f->count];
        int32_t n[2];
        wire_get(r, &x->face_id, sizeof x->face_id);
        wire_get(r, &x->photo_id, sizeof x->photo_id);
        wire_get(r, &x->person_id, sizeof x->person_id);
        wire_get(r, n, sizeof n);
        wire_get(r, x->box, sizeof x->box);
        wire_get(r, x->landmarks, sizeof x->landmarks);
        wire_get(r, &x->score, sizeof x->score);
        wire_get(r, &x->quality, sizeof x->quality);
        x->face_number = n[0];
        x->pinned = n[1];
        x->path = wire_get_string(r);
        if (r->bad || !x->path) {
            free(x->path);
            return r->bad ? mpi_fail(err, FS_ERR_INTERNAL, "malformed person's faces")
                          : mpi_fail(err, FS_ERR_NOMEM, "out of memory");
        }
        f->count++;
    }
    return FS_OK;
}
