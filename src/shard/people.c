/*
 * people.c — the people of a sharded library (facesearch.h, "People of a sharded library"): the
 * shards' units (src/people/units.c) grouped across the shards, and DIR/people.db that keeps
 * them (people_file.h). The grouping is the one of a single index (src/people/knn.c,
 * cluster.c) over the units' mean embeddings, with each unit's shard standing for its "photo":
 * units of one shard are never one person, as two faces of one photo never are. The user's
 * edits (people_edit.c) enter it as a single index's do: a pinned unit is fixed to its person,
 * a rejected one never joins the person it was taken out of.
 *
 * An update first moves the file's rows of units its shards have renamed (people_known.c), then
 * replaces every member row and every person's counts in one transaction (a kill
 * leaves the file as it was before or after), and keeps an earlier person's id and name for the
 * group that holds most of its faces. Persons with neither faces nor a name are dropped. A merge,
 * move or reject written while the units are grouped makes the update group them again with it.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "people/people.h"
#include "shard/people_file.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/grow.h"

#define NEIGHBOURS 24 /* k of the units' similarity graph (as a single index's) */
#define ATTEMPTS 3    /* groupings tried while edits keep changing the file */

/* ---- Units and the persons they are kept in ------------------------------------------------
 * A member, pin or reject row: a unit (shard, person_id, face_id: face_id 0 for a shard's person)
 * and a library person. Lists of them are sorted by unit, then person. */

typedef struct unit_person {
    int64_t shard, person_id, face_id;
    int64_t person;
} unit_person;

static unit_person key_of(const fs_people_unit *u)
{
    return (unit_person){u->shard, u->person_id, u->person_id ? 0 : u->face_id, 0};
}

/* Orders by unit alone. */
static int cmp_unit(const unit_person *a, const unit_person *b)
{
    if (a->shard != b->shard)
        return (a->shard > b->shard) - (a->shard < b->shard);
    if (a->person_id != b->person_id)
        return (a->person_id > b->person_id) - (a->person_id < b->person_id);
    return (a->face_id > b->face_id) - (a->face_id < b->face_id);
}

static int cmp_unit_person(const void *x, const void *y)
{
    const unit_person *a = x, *b = y;
    int c = cmp_unit(a, b);
    return c ? c : (a->person > b->person) - (a->person < b->person);
}

/* The first row of list (n rows) about unit u, or NULL. */
static const unit_person *find_unit(const unit_person *list, size_t n, const fs_people_unit *u)
{
    unit_person key = key_of(u);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_unit(&list[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && cmp_unit(&list[lo], &key) == 0 ? &list[lo] : NULL;
}

/* The rows of sql (shard, person_id, face_id, person), sorted, into *out (*n of them). */
static fs_status load_rows(sqlite3 *db, const char *path, const char *sql, unit_person **out,
                           size_t *n, fs_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    fs_status rc = people_file_prepare(db, path, sql, &s, err);
    int step = SQLITE_DONE;
    while (rc == FS_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        unit_person *grown = util_grow(*out, &cap, *n + 1, sizeof *grown, 256);
        if (!grown) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            break;
        }
        *out = grown;
        unit_person *m = &(*out)[(*n)++];
        m->shard = sqlite3_column_int64(s, 0);
        m->person_id = sqlite3_column_int64(s, 1);
        m->face_id = sqlite3_column_int64(s, 2);
        m->person = sqlite3_column_int64(s, 3);
    }
    if (rc == FS_OK && step != SQLITE_DONE)
        rc = people_file_fail(db, path, err);
    sqlite3_finalize(s);
    if (rc == FS_OK && *n > 1)
        qsort(*out, *n, sizeof **out, cmp_unit_person);
    if (rc != FS_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* The user's edits (people_edit.c) as the grouping takes them. */
typedef struct decisions {
    unit_person *pins;       /* a unit fixed to a person (of the person table) */
    size_t n_pins;
    unit_person *rejects;    /* a unit that never joins a person */
    size_t n_rejects;
} decisions;

static void decisions_free(decisions *d)
{
    free(d->pins);
    free(d->rejects);
    memset(d, 0, sizeof *d);
}

static fs_status load_decisions(sqlite3 *db, const char *path, decisions *d, fs_error *err)
{
    memset(d, 0, sizeof *d);
    fs_status rc = load_rows(db, path,
                             "SELECT pin.shard, pin.person_id, pin.face_id, pin.person FROM pin"
                             " JOIN person ON person.id = pin.person",
                             &d->pins, &d->n_pins, err);
    if (rc == FS_OK)
        rc = load_rows(db, path, "SELECT shard, person_id, face_id, person FROM reject",
                       &d->rejects, &d->n_rejects, err);
    if (rc != FS_OK)
        decisions_free(d);
    return rc;
}

/* ---- Grouping ----------------------------------------------------------------------------- */

typedef struct group {
    size_t first, n;           /* its units: order[first .. first + n) */
    size_t faces, photos;
    size_t lead;               /* the unit with most faces (its face represents the group) */
    int64_t fixed;             /* the person its pinned units are fixed to, 0 if none */
    int64_t id;                /* the library person: fixed, kept or new */
    int kept;
} group;

typedef struct grouping {
    const fs_people_units *u;
    size_t *order;             /* unit indices, group by group */
    group *groups;
    size_t n_groups;           /* of two faces or more, or fixed */
} grouping;

static void grouping_free(grouping *g)
{
    free(g->order);
    free(g->groups);
    memset(g, 0, sizeof *g);
}

static int cmp_group(const void *x, const void *y)
{
    const group *a = x, *b = y;
    if (a->faces != b->faces)
        return a->faces < b->faces ? 1 : -1;
    return (a->first > b->first) - (a->first < b->first);
}

/* The problem's constraints from the user's edits: fixed (n ids, 0 when free) and the rejects
 * (unit index, person) of the units in the order by_shard gives them. */
static void constrain(const fs_people_units *u, const size_t *by_shard, const decisions *d,
                      int64_t *fixed, int64_t *reject_unit, int64_t *reject_id,
                      size_t *n_rejects)
{
    *n_rejects = 0;
    for (size_t i = 0; i < u->count; i++) {
        const fs_people_unit *un = &u->items[by_shard[i]];
        const unit_person *pin = find_unit(d->pins, d->n_pins, un);
        fixed[i] = pin ? pin->person : 0;
        const unit_person *r = find_unit(d->rejects, d->n_rejects, un);
        unit_person key = key_of(un);
        for (; r && r < d->rejects + d->n_rejects && cmp_unit(r, &key) == 0; r++) {
            reject_unit[*n_rejects] = (int64_t)i;
            reject_id[(*n_rejects)++] = r->person;
        }
    }
}

/* The units grouped at threshold into g (groups of two faces or more, and groups of pinned
 * units, most faces first), under the user's decisions d. The units are taken in shard order, so
 * the result does not depend on how they were gathered. Every unit's shard is in [0, count),
 * count <= 999 (checked by the caller). */
static fs_status group_units(const fs_people_units *u, int count, float threshold,
                             const decisions *d, grouping *g, fs_error *err)
{
    memset(g, 0, sizeof *g);
    g->u = u;
    size_t n = u->count, dim = (size_t)u->dim;
    if (n == 0)
        return FS_OK;
    size_t *by_shard = malloc(n * sizeof *by_shard);
    int8_t *codes = malloc(n * dim * sizeof *codes);
    float *scales = malloc(n * sizeof *scales);
    int64_t *shard = malloc(n * sizeof *shard);
    int64_t *fixed = malloc(n * sizeof *fixed);
    size_t nr = d->n_rejects ? d->n_rejects : 1, n_rejects = 0;
    int64_t *reject_unit = malloc(nr * sizeof *reject_unit);
    int64_t *reject_id = malloc(nr * sizeof *reject_id);
    uint32_t *label = malloc(n * sizeof *label);
    size_t *size = NULL, n_labels = 0;
    people_graph graph = {0};
    fs_status rc = by_shard && codes && scales && shard && fixed && reject_unit && reject_id &&
                           label
                       ? FS_OK
                       : util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK) {
        /* a counting sort by shard (count <= 999), keeping the order within a shard */
        size_t start[1000] = {0};
        for (size_t i = 0; i < n; i++)
            start[u->items[i].shard + 1]++;
        for (int k = 0; k < count; k++)
            start[k + 1] += start[k];
        for (size_t i = 0; i < n; i++)
            by_shard[start[u->items[i].shard]++] = i;
        for (size_t i = 0; i < n; i++) {
            memcpy(codes + i * dim, u->codes + by_shard[i] * dim, dim * sizeof *codes);
            scales[i] = u->scales[by_shard[i]];
            shard[i] = u->items[by_shard[i]].shard;
        }
        constrain(u, by_shard, d, fixed, reject_unit, reject_id, &n_rejects);
        people_vecs v = {.n = n, .dim = u->dim, .i8 = codes, .scale = scales};
        rc = people_knn(&v, NEIGHBOURS, threshold, NULL, &graph, err);
    }
    if (rc == FS_OK) {
        people_problem p = {.n = n, .graph = &graph, .photo = shard, .fixed = fixed,
                            .reject_face = reject_unit, .reject_id = reject_id,
                            .n_reject = n_rejects, .threshold = threshold};
        rc = people_cluster(&p, PEOPLE_GRAPH, label, &n_labels, err);
    }
    if (rc == FS_OK && !(size = calloc(n_labels + 1, sizeof *size)))
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK) {
        g->order = malloc(n * sizeof *g->order);
        g->groups = calloc(n_labels ? n_labels : 1, sizeof *g->groups);
        if (!g->order || !g->groups)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    if (rc == FS_OK) {
        /* units by label (a counting sort, keeping shard order within a label) */
        for (size_t i = 0; i < n; i++) {
            size[label[i] + 1]++;
            if (fixed[i])
                g->groups[label[i]].fixed = fixed[i];
        }
        for (size_t l = 0; l < n_labels; l++)
            size[l + 1] += size[l];
        for (size_t l = 0; l < n_labels; l++)
            g->groups[l].first = size[l];
        for (size_t i = 0; i < n; i++)
            g->order[size[label[i]]++] = by_shard[i];
        for (size_t l = 0; l < n_labels; l++) {
            group *gr = &g->groups[l];
            gr->n = size[l] - gr->first;
            gr->lead = g->order[gr->first];
            for (size_t k = gr->first; k < gr->first + gr->n; k++) {
                const fs_people_unit *un = &u->items[g->order[k]];
                gr->faces += un->faces;
                gr->photos += un->photos;
                if (un->faces > u->items[gr->lead].faces)
                    gr->lead = g->order[k];
            }
        }
        size_t kept = 0;
        for (size_t l = 0; l < n_labels; l++)
            if (g->groups[l].faces >= 2 || g->groups[l].fixed)
                g->groups[kept++] = g->groups[l];
        g->n_groups = kept;
        if (kept > 1)
            qsort(g->groups, kept, sizeof *g->groups, cmp_group);
    }
    people_graph_free(&graph);
    free(by_shard);
    free(codes);
    free(scales);
    free(shard);
    free(fixed);
    free(reject_unit);
    free(reject_id);
    free(label);
    free(size);
    if (rc != FS_OK)
        grouping_free(g);
    return rc;
}

/* ---- Ids that stay put -------------------------------------------------------------------- */

/* The members of the last update, sorted, into *out; *max_id the highest person id. */
static fs_status load_old(sqlite3 *db, const char *path, unit_person **out, size_t *n,
                          int64_t *max_id, fs_error *err)
{
    *max_id = 0;
    fs_status rc = load_rows(db, path, "SELECT shard, person_id, face_id, person FROM member",
                             out, n, err);
    sqlite3_stmt *s = NULL;
    if (rc == FS_OK &&
        (sqlite3_prepare_v2(db, "SELECT max(id) FROM person", -1, &s, NULL) != SQLITE_OK ||
         sqlite3_step(s) != SQLITE_ROW))
        rc = people_file_fail(db, path, err);
    else if (rc == FS_OK)
        *max_id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc;
}

/* Persons of the last update left with a name and no face (waiting for their faces to come
 * back). */
typedef struct named {
    char *name;
    int64_t id;
    int taken;
} named;

static int cmp_named(const void *x, const void *y)
{
    return strcmp(((const named *)x)->name, ((const named *)y)->name);
}

static void named_free(named *n, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(n[i].name);
    free(n);
}

static fs_status load_named(sqlite3 *db, const char *path, named **out, size_t *n,
                            fs_error *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, id FROM person WHERE name IS NOT NULL AND faces = 0",
                           -1, &s, NULL) != SQLITE_OK)
        return people_file_fail(db, path, err);
    fs_status rc = FS_OK;
    size_t cap = 0;
    int step;
    while (rc == FS_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        named *grown = util_grow(*out, &cap, *n + 1, sizeof *grown, 16);
        char *name = grown ? strdup((const char *)sqlite3_column_text(s, 0)) : NULL;
        if (grown)
            *out = grown;
        if (!name) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            break;
        }
        (*out)[(*n)++] = (named){name, sqlite3_column_int64(s, 1), 0};
    }
    if (rc == FS_OK && step != SQLITE_DONE)
        rc = people_file_fail(db, path, err);
    sqlite3_finalize(s);
    if (rc == FS_OK && *n)
        qsort(*out, *n, sizeof **out, cmp_named);
    return rc;
}

static int64_t old_person(const unit_person *old, size_t n, const fs_people_unit *u)
{
    const unit_person *m = find_unit(old, n, u);
    return m ? m->person : 0;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int holds(const int64_t *sorted, size_t n, int64_t id)
{
    return n && bsearch(&id, sorted, n, sizeof *sorted, cmp_i64) != NULL;
}

/* Each group's id: the person its pinned units are fixed to; else the earlier person that held
 * most of its faces (more than half), when no larger group took it first; else the named person
 * without faces whose name one of its units carries; else a new one. */
static fs_status assign_ids(grouping *g, const unit_person *old, size_t n_old, named *names,
                            size_t n_names, int64_t max_id, size_t *new_people, fs_error *err)
{
    /* the fixed ids, sorted; the earlier persons, distinct and sorted, each with whether a group
     * has taken it */
    int64_t *fixed = malloc((g->n_groups ? g->n_groups : 1) * sizeof *fixed);
    int64_t *ids = malloc((n_old ? n_old : 1) * sizeof *ids);
    unsigned char *taken = calloc(n_old ? n_old : 1, 1);
    if (!fixed || !ids || !taken) {
        free(fixed);
        free(ids);
        free(taken);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    size_t n_fixed = 0, distinct = 0;
    for (size_t k = 0; k < g->n_groups; k++)
        if (g->groups[k].fixed) {
            g->groups[k].id = fixed[n_fixed++] = g->groups[k].fixed;
            g->groups[k].kept = 1;
        }
    qsort(fixed, n_fixed, sizeof *fixed, cmp_i64);
    for (size_t i = 0; i < n_old; i++)
        ids[i] = old[i].person;
    qsort(ids, n_old, sizeof *ids, cmp_i64);
    for (size_t i = 0; i < n_old; i++)
        if (!distinct || ids[distinct - 1] != ids[i])
            ids[distinct++] = ids[i];
    *new_people = 0;
    for (size_t k = 0; k < g->n_groups; k++) {
        group *gr = &g->groups[k];
        int64_t best = 0;
        size_t best_faces = 0;
        for (size_t i = gr->first; i < gr->first + gr->n && !gr->kept; i++) {
            int64_t id = old_person(old, n_old, &g->u->items[g->order[i]]);
            const int64_t *at = id ? bsearch(&id, ids, distinct, sizeof *ids, cmp_i64) : NULL;
            if (!at || taken[at - ids] || holds(fixed, n_fixed, id))
                continue;
            size_t faces = 0;
            for (size_t j = gr->first; j < gr->first + gr->n; j++)
                if (old_person(old, n_old, &g->u->items[g->order[j]]) == id)
                    faces += g->u->items[g->order[j]].faces;
            if (faces > best_faces)
                best = id, best_faces = faces;
        }
        if (best && 2 * best_faces > gr->faces) {
            gr->id = best;
            gr->kept = 1;
            taken[(const int64_t *)bsearch(&best, ids, distinct, sizeof *ids, cmp_i64) - ids] = 1;
        }
    }
    for (size_t i = 0; i < n_names; i++)
        names[i].taken = holds(fixed, n_fixed, names[i].id);
    for (size_t k = 0; k < g->n_groups; k++) {
        group *gr = &g->groups[k];
        for (size_t i = gr->first; i < gr->first + gr->n && !gr->kept; i++) {
            named key = {g->u->items[g->order[i]].name, 0, 0};
            named *at = key.name && n_names
                            ? bsearch(&key, names, n_names, sizeof *names, cmp_named)
                            : NULL;
            if (at && !at->taken) {
                at->taken = 1;
                gr->id = at->id;
                gr->kept = 1;
            }
        }
        if (!gr->kept) {
            gr->id = ++max_id;
            (*new_people)++;
        }
    }
    free(fixed);
    free(ids);
    free(taken);
    return FS_OK;
}

/* ---- Writing ------------------------------------------------------------------------------ */

/* Every group as a person with its members; an unnamed person takes the first free name of its
 * units (the shards' persons' names). */
static fs_status write_groups(sqlite3 *db, const char *path, const grouping *g, int count,
                              fs_error *err)
{
    sqlite3_stmt *person = NULL, *member = NULL, *name = NULL;
    fs_status rc = FS_OK;
    if (sqlite3_exec(db,
                     "DELETE FROM member; UPDATE person SET faces = 0, photos = 0, face_id = 0,"
                     " face_path = NULL, x0 = 0, y0 = 0, x1 = 0, y1 = 0",
                     NULL, NULL, NULL) != SQLITE_OK)
        rc = people_file_fail(db, path, err);
    if (rc == FS_OK)
        rc = people_file_prepare(db, path,
                                 "INSERT INTO person(id, faces, photos, face_id, face_path,"
                                 " x0, y0, x1, y1) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                                 " ON CONFLICT(id) DO UPDATE SET faces = excluded.faces,"
                                 " photos = excluded.photos, face_id = excluded.face_id,"
                                 " face_path = excluded.face_path, x0 = excluded.x0,"
                                 " y0 = excluded.y0, x1 = excluded.x1, y1 = excluded.y1",
                                 &person, err);
    if (rc == FS_OK)
        rc = people_file_prepare(db, path,
                                 "INSERT INTO member(shard, person_id, face_id, person, faces,"
                                 " photos, lead, face_path, x0, y0, x1, y1) VALUES (?1, ?2, ?3,"
                                 " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                                 &member, err);
    if (rc == FS_OK)
        rc = people_file_prepare(db, path,
                                 "UPDATE person SET name = ?2 WHERE id = ?1 AND name IS NULL"
                                 " AND NOT EXISTS (SELECT 1 FROM person WHERE name = ?2)",
                                 &name, err);
    for (size_t k = 0; k < g->n_groups && rc == FS_OK; k++) {
        const group *gr = &g->groups[k];
        const fs_people_unit *lead = &g->u->items[gr->lead];
        sqlite3_bind_int64(person, 1, gr->id);
        sqlite3_bind_int64(person, 2, (sqlite3_int64)gr->faces);
        sqlite3_bind_int64(person, 3, (sqlite3_int64)gr->photos);
        sqlite3_bind_int64(person, 4, fs_library_id(lead->face_id, lead->shard, count));
        sqlite3_bind_text(person, 5, lead->path ? lead->path : "", -1, SQLITE_STATIC);
        for (int c = 0; c < 4; c++)
            sqlite3_bind_double(person, 6 + c, lead->box[c]);
        rc = people_file_run(db, path, person, err);
        for (size_t i = gr->first; i < gr->first + gr->n && rc == FS_OK; i++) {
            const fs_people_unit *u = &g->u->items[g->order[i]];
            sqlite3_bind_int(member, 1, u->shard);
            sqlite3_bind_int64(member, 2, u->person_id);
            sqlite3_bind_int64(member, 3, u->person_id ? 0 : u->face_id);
            sqlite3_bind_int64(member, 4, gr->id);
            sqlite3_bind_int64(member, 5, (sqlite3_int64)u->faces);
            sqlite3_bind_int64(member, 6, (sqlite3_int64)u->photos);
            sqlite3_bind_int64(member, 7, fs_library_id(u->face_id, u->shard, count));
            sqlite3_bind_text(member, 8, u->path ? u->path : "", -1, SQLITE_STATIC);
            for (int c = 0; c < 4; c++)
                sqlite3_bind_double(member, 9 + c, u->box[c]);
            rc = people_file_run(db, path, member, err);
        }
        for (size_t i = gr->first; i < gr->first + gr->n && rc == FS_OK; i++) {
            const fs_people_unit *u = &g->u->items[g->order[i]];
            if (!u->name || !u->name[0])
                continue;
            sqlite3_bind_int64(name, 1, gr->id);
            sqlite3_bind_text(name, 2, u->name, -1, SQLITE_STATIC);
            rc = people_file_run(db, path, name, err);
            if (rc == FS_OK && sqlite3_changes(db) > 0)
                break;
        }
    }
    sqlite3_finalize(person);
    sqlite3_finalize(member);
    sqlite3_finalize(name);
    if (rc == FS_OK)
        rc = people_file_exec(db, path,
                              "DELETE FROM person WHERE faces = 0 AND name IS NULL;"
                              "DELETE FROM pin WHERE person NOT IN (SELECT id FROM person);"
                              "DELETE FROM reject WHERE person NOT IN (SELECT id FROM person)",
                              err);
    return rc;
}

/* The library's counts of faces judged unsure and not seen (the shards'), and of the units' faces
 * in no group. */
static fs_status write_counts(sqlite3 *db, const char *path, const grouping *g, fs_error *err)
{
    size_t faces = 0, grouped = 0;
    for (size_t i = 0; i < g->u->count; i++)
        faces += g->u->items[i].faces;
    for (size_t k = 0; k < g->n_groups; k++)
        grouped += g->groups[k].faces;
    sqlite3_stmt *s = NULL;
    fs_status rc = people_file_exec(db, path, "DELETE FROM counts", err);
    if (rc == FS_OK)
        rc = people_file_prepare(db, path, "INSERT INTO counts VALUES (?1, ?2, ?3)", &s, err);
    if (rc == FS_OK) {
        sqlite3_bind_int64(s, 1, (sqlite3_int64)g->u->unsure);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)(faces - grouped));
        sqlite3_bind_int64(s, 3, (sqlite3_int64)g->u->unseen);
        rc = people_file_run(db, path, s, err);
    }
    sqlite3_finalize(s);
    return rc;
}

/* How many merges, moves and rejects the file has seen (people_edit.c counts them): a grouping
 * made before one of them is stale. Names need no such care: an update reads them in its
 * transaction. */
static fs_status edits_seen(sqlite3 *db, const char *path, int64_t *n, fs_error *err)
{
    sqlite3_stmt *s = NULL;
    fs_status rc = people_file_prepare(db, path, "SELECT coalesce(max(n), 0) FROM edits", &s, err);
    if (rc == FS_OK && sqlite3_step(s) != SQLITE_ROW)
        rc = people_file_fail(db, path, err);
    if (rc == FS_OK)
        *n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc;
}

/* One grouping of the units under the decisions of the file, written if no edit was written
 * meanwhile (*again set, nothing written, when one was). */
static fs_status group_and_write(sqlite3 *db, const char *path, int count,
                                 const fs_people_units *units, float threshold,
                                 fs_people_summary *summary, int *again, fs_error *err)
{
    *again = 0;
    decisions d = {0};
    grouping g = {0};
    unit_person *old = NULL;
    named *names = NULL;
    size_t n_old = 0, n_names = 0, new_people = 0;
    int64_t max_id = 0, before = 0, after = 0;
    int began = 0;
    fs_status rc = edits_seen(db, path, &before, err);
    if (rc == FS_OK)
        rc = load_decisions(db, path, &d, err);
    if (rc == FS_OK)
        rc = group_units(units, count, threshold, &d, &g, err);
    if (rc == FS_OK) {
        began = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
        rc = began ? edits_seen(db, path, &after, err) : people_file_fail(db, path, err);
    }
    if (rc == FS_OK && after != before)
        *again = 1;
    if (rc == FS_OK && !*again)
        rc = load_old(db, path, &old, &n_old, &max_id, err);
    if (rc == FS_OK && !*again)
        rc = load_named(db, path, &names, &n_names, err);
    if (rc == FS_OK && !*again)
        rc = assign_ids(&g, old, n_old, names, n_names, max_id, &new_people, err);
    if (rc == FS_OK && !*again)
        rc = write_groups(db, path, &g, count, err);
    if (rc == FS_OK && !*again)
        rc = write_counts(db, path, &g, err);
    if (rc == FS_OK && !*again)
        rc = people_file_exec(db, path, "COMMIT", err);
    if ((rc != FS_OK || *again) && began)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (rc == FS_OK && !*again && summary) {
        summary->people = g.n_groups;
        summary->new_people = new_people;
    }
    free(old);
    named_free(names, n_names);
    grouping_free(&g);
    decisions_free(&d);
    return rc;
}

fs_status fs_library_people_update(const char *dir, const fs_people_units *units,
                                   float threshold, float search_threshold,
                                   fs_people_summary *summary, fs_error *err)
{
    double t0 = util_now();
    if (summary)
        memset(summary, 0, sizeof *summary);
    float t = threshold > 0 ? threshold
                            : people_default_threshold(search_threshold, PEOPLE_GRAPH);
    if (!(threshold >= 0 && t > 0 && t <= 1))
        return util_fail(err, FS_ERR_ARG, "people: the threshold must be in (0, 1]");
    sqlite3 *db;
    char path[PATH_MAX];
    int count;
    fs_status rc = people_file_open(dir, PEOPLE_FILE_CREATE, &db, path, sizeof path, &count, err);
    if (rc != FS_OK)
        return rc;
    for (size_t i = 0; i < units->count && rc == FS_OK; i++)
        if (units->items[i].shard < 0 || units->items[i].shard >= count)
            rc = util_fail(err, FS_ERR_ARG, "%s: a unit of shard %d, of a library of %d", dir,
                           units->items[i].shard, count);
    for (size_t i = 0; i < units->n_renames && rc == FS_OK; i++) {
        const fs_unit_rename *r = &units->renames[i];
        if (r->from.shard < 0 || r->from.shard >= count || r->to.shard != r->from.shard)
            rc = util_fail(err, FS_ERR_ARG, "%s: a rename from shard %d to shard %d, in a "
                           "library of %d", dir, r->from.shard, r->to.shard, count);
    }
    if (rc == FS_OK && units->count && units->dim <= 0)
        rc = util_fail(err, FS_ERR_ARG, "people: units without embeddings");
    size_t dropped = 0;
    if (rc == FS_OK)
        rc = people_file_follow(db, path, units->renames, units->n_renames, &dropped, err);
    int again = 1;
    for (int attempt = 0; rc == FS_OK && again && attempt < ATTEMPTS; attempt++)
        rc = group_and_write(db, path, count, units, t, summary, &again, err);
    if (rc == FS_OK && again)
        rc = util_fail(err, FS_ERR_BUSY,
                       "%s: the people were edited during each of %d groupings; group them "
                       "again", path, ATTEMPTS);
    if (rc == FS_OK && summary) {
        summary->edits_dropped = dropped;
        for (size_t i = 0; i < units->count; i++)
            summary->faces += units->items[i].faces;
        summary->seconds = util_now() - t0;
    }
    sqlite3_close(db);
    return rc;
}
