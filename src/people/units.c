/*
 * units.c — an index's people as the units that a sharded library groups across its shards
 * (fs_people_units_get; facesearch.h, "People of a sharded library"): each person with the mean
 * of its faces' embeddings, and each face of good quality that is in no person with its own.
 * The grouping across shards is src/shard/people.c's. fs_people_units_follow finds the units
 * that now hold the faces of units the library knew by other keys (a face in no person that has
 * joined one, a person merged into another), so that the library's edits follow them, and
 * keeps as units the unsure faces that the user placed in a library person.
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
    free(u->renames);
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

/* ---- Following the library's units -------------------------------------------------------- */

static int cmp_id(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int holds_id(const int64_t *sorted, size_t n, int64_t id)
{
    return n && bsearch(&id, sorted, n, sizeof *sorted, cmp_id) != NULL;
}

/* A face to look up (a known unit's lead) and the known unit it stands for. */
typedef struct lookup {
    int64_t face_id;
    size_t known;
} lookup;

static int cmp_lookup(const void *x, const void *y)
{
    return cmp_id(&((const lookup *)x)->face_id, &((const lookup *)y)->face_id);
}

typedef struct follow {
    const fs_library_known *known;
    const lookup *lookups;
    size_t n_lookups;
    const int64_t *persons, *lone; /* the units' persons and lone faces, sorted */
    size_t n_persons, n_lone;
    fs_people_units *units;
    size_t cap, items_cap;
    size_t first_kept;             /* units from here on are unsure faces kept (keep_unsure) */
    int failed;
} follow;

/* The first of the lookups of face_id (they are sorted by face), or NULL. */
static const lookup *first_lookup(const follow *fw, int64_t face_id)
{
    lookup key = {face_id, 0};
    const lookup *at = bsearch(&key, fw->lookups, fw->n_lookups, sizeof key, cmp_lookup);
    while (at && at > fw->lookups && at[-1].face_id == face_id)
        at--;
    return at;
}

/* An unsure face that the library keeps in a person as a unit of its own (a member or pin: the
 * user placed it there, fs_library_people_place; a reject alone does not keep it) stays one,
 * so that the library's update finds it where it was put; its embedding is read once the visit
 * is over (keep_embeddings). 1 (stop) when out of memory. */
static int keep_unsure(follow *fw, const store_people_face *f)
{
    if (!f->seen || f->person_id || f->quality >= PEOPLE_MIN_QUALITY)
        return 0;
    int known = 0;
    for (const lookup *at = first_lookup(fw, f->face_id);
         at && at < fw->lookups + fw->n_lookups && at->face_id == f->face_id; at++) {
        const fs_library_member *k = &fw->known[at->known].unit;
        known |= fw->known[at->known].kept && k->person_id == 0 && k->face_id == f->face_id;
    }
    if (!known)
        return 0;
    fs_people_units *u = fw->units;
    char *path = strdup(f->path);
    fs_people_unit *grown =
        path ? util_grow(u->items, &fw->items_cap, u->count + 1, sizeof *grown, 16) : NULL;
    if (!grown) {
        free(path);
        fw->failed = 1;
        return 1;
    }
    u->items = grown;
    fs_people_unit *unit = &u->items[u->count++];
    memset(unit, 0, sizeof *unit);
    unit->face_id = f->face_id;
    unit->faces = unit->photos = 1;
    unit->path = path;
    memcpy(unit->box, f->box, sizeof unit->box);
    if (u->unsure > 0)
        u->unsure--;
    return 0;
}

/* A looked-up face: its known units are renamed to the unit that holds it, if any. */
static int follow_face(const store_people_face *f, void *ctx)
{
    follow *fw = ctx;
    if (fw->failed)
        return 1; /* out of memory in an earlier batch of ids */
    fs_library_member to;
    memset(&to, 0, sizeof to); /* its padding too: renames go over the wire */
    if (f->person_id && holds_id(fw->persons, fw->n_persons, f->person_id))
        to.person_id = f->person_id;
    else if (!f->person_id && holds_id(fw->lone, fw->n_lone, f->face_id))
        to.face_id = f->face_id;
    else /* unsure, or unseen: in no unit, unless the library keeps it */
        return keep_unsure(fw, f);
    const lookup *at = first_lookup(fw, f->face_id);
    for (; at && at < fw->lookups + fw->n_lookups && at->face_id == f->face_id; at++) {
        fs_people_units *u = fw->units;
        fs_unit_rename *grown =
            util_grow(u->renames, &fw->cap, u->n_renames + 1, sizeof *grown, 64);
        if (!grown) {
            fw->failed = 1;
            return 1;
        }
        u->renames = grown;
        to.shard = fw->known[at->known].unit.shard;
        fs_unit_rename *r = &u->renames[u->n_renames++];
        memset(r, 0, sizeof *r);
        r->from = fw->known[at->known].unit;
        r->to = to;
    }
    return 0;
}

/* The codes of the units from `from` on (unsure faces kept by keep_unsure): their own
 * embeddings. */
static fs_status keep_embeddings(store_db *store, fs_people_units *units, size_t from,
                                 fs_error *err)
{
    if (units->count == from)
        return FS_OK;
    size_t dim = (size_t)units->dim;
    int8_t *codes = realloc(units->codes, units->count * dim * sizeof *codes);
    if (codes)
        units->codes = codes;
    float *scales = codes ? realloc(units->scales, units->count * sizeof *scales) : NULL;
    if (scales)
        units->scales = scales;
    float *buf = malloc(dim * sizeof *buf), *unit = malloc(dim * sizeof *unit);
    fs_status rc = codes && scales && buf && unit ? FS_OK
                                                  : util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t i = from; i < units->count && rc == FS_OK; i++) {
        rc = mean_embedding(store, &units->items[i].face_id, 1, units->dim, buf, unit, err);
        if (rc == FS_OK)
            people_quantise(unit, units->dim, units->codes + i * dim, &units->scales[i]);
    }
    free(buf);
    free(unit);
    return rc;
}

fs_status fs_people_units_follow(fs_index *ix, int shard, const fs_library_known *known,
                                 size_t n, fs_people_units *units, fs_error *err)
{
    return people_units_follow(ix->store, shard, known, n, units, err);
}

fs_status people_units_follow(store_db *store, int shard, const fs_library_known *known,
                              size_t n, fs_people_units *units, fs_error *err)
{
    size_t count = units->count;
    int64_t *ids = malloc((count ? count : 1) * sizeof *ids);
    lookup *lookups = malloc((n ? n : 1) * sizeof *lookups);
    if (!ids || !lookups) {
        free(ids);
        free(lookups);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    /* the units' persons first, then their lone faces, each part sorted */
    size_t n_persons = 0, n_lone = 0;
    for (size_t i = 0; i < count; i++)
        if (units->items[i].person_id)
            ids[n_persons++] = units->items[i].person_id;
    for (size_t i = 0; i < count; i++)
        if (!units->items[i].person_id)
            ids[n_persons + n_lone++] = units->items[i].face_id;
    qsort(ids, n_persons, sizeof *ids, cmp_id);
    qsort(ids + n_persons, n_lone, sizeof *ids, cmp_id);

    /* the known units of this shard (known is sorted by shard) that are no unit now, by the face
     * that leads them */
    size_t n_lookups = 0, first = 0, hi = n;
    while (first < hi) {
        size_t mid = first + (hi - first) / 2;
        if (known[mid].unit.shard < shard)
            first = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = first; i < n && known[i].unit.shard == shard; i++) {
        const fs_library_member *k = &known[i].unit;
        int64_t face = k->person_id ? known[i].lead : k->face_id;
        int current = k->person_id ? holds_id(ids, n_persons, k->person_id)
                                   : holds_id(ids + n_persons, n_lone, k->face_id);
        if (!current && face > 0)
            lookups[n_lookups++] = (lookup){face, i};
    }
    qsort(lookups, n_lookups, sizeof *lookups, cmp_lookup);
    int64_t *faces = malloc((n_lookups ? n_lookups : 1) * sizeof *faces);
    size_t n_faces = 0;
    for (size_t i = 0; faces && i < n_lookups; i++)
        if (!n_faces || faces[n_faces - 1] != lookups[i].face_id)
            faces[n_faces++] = lookups[i].face_id;
    follow fw = {known, lookups, n_lookups, ids, ids + n_persons, n_persons, n_lone, units,
                 units->n_renames, count, count, 0};
    fs_status rc = faces ? store_people_faces_by_ids(store, faces, n_faces, follow_face, &fw,
                                                     err)
                         : util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK && fw.failed)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK)
        rc = keep_embeddings(store, units, fw.first_kept, err);
    free(faces);
    free(lookups);
    free(ids);
    return rc;
}
