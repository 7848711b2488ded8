/*
 * edit.c — the user's decisions about people: name, merge, move, reject, forget.
 *
 * Each one is a transaction. A decision is recorded twice: in face_people (what the index shows
 * now) and as people_decisions rows keyed by the photo's content hash and the face's box (what
 * survives a re-index, a moved photo or re-detected faces, and wins over every later grouping,
 * --rebuild included; see update.c). Naming a person, or merging into it, confirms the faces it
 * holds: they are pinned to it, so that the name stays with those faces whatever happens to the
 * face rows.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/index_internal.h"
#include "people/people.h"
#include "util/error.h"
#include "util/grow.h"

typedef struct face_list {
    store_people_face *items;
    size_t count, cap;
    int failed;
} face_list;

static int collect(const store_people_face *f, void *ctx)
{
    face_list *l = ctx;
    store_people_face *grown = util_grow(l->items, &l->cap, l->count + 1, sizeof *grown, 64);
    if (!grown) {
        l->failed = 1;
        return 1;
    }
    l->items = grown;
    l->items[l->count] = *f;
    l->items[l->count++].path = NULL;
    return 0;
}

static fs_status faces_of(store_db *store, int64_t person, face_list *l, fs_error *err)
{
    memset(l, 0, sizeof *l);
    fs_status rc = store_person_faces(store, person, collect, l, err);
    if (rc == FS_OK && l->failed)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    return rc;
}

static fs_status need_person(store_db *store, int64_t id, store_person *p, fs_error *err)
{
    int found;
    fs_status rc = store_person_get(store, id, NULL, p, &found, err);
    if (rc == FS_OK && !found)
        rc = util_fail(err, FS_ERR_NOT_FOUND, "no person %lld", (long long)id);
    return rc;
}

static fs_status need_face(store_db *store, int64_t id, store_people_face *f, fs_error *err)
{
    int found;
    fs_status rc = store_people_face_get(store, id, f, &found, err);
    if (rc == FS_OK && !found)
        rc = util_fail(err, FS_ERR_NOT_FOUND, "no face %lld", (long long)id);
    return rc;
}

/* Pins face f to person (decision and row). */
static fs_status pin(store_db *store, const store_people_face *f, int64_t person, fs_error *err)
{
    store_decision d = {person, STORE_PIN, "", {f->box[0], f->box[1], f->box[2], f->box[3]}};
    memcpy(d.sha256, f->sha256, sizeof d.sha256);
    float q = f->seen ? f->quality : people_quality(f);
    fs_status rc = store_decide(store, &d, err);
    if (rc == FS_OK)
        rc = store_people_set(store, f->face_id, person, q, 1, err);
    return rc;
}

static fs_status pin_all(store_db *store, int64_t person, fs_error *err)
{
    face_list l;
    fs_status rc = faces_of(store, person, &l, err);
    for (size_t i = 0; rc == FS_OK && i < l.count; i++)
        if (!l.items[i].pinned)
            rc = pin(store, &l.items[i], person, err);
    free(l.items);
    return rc;
}

/* Does person already hold a face of file_id other than face_id? */
static fs_status has_photo(store_db *store, int64_t person, int64_t file_id, int64_t face_id,
                           int *yes, fs_error *err)
{
    face_list l;
    *yes = 0;
    fs_status rc = faces_of(store, person, &l, err);
    for (size_t i = 0; rc == FS_OK && i < l.count; i++)
        if (l.items[i].file_id == file_id && l.items[i].face_id != face_id)
            *yes = 1;
    free(l.items);
    return rc;
}

static fs_status end(store_db *store, fs_status rc, fs_error *err)
{
    if (rc == FS_OK)
        rc = store_commit(store, err);
    if (rc != FS_OK)
        store_rollback(store);
    return rc;
}

fs_status fs_people_name(fs_index *ix, int64_t id, const char *name, fs_error *err)
{
    if (name && !*name)
        name = NULL;
    if (name && strlen(name) >= sizeof ((store_person *)0)->name)
        return util_fail(err, FS_ERR_ARG, "a name has at most 255 bytes");
    store_person p;
    fs_status rc = store_begin(ix->store, err);
    if (rc != FS_OK)
        return rc;
    rc = need_person(ix->store, id, &p, err);
    if (rc == FS_OK)
        rc = store_person_name(ix->store, id, name, err);
    if (rc == FS_OK && name)
        rc = pin_all(ix->store, id, err);
    return end(ix->store, rc, err);
}

fs_status fs_people_merge(fs_index *ix, int64_t into, int64_t from, fs_error *err)
{
    if (into == from)
        return util_fail(err, FS_ERR_ARG, "cannot merge person %lld with itself",
                         (long long)into);
    store_person a, b;
    fs_status rc = store_begin(ix->store, err);
    if (rc != FS_OK)
        return rc;
    if ((rc = need_person(ix->store, into, &a, err)) == FS_OK)
        rc = need_person(ix->store, from, &b, err);
    face_list la = {0}, lb = {0};
    if (rc == FS_OK && (rc = faces_of(ix->store, into, &la, err)) == FS_OK)
        rc = faces_of(ix->store, from, &lb, err);
    for (size_t i = 0; rc == FS_OK && i < la.count; i++)
        for (size_t j = 0; j < lb.count; j++)
            if (la.items[i].file_id == lb.items[j].file_id) {
                rc = util_fail(err, FS_ERR_ARG,
                               "persons %lld and %lld both have a face in one photo (faces %lld"
                               " and %lld): two faces of one photo are never one person; move"
                               " or reject one of them first",
                               (long long)into, (long long)from,
                               (long long)la.items[i].face_id, (long long)lb.items[j].face_id);
                break;
            }
    free(la.items);
    free(lb.items);
    if (rc == FS_OK)
        rc = store_people_merge(ix->store, into, from, err);
    if (rc == FS_OK && !a.name[0] && b.name[0])
        rc = store_person_name(ix->store, into, b.name, err);
    if (rc == FS_OK)
        rc = pin_all(ix->store, into, err);
    return end(ix->store, rc, err);
}

fs_status fs_people_move(fs_index *ix, int64_t face_id, int64_t to, int64_t *person,
                         fs_error *err)
{
    store_people_face f;
    store_person p;
    fs_status rc = store_begin(ix->store, err);
    if (rc != FS_OK)
        return rc;
    rc = need_face(ix->store, face_id, &f, err);
    int clash = 0;
    if (rc == FS_OK && to > 0 && (rc = need_person(ix->store, to, &p, err)) == FS_OK)
        rc = has_photo(ix->store, to, f.file_id, face_id, &clash, err);
    if (rc == FS_OK && clash)
        rc = util_fail(err, FS_ERR_ARG,
                       "person %lld already has a face of this photo: two faces of one photo are"
                       " never one person", (long long)to);
    if (rc == FS_OK && to <= 0)
        rc = store_person_new(ix->store, NULL, &to, err);
    if (rc == FS_OK && f.person_id > 0 && f.person_id != to) {
        /* leaving a person is saying it is not that person */
        store_decision d = {f.person_id, STORE_REJECT, "",
                            {f.box[0], f.box[1], f.box[2], f.box[3]}};
        memcpy(d.sha256, f.sha256, sizeof d.sha256);
        rc = store_decide(ix->store, &d, err);
    }
    if (rc == FS_OK)
        rc = pin(ix->store, &f, to, err);
    if (rc == FS_OK)
        rc = store_people_prune(ix->store, NULL, err);
    rc = end(ix->store, rc, err);
    if (rc == FS_OK && person)
        *person = to;
    return rc;
}

fs_status fs_people_reject(fs_index *ix, int64_t face_id, int64_t from, fs_error *err)
{
    store_people_face f;
    store_person p;
    fs_status rc = store_begin(ix->store, err);
    if (rc != FS_OK)
        return rc;
    if ((rc = need_face(ix->store, face_id, &f, err)) == FS_OK)
        rc = need_person(ix->store, from, &p, err);
    if (rc == FS_OK && f.person_id != from)
        rc = util_fail(err, FS_ERR_ARG, "face %lld is not in person %lld", (long long)face_id,
                       (long long)from);
    if (rc == FS_OK) {
        store_decision d = {from, STORE_REJECT, "", {f.box[0], f.box[1], f.box[2], f.box[3]}};
        memcpy(d.sha256, f.sha256, sizeof d.sha256);
        rc = store_decide(ix->store, &d, err);
    }
    if (rc == FS_OK)
        rc = store_people_set(ix->store, face_id, 0, f.quality, 0, err);
    return end(ix->store, rc, err);
}

fs_status fs_people_forget(fs_index *ix, int64_t id, fs_error *err)
{
    store_person p;
    fs_status rc = store_begin(ix->store, err);
    if (rc != FS_OK)
        return rc;
    if ((rc = need_person(ix->store, id, &p, err)) == FS_OK)
        rc = store_person_delete(ix->store, id, err);
    return end(ix->store, rc, err);
}

fs_status fs_people_import(fs_index *ix, const char *other_dir, size_t *people,
                           size_t *decisions, fs_error *err)
{
    size_t n = strlen(other_dir);
    char *db = malloc(n + sizeof "/index.db");
    if (!db)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    memcpy(db, other_dir, n);
    memcpy(db + n, "/index.db", sizeof "/index.db");
    int64_t p = 0, d = 0;
    fs_status rc = access(db, R_OK) == 0
                       ? store_people_import(ix->store, db, &p, &d, err)
                       : util_fail(err, FS_ERR_NOT_FOUND, "%s: no index here", other_dir);
    free(db);
    if (people)
        *people = (size_t)p;
    if (decisions)
        *decisions = (size_t)d;
    return rc;
}
