/*
 * people.c — the people of a sharded library (facesearch.h, "People of a sharded library"): the
 * shards' units (src/people/units.c) grouped across the shards, and DIR/people.db that keeps
 * them. The grouping is the one of a single index (src/people/knn.c, cluster.c) over the units'
 * mean embeddings, with each unit's shard standing for its "photo": units of one shard are never
 * one person, as two faces of one photo never are.
 *
 * DIR/people.db is SQLite (user_version 1):
 *     person(id INTEGER PRIMARY KEY, name TEXT UNIQUE, faces, photos,
 *            face_id, face_path, x0, y0, x1, y1)          the representative face, library id
 *     member(shard, person_id, face_id, person, faces)    a unit: a shard's person (face_id 0)
 *                                                          or a face in none (person_id 0)
 * An update replaces every member row and every person's counts in one transaction (a kill
 * leaves the file as it was before or after), and keeps an earlier person's id and name for the
 * group that holds most of its faces. Persons with neither faces nor a name are dropped.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "people/people.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/paths.h"

#define PEOPLE_FILE "people.db"
#define NEIGHBOURS 24 /* k of the units' similarity graph (as a single index's) */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS person(id INTEGER PRIMARY KEY, name TEXT UNIQUE,"
    " faces INTEGER NOT NULL, photos INTEGER NOT NULL, face_id INTEGER NOT NULL,"
    " face_path TEXT, x0 REAL, y0 REAL, x1 REAL, y1 REAL);"
    "CREATE TABLE IF NOT EXISTS member(shard INTEGER NOT NULL, person_id INTEGER NOT NULL,"
    " face_id INTEGER NOT NULL, person INTEGER NOT NULL, faces INTEGER NOT NULL,"
    " PRIMARY KEY (shard, person_id, face_id));"
    "CREATE INDEX IF NOT EXISTS member_person ON member(person);"
    "PRAGMA user_version = 1;";

/* ---- The file ----------------------------------------------------------------------------- */

static fs_status db_fail(sqlite3 *db, const char *path, fs_error *err)
{
    int code = sqlite3_errcode(db);
    return util_fail(err, code == SQLITE_NOMEM ? FS_ERR_NOMEM
                          : code == SQLITE_NOTADB || code == SQLITE_CORRUPT ? FS_ERR_FORMAT
                                                                              : FS_ERR_IO,
                     "%s: %s", path, sqlite3_errmsg(db));
}

enum { READ, WRITE, CREATE };

/* Opens DIR/people.db for mode (CREATE: made when absent) after checking that dir is a sharded
 * library; *count gets its shard count. No file yet, but for CREATE: FS_ERR_NOT_FOUND. */
static fs_status open_people(const char *dir, int mode, sqlite3 **db, char *path, size_t size,
                             int *count, fs_error *err)
{
    *db = NULL;
    fs_shards_info info;
    fs_status rc = fs_shards_open(dir, &info, err);
    if (rc != FS_OK)
        return rc;
    *count = info.count;
    if (util_path_join(path, size, dir, PEOPLE_FILE))
        return util_fail(err, FS_ERR_LIMIT, "%s: path too long", dir);
    struct stat st;
    if (mode != CREATE && stat(path, &st) != 0)
        return errno == ENOENT
                   ? util_fail(err, FS_ERR_NOT_FOUND,
                               "%s: no people yet (group them: mpirun -np N facesearch people "
                               "update --shards %s)", dir, dir)
                   : util_fail(err, FS_ERR_IO, "%s: %s", path, strerror(errno));
    int flags = mode == READ ? SQLITE_OPEN_READONLY
                : SQLITE_OPEN_READWRITE | (mode == CREATE ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
        rc = *db ? db_fail(*db, path, err)
                 : util_fail(err, FS_ERR_NOMEM, "%s: out of memory", path);
        sqlite3_close(*db);
        *db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(*db, 10000);
    sqlite3_stmt *s = NULL;
    int version = -1;
    if (sqlite3_exec(*db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(*db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version < 0)
        rc = db_fail(*db, path, err);
    else if (version > 1 || (version == 0 && mode != CREATE))
        rc = util_fail(err, FS_ERR_FORMAT, "%s: not a facesearch people file (version %d)", path,
                       version);
    else if (version == 0 && sqlite3_exec(*db, schema, NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(*db, path, err);
    if (rc != FS_OK) {
        sqlite3_close(*db);
        *db = NULL;
    }
    return rc;
}

/* ---- Grouping ----------------------------------------------------------------------------- */

typedef struct group {
    size_t first, n;           /* its units: order[first .. first + n) */
    size_t faces, photos;
    size_t lead;               /* the unit with most faces (its face represents the group) */
    int64_t id;                /* the library person: kept or new */
    int kept;
} group;

typedef struct grouping {
    const fs_people_units *u;
    size_t *order;             /* unit indices, group by group */
    group *groups;
    size_t n_groups;           /* of two faces or more */
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

/* The units grouped at threshold into g (groups of two faces or more, most faces first). The
 * units are taken in shard order, so the result does not depend on how they were gathered.
 * Every unit's shard is in [0, count), count <= 999 (checked by the caller). */
static fs_status group_units(const fs_people_units *u, int count, float threshold,
                             grouping *g, fs_error *err)
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
    uint32_t *label = malloc(n * sizeof *label);
    size_t *size = NULL, n_labels = 0;
    people_graph graph = {0};
    fs_status rc = by_shard && codes && scales && shard && label
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
        people_vecs v = {.n = n, .dim = u->dim, .i8 = codes, .scale = scales};
        rc = people_knn(&v, NEIGHBOURS, threshold, NULL, &graph, err);
    }
    if (rc == FS_OK) {
        people_problem p = {.n = n, .graph = &graph, .photo = shard, .threshold = threshold};
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
        for (size_t i = 0; i < n; i++)
            size[label[i] + 1]++;
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
            if (g->groups[l].faces >= 2)
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
    free(label);
    free(size);
    if (rc != FS_OK)
        grouping_free(g);
    return rc;
}

/* ---- Ids that stay put -------------------------------------------------------------------- */

typedef struct old_member {
    int64_t shard, person_id, face_id;
    int64_t person;
} old_member;

static int cmp_old(const void *x, const void *y)
{
    const old_member *a = x, *b = y;
    if (a->shard != b->shard)
        return (a->shard > b->shard) - (a->shard < b->shard);
    if (a->person_id != b->person_id)
        return (a->person_id > b->person_id) - (a->person_id < b->person_id);
    return (a->face_id > b->face_id) - (a->face_id < b->face_id);
}

/* The members of the last update, sorted, into *out; *max_id the highest person id. */
static fs_status load_old(sqlite3 *db, const char *path, old_member **out, size_t *n,
                          int64_t *max_id, fs_error *err)
{
    *out = NULL;
    *n = 0;
    *max_id = 0;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    fs_status rc = FS_OK;
    if (sqlite3_prepare_v2(db, "SELECT shard, person_id, face_id, person FROM member", -1, &s,
                           NULL) != SQLITE_OK)
        return db_fail(db, path, err);
    int step;
    while (rc == FS_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        old_member *grown = util_grow(*out, &cap, *n + 1, sizeof *grown, 256);
        if (!grown) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            break;
        }
        *out = grown;
        old_member *m = &(*out)[(*n)++];
        m->shard = sqlite3_column_int64(s, 0);
        m->person_id = sqlite3_column_int64(s, 1);
        m->face_id = sqlite3_column_int64(s, 2);
        m->person = sqlite3_column_int64(s, 3);
    }
    if (rc == FS_OK && step != SQLITE_DONE)
        rc = db_fail(db, path, err);
    sqlite3_finalize(s);
    if (rc == FS_OK &&
        (sqlite3_prepare_v2(db, "SELECT max(id) FROM person", -1, &s, NULL) != SQLITE_OK ||
         sqlite3_step(s) != SQLITE_ROW))
        rc = db_fail(db, path, err);
    else if (rc == FS_OK)
        *max_id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc == FS_OK && *n)
        qsort(*out, *n, sizeof **out, cmp_old);
    return rc;
}

/* Persons of the last update left with a name and no face (waiting for their faces to come back). */
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
        return db_fail(db, path, err);
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
        rc = db_fail(db, path, err);
    sqlite3_finalize(s);
    if (rc == FS_OK && *n)
        qsort(*out, *n, sizeof **out, cmp_named);
    return rc;
}

static int64_t old_person(const old_member *old, size_t n, const fs_people_unit *u)
{
    old_member key = {u->shard, u->person_id, u->person_id ? 0 : u->face_id, 0};
    const old_member *m = n ? bsearch(&key, old, n, sizeof *old, cmp_old) : NULL;
    return m ? m->person : 0;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Each group's id: the earlier person that held most of its faces (more than half), when no
 * larger group took it first; else the named person without faces whose name one of its units
 * carries; else a new one. A group holds at most one unit per shard. */
static fs_status assign_ids(grouping *g, const old_member *old, size_t n_old, named *names,
                            size_t n_names, int64_t max_id, size_t *new_people, fs_error *err)
{
    /* the earlier persons, distinct and sorted, each with whether a group has taken it */
    int64_t *ids = malloc((n_old ? n_old : 1) * sizeof *ids);
    unsigned char *taken = calloc(n_old ? n_old : 1, 1);
    if (!ids || !taken) {
        free(ids);
        free(taken);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    size_t n_ids = 0;
    for (size_t i = 0; i < n_old; i++)
        ids[n_ids++] = old[i].person;
    qsort(ids, n_ids, sizeof *ids, cmp_i64);
    size_t distinct = 0;
    for (size_t i = 0; i < n_ids; i++)
        if (!distinct || ids[distinct - 1] != ids[i])
            ids[distinct++] = ids[i];
    *new_people = 0;
    for (size_t k = 0; k < g->n_groups; k++) {
        group *gr = &g->groups[k];
        int64_t best = 0;
        size_t best_faces = 0;
        for (size_t i = gr->first; i < gr->first + gr->n; i++) {
            int64_t id = old_person(old, n_old, &g->u->items[g->order[i]]);
            const int64_t *at = id ? bsearch(&id, ids, distinct, sizeof *ids, cmp_i64) : NULL;
            if (!at || taken[at - ids])
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
    free(ids);
    free(taken);
    return FS_OK;
}

/* ---- Writing ------------------------------------------------------------------------------ */

static fs_status prepare(sqlite3 *db, const char *path, const char *sql, sqlite3_stmt **s,
                         fs_error *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK)
        return db_fail(db, path, err);
    return FS_OK;
}

/* Runs a prepared statement that returns no row, reset for the next use. */
static fs_status run(sqlite3 *db, const char *path, sqlite3_stmt *s, fs_error *err)
{
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    return step == SQLITE_DONE ? FS_OK : db_fail(db, path, err);
}

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
        rc = db_fail(db, path, err);
    if (rc == FS_OK)
        rc = prepare(db, path,
                     "INSERT INTO person(id, faces, photos, face_id, face_path, x0, y0, x1, y1)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO UPDATE SET"
                     " faces = excluded.faces, photos = excluded.photos,"
                     " face_id = excluded.face_id, face_path = excluded.face_path,"
                     " x0 = excluded.x0, y0 = excluded.y0, x1 = excluded.x1, y1 = excluded.y1",
                     &person, err);
    if (rc == FS_OK)
        rc = prepare(db, path, "INSERT INTO member VALUES (?1, ?2, ?3, ?4, ?5)", &member, err);
    if (rc == FS_OK)
        rc = prepare(db, path,
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
        rc = run(db, path, person, err);
        for (size_t i = gr->first; i < gr->first + gr->n && rc == FS_OK; i++) {
            const fs_people_unit *u = &g->u->items[g->order[i]];
            sqlite3_bind_int(member, 1, u->shard);
            sqlite3_bind_int64(member, 2, u->person_id);
            sqlite3_bind_int64(member, 3, u->person_id ? 0 : u->face_id);
            sqlite3_bind_int64(member, 4, gr->id);
            sqlite3_bind_int64(member, 5, (sqlite3_int64)u->faces);
            rc = run(db, path, member, err);
        }
        for (size_t i = gr->first; i < gr->first + gr->n && rc == FS_OK; i++) {
            const fs_people_unit *u = &g->u->items[g->order[i]];
            if (!u->name || !u->name[0])
                continue;
            sqlite3_bind_int64(name, 1, gr->id);
            sqlite3_bind_text(name, 2, u->name, -1, SQLITE_STATIC);
            rc = run(db, path, name, err);
            if (rc == FS_OK && sqlite3_changes(db) > 0)
                break;
        }
    }
    sqlite3_finalize(person);
    sqlite3_finalize(member);
    sqlite3_finalize(name);
    if (rc == FS_OK && sqlite3_exec(db, "DELETE FROM person WHERE faces = 0 AND name IS NULL",
                                    NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(db, path, err);
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
    fs_status rc = open_people(dir, CREATE, &db, path, sizeof path, &count, err);
    if (rc != FS_OK)
        return rc;
    for (size_t i = 0; i < units->count && rc == FS_OK; i++)
        if (units->items[i].shard < 0 || units->items[i].shard >= count)
            rc = util_fail(err, FS_ERR_ARG, "%s: a unit of shard %d, of a library of %d", dir,
                           units->items[i].shard, count);
    if (rc == FS_OK && units->count && units->dim <= 0)
        rc = util_fail(err, FS_ERR_ARG, "people: units without embeddings");
    grouping g = {0};
    if (rc == FS_OK)
        rc = group_units(units, count, t, &g, err);
    old_member *old = NULL;
    named *names = NULL;
    size_t n_old = 0, n_names = 0, new_people = 0;
    int64_t max_id = 0;
    int began = 0;
    if (rc == FS_OK) {
        began = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
        rc = began ? FS_OK : db_fail(db, path, err);
    }
    if (rc == FS_OK)
        rc = load_old(db, path, &old, &n_old, &max_id, err);
    if (rc == FS_OK)
        rc = load_named(db, path, &names, &n_names, err);
    if (rc == FS_OK)
        rc = assign_ids(&g, old, n_old, names, n_names, max_id, &new_people, err);
    if (rc == FS_OK)
        rc = write_groups(db, path, &g, count, err);
    if (rc == FS_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(db, path, err);
    if (rc != FS_OK && began)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (rc == FS_OK && summary) {
        for (size_t i = 0; i < units->count; i++)
            summary->faces += units->items[i].faces;
        summary->people = g.n_groups;
        summary->new_people = new_people;
        summary->seconds = util_now() - t0;
    }
    free(old);
    named_free(names, n_names);
    grouping_free(&g);
    sqlite3_close(db);
    return rc;
}

/* ---- Reading ------------------------------------------------------------------------------ */

#define PERSON_COLUMNS "id, name, faces, photos, face_id, face_path, x0, y0, x1, y1"

/* The person of the row at s (PERSON_COLUMNS) into *out. */
static fs_status read_person(sqlite3_stmt *s, fs_person *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(s, 0);
    out->faces = (size_t)sqlite3_column_int64(s, 2);
    out->photos = (size_t)sqlite3_column_int64(s, 3);
    out->face_id = sqlite3_column_int64(s, 4);
    const char *name = (const char *)sqlite3_column_text(s, 1);
    const char *path = (const char *)sqlite3_column_text(s, 5);
    if ((name && !(out->name = strdup(name))) || (path && !(out->face_path = strdup(path)))) {
        fs_person_clear(out);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    for (int c = 0; c < 4; c++)
        out->face_box[c] = (float)sqlite3_column_double(s, 6 + c);
    return FS_OK;
}

fs_status fs_library_people_list(const char *dir, fs_people *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db;
    char path[PATH_MAX];
    int count;
    fs_status rc = open_people(dir, READ, &db, path, sizeof path, &count, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    rc = prepare(db, path, "SELECT " PERSON_COLUMNS " FROM person ORDER BY faces DESC, id", &s,
                 err);
    int step = SQLITE_DONE;
    while (rc == FS_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        fs_person *grown = util_grow(out->items, &cap, out->count + 1, sizeof *grown, 16);
        if (!grown) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            break;
        }
        out->items = grown;
        rc = read_person(s, &out->items[out->count], err);
        out->count += rc == FS_OK;
    }
    if (rc == FS_OK && step != SQLITE_DONE)
        rc = db_fail(db, path, err);
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (rc != FS_OK)
        fs_people_free(out);
    return rc;
}

/* The person of the prepared, bound statement s (PERSON_COLUMNS; finalized here), if it has a
 * row: *found 1 and *out filled. */
static fs_status step_person(sqlite3 *db, const char *path, sqlite3_stmt *s, fs_person *out,
                             int *found, fs_error *err)
{
    fs_status rc = FS_OK;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        rc = read_person(s, out, err);
        *found = rc == FS_OK;
    } else if (step != SQLITE_DONE) {
        rc = db_fail(db, path, err);
    }
    sqlite3_finalize(s);
    return rc;
}

/* The person of id. *found 0 when none. */
static fs_status person_of_id(sqlite3 *db, const char *path, int64_t id, fs_person *out,
                              int *found, fs_error *err)
{
    *found = 0;
    sqlite3_stmt *s = NULL;
    fs_status rc = prepare(db, path, "SELECT " PERSON_COLUMNS " FROM person WHERE id = ?1", &s,
                           err);
    if (rc != FS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    return step_person(db, path, s, out, found, err);
}

/* The person of key: its name, else its number. *found 0 when none. */
static fs_status person_of_key(sqlite3 *db, const char *path, const char *key, fs_person *out,
                               int *found, fs_error *err)
{
    *found = 0;
    sqlite3_stmt *s = NULL;
    fs_status rc = prepare(db, path, "SELECT " PERSON_COLUMNS " FROM person WHERE name = ?1",
                           &s, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    rc = step_person(db, path, s, out, found, err);
    if (rc != FS_OK || *found)
        return rc;
    char *end;
    errno = 0;
    long long id = strtoll(key, &end, 10);
    if (!*key || *end || errno != 0 || id <= 0)
        return FS_OK;
    return person_of_id(db, path, id, out, found, err);
}

/* The members of person id into *members (*n of them), of a library of count shards. */
static fs_status members_of(sqlite3 *db, const char *path, int count, int64_t id,
                            fs_library_member **members, size_t *n, fs_error *err)
{
    sqlite3_stmt *s = NULL;
    fs_status rc = prepare(db, path,
                           "SELECT shard, person_id, face_id FROM member WHERE person = ?1"
                           " ORDER BY shard, person_id, face_id",
                           &s, err);
    size_t cap = 0;
    int step = SQLITE_DONE;
    if (rc == FS_OK)
        sqlite3_bind_int64(s, 1, id);
    while (rc == FS_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        fs_library_member *grown = util_grow(*members, &cap, *n + 1, sizeof *grown, 8);
        if (!grown) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            break;
        }
        *members = grown;
        fs_library_member *m = &(*members)[(*n)++];
        m->shard = sqlite3_column_int(s, 0);
        m->person_id = sqlite3_column_int64(s, 1);
        m->face_id = sqlite3_column_int64(s, 2);
        if (m->shard < 0 || m->shard >= count)
            rc = util_fail(err, FS_ERR_FORMAT, "%s: a member of shard %d, of a library of %d",
                           path, m->shard, count);
    }
    if (rc == FS_OK && step != SQLITE_DONE)
        rc = db_fail(db, path, err);
    sqlite3_finalize(s);
    return rc;
}

/* The person of key (a name or a number) or, key NULL, of id, and its members. */
static fs_status person_with_members(const char *dir, const char *key, int64_t id,
                                     fs_person *out, fs_library_member **members, size_t *n,
                                     fs_error *err)
{
    memset(out, 0, sizeof *out);
    *members = NULL;
    *n = 0;
    sqlite3 *db;
    char path[PATH_MAX];
    int count, found = 0;
    fs_status rc = open_people(dir, READ, &db, path, sizeof path, &count, err);
    if (rc != FS_OK)
        return rc;
    rc = key ? person_of_key(db, path, key, out, &found, err)
             : person_of_id(db, path, id, out, &found, err);
    if (rc == FS_OK && !found)
        rc = key ? util_fail(err, FS_ERR_NOT_FOUND, "no person named or numbered '%s'", key)
                 : util_fail(err, FS_ERR_NOT_FOUND, "person %lld: no such person",
                             (long long)id);
    if (rc == FS_OK)
        rc = members_of(db, path, count, out->id, members, n, err);
    sqlite3_close(db);
    if (rc != FS_OK) {
        fs_person_clear(out);
        free(*members);
        *members = NULL;
        *n = 0;
    }
    return rc;
}

fs_status fs_library_person_find(const char *dir, const char *key, fs_person *out,
                                 fs_library_member **members, size_t *n, fs_error *err)
{
    return person_with_members(dir, key ? key : "", 0, out, members, n, err);
}

fs_status fs_library_person_get(const char *dir, int64_t id, fs_person *out,
                                fs_library_member **members, size_t *n, fs_error *err)
{
    return person_with_members(dir, NULL, id, out, members, n, err);
}

fs_status fs_library_people_name(const char *dir, int64_t id, const char *name, fs_error *err)
{
    sqlite3 *db;
    char path[PATH_MAX];
    int count;
    fs_status rc = open_people(dir, WRITE, &db, path, sizeof path, &count, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_stmt *s = NULL;
    rc = prepare(db, path, "UPDATE person SET name = ?2 WHERE id = ?1", &s, err);
    if (rc == FS_OK) {
        sqlite3_bind_int64(s, 1, id);
        if (name && name[0])
            sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        int step = sqlite3_step(s);
        if (step == SQLITE_CONSTRAINT)
            rc = util_fail(err, FS_ERR_ARG, "another person is named '%s'", name);
        else if (step != SQLITE_DONE)
            rc = db_fail(db, path, err);
        else if (sqlite3_changes(db) == 0)
            rc = util_fail(err, FS_ERR_NOT_FOUND, "no person numbered %lld", (long long)id);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}
