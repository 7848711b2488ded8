/*
 * list.c — reading people: the list of persons with counts and a representative face, one
 * person by name or id, and a person's faces (people list / show, search --person).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_internal.h"
#include "people/people.h"
#include "util/error.h"
#include "util/grow.h"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void fs_person_clear(fs_person *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->face_path);
    memset(p, 0, sizeof *p);
}

void fs_people_free(fs_people *people)
{
    if (!people)
        return;
    for (size_t i = 0; i < people->count; i++)
        fs_person_clear(&people->items[i]);
    free(people->items);
    memset(people, 0, sizeof *people);
}

/* Fills out from p (name, representative face). */
static fs_status to_public(store_db *store, const store_person *p, fs_person *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    out->id = p->id;
    out->faces = (size_t)p->faces;
    out->photos = (size_t)p->photos;
    out->face_id = p->best_face;
    if (p->name[0] && !(out->name = dup_str(p->name)))
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (p->best_face > 0 && p->best_path) { /* a list's */
        if (!(out->face_path = dup_str(p->best_path))) {
            fs_person_clear(out);
            return util_fail(err, FS_ERR_NOMEM, "out of memory");
        }
        memcpy(out->face_box, p->best_box, sizeof out->face_box);
    } else if (p->best_face > 0) {
        store_face f;
        int found;
        fs_status rc = store_face_by_id(store, p->best_face, &f, NULL, &out->face_path, &found,
                                        err);
        if (rc != FS_OK) {
            fs_person_clear(out);
            return rc;
        }
        if (found)
            memcpy(out->face_box, f.box, sizeof out->face_box);
    }
    return FS_OK;
}

typedef struct list_ctx {
    store_db *store;
    fs_people *out;
    size_t cap;
    fs_status rc;
    fs_error *err;
} list_ctx;

static int add_person(const store_person *p, void *ctx)
{
    list_ctx *c = ctx;
    fs_person *grown = util_grow(c->out->items, &c->cap, c->out->count + 1, sizeof *grown, 16);
    if (!grown) {
        c->rc = util_fail(c->err, FS_ERR_NOMEM, "out of memory");
        return 1;
    }
    c->out->items = grown;
    c->rc = to_public(c->store, p, &c->out->items[c->out->count], c->err);
    if (c->rc != FS_OK)
        return 1;
    c->out->count++;
    return 0;
}

fs_status fs_people_list(fs_index *ix, fs_people *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    list_ctx c = {ix->store, out, 0, FS_OK, err};
    fs_status rc = store_people_list(ix->store, add_person, &c, err);
    if (rc == FS_OK)
        rc = c.rc;
    int64_t unsure = 0, ungrouped = 0, unseen = 0;
    if (rc == FS_OK)
        rc = store_people_counts(ix->store, PEOPLE_MIN_QUALITY, &unsure, &ungrouped, &unseen,
                                 err);
    if (rc != FS_OK) {
        fs_people_free(out);
        return rc;
    }
    out->unsure = (size_t)unsure;
    out->ungrouped = (size_t)ungrouped;
    out->unseen = (size_t)unseen;
    return FS_OK;
}

fs_status fs_people_find(fs_index *ix, const char *key, fs_person *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    store_person p;
    int found = 0;
    fs_status rc = store_person_get(ix->store, 0, key, &p, &found, err);
    if (rc == FS_OK && !found) {
        char *end;
        errno = 0;
        long long id = strtoll(key, &end, 10);
        if (*key && !*end && errno == 0 && id > 0)
            rc = store_person_get(ix->store, id, NULL, &p, &found, err);
    }
    if (rc == FS_OK && !found)
        rc = util_fail(err, FS_ERR_NOT_FOUND, "no person named or numbered '%s'", key);
    if (rc == FS_OK)
        rc = to_public(ix->store, &p, out, err);
    return rc;
}

fs_status fs_people_get(fs_index *ix, int64_t id, fs_person *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    store_person p;
    int found = 0;
    fs_status rc = store_person_get(ix->store, id, NULL, &p, &found, err);
    if (rc == FS_OK && !found)
        rc = util_fail(err, FS_ERR_NOT_FOUND, "person %lld: no such person", (long long)id);
    if (rc == FS_OK)
        rc = to_public(ix->store, &p, out, err);
    return rc;
}

void fs_person_faces_free(fs_person_faces *faces)
{
    if (!faces)
        return;
    for (size_t i = 0; i < faces->count; i++)
        free(faces->items[i].path);
    free(faces->items);
    memset(faces, 0, sizeof *faces);
}

typedef struct faces_ctx {
    fs_person_faces *out;
    size_t cap;
    int failed;
} faces_ctx;

static int add_face(const store_people_face *f, void *ctx)
{
    faces_ctx *c = ctx;
    fs_person_face *grown = util_grow(c->out->items, &c->cap, c->out->count + 1, sizeof *grown,
                                      16);
    char *path = dup_str(f->path);
    if (!grown || !path) {
        free(path);
        if (grown)
            c->out->items = grown;
        c->failed = 1;
        return 1;
    }
    c->out->items = grown;
    fs_person_face *o = &c->out->items[c->out->count++];
    o->face_id = f->face_id;
    o->photo_id = f->file_id;
    o->path = path;
    o->face_number = f->face_index + 1;
    memcpy(o->box, f->box, sizeof o->box);
    memcpy(o->landmarks, f->landmarks, sizeof o->landmarks);
    o->score = f->score;
    o->quality = people_quality(f);
    o->pinned = f->pinned;
    o->person_id = f->person_id;
    return 0;
}

fs_status fs_person_faces_get(fs_index *ix, int64_t id, fs_person_faces *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    faces_ctx c = {out, 0, 0};
    fs_status rc = store_person_faces(ix->store, id, add_face, &c, err);
    if (rc == FS_OK && c.failed)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc != FS_OK)
        fs_person_faces_free(out);
    return rc;
}

fs_status fs_people_unsure(fs_index *ix, fs_person_faces *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    faces_ctx c = {out, 0, 0};
    fs_status rc = store_people_unsure(ix->store, PEOPLE_MIN_QUALITY, add_face, &c, err);
    if (rc == FS_OK && c.failed)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc != FS_OK)
        fs_person_faces_free(out);
    return rc;
}

static int cmp_best_first(const void *x, const void *y)
{
    const fs_person_face *a = x, *b = y;
    if (a->quality != b->quality)
        return a->quality < b->quality ? 1 : -1;
    return (a->face_id > b->face_id) - (a->face_id < b->face_id);
}

void fs_person_faces_sort(fs_person_faces *faces)
{
    if (faces->count > 1)
        qsort(faces->items, faces->count, sizeof *faces->items, cmp_best_first);
}

fs_status fs_person_faces_by_ids(fs_index *ix, const int64_t *ids, size_t n,
                                 fs_person_faces *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    faces_ctx c = {out, 0, 0};
    fs_status rc = store_people_faces_by_ids(ix->store, ids, n, add_face, &c, err);
    if (rc == FS_OK && c.failed)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc != FS_OK)
        fs_person_faces_free(out);
    else
        fs_person_faces_sort(out);
    return rc;
}
