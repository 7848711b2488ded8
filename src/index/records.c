/*
 * records.c — photos and faces of the index by id (fs_index_photo, fs_index_face): what a tool
 * that names photos by id, never by a path it was given (the server), reads back.
 */
#include "index/index_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/grow.h"

typedef struct face_rows {
    fs_matches *out;
    size_t capacity;
    size_t dim;
    int nomem;
} face_rows;

/* A face row as a match (similarity 0): path copied, embedding copied. */
static int add_face(const store_face *f, const char *path, void *ctx)
{
    face_rows *r = ctx;
    assert(r->dim <= FS_EMBEDDING_MAX);
    fs_match *items = util_grow(r->out->items, &r->capacity, r->out->count + 1, sizeof *items, 4);
    if (!items) {
        r->nomem = 1;
        return 1;
    }
    r->out->items = items;
    fs_match *m = &items[r->out->count];
    memset(m, 0, sizeof *m);
    if (!(m->path = strdup(path))) {
        r->nomem = 1;
        return 1;
    }
    memcpy(m->face.box, f->box, sizeof f->box);
    memcpy(m->face.landmarks, f->landmarks, sizeof f->landmarks);
    if (f->embedding)
        memcpy(m->face.embedding, f->embedding, r->dim * sizeof *f->embedding);
    m->face.score = f->score;
    m->face.quality = index_face_quality(f->quality, f->score, f->box, f->landmarks);
    m->face_number = f->face_index + 1;
    m->photo_id = f->file_id;
    m->face_id = f->id;
    r->out->count++;
    return 0;
}

fs_status fs_index_photo(fs_index *ix, int64_t photo_id, fs_photo *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    store_file file;
    int found;
    fs_status rc = store_file_by_id(ix->store, photo_id, &file, &out->path, &found, err);
    if (rc)
        return rc;
    if (!found)
        return util_fail(err, FS_ERR_NOT_FOUND, "photo %lld: not in the index",
                         (long long)photo_id);
    out->id = file.id;
    out->size = file.size;
    out->mtime_ns = file.mtime_ns;
    out->failed = file.status == FS_FILE_FAILED;
    face_rows rows = {.out = &out->faces, .dim = (size_t)store_dim(ix->store)};
    rc = store_faces_of_file(ix->store, photo_id, add_face, &rows, err);
    if (rc == FS_OK && rows.nomem)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc)
        fs_photo_free(out);
    return rc;
}

void fs_photo_free(fs_photo *photo)
{
    if (!photo)
        return;
    free(photo->path);
    fs_matches_free(&photo->faces);
    memset(photo, 0, sizeof *photo);
}

fs_status fs_index_face(fs_index *ix, int64_t face_id, fs_matches *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    int64_t ids[1] = {face_id};
    face_rows rows = {.out = out, .dim = (size_t)store_dim(ix->store)};
    fs_status rc = store_faces_by_ids(ix->store, ids, 1, 1, add_face, &rows, err);
    if (rc == FS_OK && rows.nomem)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK && out->count == 0)
        rc = util_fail(err, FS_ERR_NOT_FOUND, "face %lld: not in the index", (long long)face_id);
    if (rc) {
        fs_matches_free(out);
        return rc;
    }
    out->items[0].similarity = 1.0f;
    return FS_OK;
}
