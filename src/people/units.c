/*
 * units.c — an index's people as the units that a sharded library groups across its shards
 * (fs_people_units_get; facesearch.h, "People of a sharded library"): each person with the mean
 * of its faces' embeddings, and each face of good quality that is in no person with its own.
 * The grouping across shards is src/shard/people.c's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_internal.h"
#include "people/people.h"
#include "util/error.h"
#include "util/grow.h"

#define EMBEDDING_CHUNK 256 /* faces whose embeddings are read at once */

void fs_people_units_free(fs_people_units *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->count; i++) {
        free(u->items[i].name);
        free(u->items[i].path);
    }
    free(u->items);
    free(u->codes);
    free(u->scales);
    memset(u, 0, sizeof *u);
}

typedef struct collect {
    fs_people_units *out;
    size_t cap;
    int64_t *ids;              /* a person's face ids */
    size_t n_ids, ids_cap;
    int failed;
} collect;

static fs_people_unit *new_unit(collect *c)
{
    fs_people_unit *grown =
        util_grow(c->out->items, &c->cap, c->out->count + 1, sizeof *grown, 64);
    if (!grown)
        return NULL;
    c->out->items = grown;
    fs_people_unit *u = &c->out->items[c->out->count++];
    memset(u, 0, sizeof *u);
    return u;
}

/* A face in no person, seen by the grouping and of good quality: a unit of its own. */
static int add_lone_face(const store_people_face *f, void *ctx)
{
    collect *c = ctx;
    if (!f->seen || f->person_id || f->quality < PEOPLE_MIN_QUALITY)
        return 0;
    char *path = strdup(f->path);
    fs_people_unit *u = path ? new_unit(c) : NULL;
    if (!u) {
        free(path);
        c->failed = 1;
        return 1;
    }
    u->face_id = f->face_id;
    u->faces = u->photos = 1;
    u->path = path;
    memcpy(u->box, f->box, sizeof u->box);
    return 0;
}

static int add_face_id(const store_people_face *f, void *ctx)
{
    collect *c = ctx;
    int64_t *grown = util_grow(c->ids, &c->ids_cap, c->n_ids + 1, sizeof *grown, 64);
    if (!grown) {
        c->failed = 1;
        return 1;
    }
    c->ids = grown;
    c->ids[c->n_ids++] = f->face_id;
    return 0;
}

/* The mean of the embeddings of the n faces ids, made unit length, into out (dim floats). */
static fs_status mean_embedding(store_db *st, const int64_t *ids, size_t n, int dim, float *buf,
                                float *out, fs_error *err)
{
    memset(out, 0, (size_t)dim * sizeof *out);
    for (size_t at = 0; at < n; at += EMBEDDING_CHUNK) {
        size_t k = n - at < EMBEDDING_CHUNK ? n - at : EMBEDDING_CHUNK;
        fs_status rc = store_embeddings(st, ids + at, k, buf, err);
        if (rc != FS_OK)
            return rc;
        for (size_t i = 0; i < k; i++)
            for (int d = 0; d < dim; d++)
                out[d] += buf[i * (size_t)dim + (size_t)d];
    }
    double norm = 0;
    for (int d = 0; d < dim; d++)
        norm += (double)out[d] * out[d];
    if (norm > 0)
        for (int d = 0; d < dim; d++)
            out[d] = (float)(out[d] / sqrt(norm));
    return FS_OK;
}

fs_status fs_people_units_get(fs_index *ix, fs_people_units *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    out->dim = store_dim(ix->store);
    collect c = {.out = out};
    fs_people people;
    fs_status rc = fs_people_list(ix, &people, err);
    if (rc != FS_OK)
        return rc;
    out->unsure = people.unsure;
    out->unseen = people.unseen;
    for (size_t i = 0; i < people.count && rc == FS_OK; i++) {
        fs_person *p = &people.items[i];
        if (p->faces == 0)
            continue; /* a name with no face yet */
        fs_people_unit *u = new_unit(&c);
        if (!u) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            break;
        }
        u->person_id = p->id;
        u->face_id = p->face_id;
        u->faces = p->faces;
        u->photos = p->photos;
        u->name = p->name;             /* taken from the list */
        u->path = p->face_path;
        memcpy(u->box, p->face_box, sizeof u->box);
        p->name = p->face_path = NULL;
    }
    fs_people_free(&people);
    if (rc == FS_OK)
        rc = store_people_faces(ix->store, 0, add_lone_face, &c, err);
    if (rc == FS_OK && c.failed)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");

    size_t dim = (size_t)out->dim;
    float *buf = NULL, *mean = NULL;
    if (rc == FS_OK && out->count) {
        out->codes = malloc(out->count * dim * sizeof *out->codes);
        out->scales = malloc(out->count * sizeof *out->scales);
        buf = malloc(EMBEDDING_CHUNK * dim * sizeof *buf);
        mean = malloc(dim * sizeof *mean);
        if (!out->codes || !out->scales || !buf || !mean)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < out->count && rc == FS_OK; i++) {
        fs_people_unit *u = &out->items[i];
        c.n_ids = 0;
        if (u->person_id) {
            rc = store_person_faces(ix->store, u->person_id, add_face_id, &c, err);
            if (rc == FS_OK && c.failed)
                rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        } else {
            rc = add_face_id(&(store_people_face){.face_id = u->face_id}, &c)
                     ? util_fail(err, FS_ERR_NOMEM, "out of memory")
                     : FS_OK;
        }
        if (rc == FS_OK)
            rc = mean_embedding(ix->store, c.ids, c.n_ids, out->dim, buf, mean, err);
        if (rc == FS_OK)
            people_quantise(mean, out->dim, out->codes + i * dim, &out->scales[i]);
    }
    free(buf);
    free(mean);
    free(c.ids);
    if (rc != FS_OK)
        fs_people_units_free(out);
    return rc;
}
