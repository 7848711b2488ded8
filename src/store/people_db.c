/*
 * people_db.c — the SQLite side of people (grouping faces into persons): the people rows, each
 * face's person and quality (face_people), and the user's decisions (people_decisions), whose
 * schema is migration 2 in db.c. The grouping itself is in src/people/; this file only reads and
 * writes rows. Every write goes through store_write_begin/end: one transaction of its own, or a
 * savepoint inside the caller's batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_internal.h"
#include "util/error.h"

#define FACE_COLUMNS                                                                              \
    "faces.id, faces.file_id, files.sha256, faces.x1, faces.y1, faces.x2, faces.y2,"             \
    " faces.landmarks, faces.score, fp.person_id, fp.quality, fp.face_id IS NOT NULL,"           \
    " fp.pinned, faces.face_index, files.path, faces.quality"
#define FACE_FROM                                                                                 \
    " FROM faces JOIN files ON files.id = faces.file_id"                                          \
    " LEFT JOIN face_people fp ON fp.face_id = faces.id"

/* A statement prepared for this call (people queries are rare: no cache). */
static fs_status prepare(store_db *store, const char *sql, sqlite3_stmt **s, fs_error *err)
{
    if (store->schema < 2) { /* a reader of an index no writer has migrated yet */
        *s = NULL;
        return util_fail(err, FS_ERR_NOT_FOUND,
                         "%s: no people yet (run `facesearch people update`)", store->dir);
    }
    char *old = NULL; /* schema 2 has no faces.quality: the reader reads NULL instead */
    const char *col = "faces.quality", *at;
    if (store->schema < 3 && (at = strstr(sql, col)) != NULL) {
        size_t len = strlen(sql);
        if (!(old = malloc(len + 1)))
            return util_fail(err, FS_ERR_NOMEM, "out of memory");
        char *o = old;
        for (const char *p = sql; *p;) {
            if (p == at) {
                memcpy(o, "NULL", 4);
                o += 4;
                p += strlen(col);
                at = strstr(p, col);
            } else {
                *o++ = *p++;
            }
        }
        *o = 0;
        sql = old;
    }
    int sqlrc = sqlite3_prepare_v2(store->db, sql, -1, s, NULL);
    free(old);
    if (sqlrc != SQLITE_OK) {
        *s = NULL;
        return store_sql_fail(store, err, "prepare");
    }
    return FS_OK;
}

static void read_face(sqlite3_stmt *s, store_people_face *f)
{
    memset(f, 0, sizeof *f);
    f->face_id = sqlite3_column_int64(s, 0);
    f->file_id = sqlite3_column_int64(s, 1);
    const unsigned char *sha = sqlite3_column_text(s, 2);
    snprintf(f->sha256, sizeof f->sha256, "%s", sha ? (const char *)sha : "");
    for (int k = 0; k < 4; k++)
        f->box[k] = (float)sqlite3_column_double(s, 3 + k);
    if (sqlite3_column_bytes(s, 7) == (int)sizeof f->landmarks)
        memcpy(f->landmarks, sqlite3_column_blob(s, 7), sizeof f->landmarks);
    f->score = (float)sqlite3_column_double(s, 8);
    f->person_id = sqlite3_column_int64(s, 9);
    f->quality = (float)sqlite3_column_double(s, 10);
    f->seen = sqlite3_column_int(s, 11);
    f->pinned = sqlite3_column_int(s, 12);
    f->face_index = sqlite3_column_int(s, 13);
    f->face_quality = sqlite3_column_type(s, 15) == SQLITE_NULL
                          ? -1.0f
                          : (float)sqlite3_column_double(s, 15);
}

/* Steps s and visits each face with its path (a fresh string per row). */
static fs_status visit_faces(store_db *store, sqlite3_stmt *s, store_people_face_visit visit,
                             void *ctx, fs_error *err)
{
    int sqlrc;
    char *path = NULL;
    size_t cap = 0;
    fs_status rc = FS_OK;
    while ((sqlrc = sqlite3_step(s)) == SQLITE_ROW) {
        store_people_face f;
        read_face(s, &f);
        size_t n = (size_t)sqlite3_column_bytes(s, 14);
        if (n + 1 > cap) {
            char *p = realloc(path, n + 1);
            if (!p) {
                rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
                break;
            }
            path = p;
            cap = n + 1;
        }
        if (n)
            memcpy(path, sqlite3_column_blob(s, 14), n);
        path[n] = '\0';
        f.path = path;
        if (visit(&f, ctx))
            break;
    }
    free(path);
    if (rc == FS_OK && sqlrc != SQLITE_ROW && sqlrc != SQLITE_DONE)
        rc = store_sql_fail(store, err, "read faces");
    return rc;
}

/* The faces without a face_people row: from people_unseen (schema 4), its rows read in order
 * (CROSS JOIN keeps it the outer loop), else by looking at every face. */
#define UNSEEN_FROM                                                                               \
    " FROM people_unseen u CROSS JOIN faces ON faces.id = u.face_id"                              \
    " JOIN files ON files.id = faces.file_id LEFT JOIN face_people fp ON fp.face_id = faces.id"   \
    " WHERE fp.face_id IS NULL ORDER BY u.face_id"

fs_status store_people_faces(store_db *store, int only_unseen, store_people_face_visit visit,
                             void *ctx, fs_error *err)
{
    sqlite3_stmt *s;
    fs_status rc = prepare(store,
                           !only_unseen ? "SELECT " FACE_COLUMNS FACE_FROM " ORDER BY faces.id"
                           : store->schema >= 4
                               ? "SELECT " FACE_COLUMNS UNSEEN_FROM
                               : "SELECT " FACE_COLUMNS FACE_FROM
                                 " WHERE fp.face_id IS NULL ORDER BY faces.id",
                           &s, err);
    if (rc == FS_OK)
        rc = visit_faces(store, s, visit, ctx, err);
    sqlite3_finalize(s);
    return rc;
}

fs_status store_person_faces(store_db *store, int64_t person_id, store_people_face_visit visit,
                             void *ctx, fs_error *err)
{
    sqlite3_stmt *s;
    fs_status rc = prepare(store,
                           "SELECT " FACE_COLUMNS FACE_FROM " WHERE fp.person_id = ?1"
                           " ORDER BY fp.quality DESC, faces.id",
                           &s, err);
    if (rc == FS_OK) {
        sqlite3_bind_int64(s, 1, person_id);
        rc = visit_faces(store, s, visit, ctx, err);
    }
    sqlite3_finalize(s);
    return rc;
}

fs_status store_people_unsure(store_db *store, float min_quality, store_people_face_visit visit,
                              void *ctx, fs_error *err)
{
    sqlite3_stmt *s;
    fs_status rc = prepare(store,
                           "SELECT " FACE_COLUMNS FACE_FROM " WHERE fp.person_id IS NULL"
                           " AND fp.quality < ?1 ORDER BY fp.quality DESC, faces.id",
                           &s, err);
    if (rc == FS_OK) {
        sqlite3_bind_double(s, 1, min_quality);
        rc = visit_faces(store, s, visit, ctx, err);
    }
    sqlite3_finalize(s);
    return rc;
}

fs_status store_people_faces_of_file(store_db *store, int64_t file_id,
                                     store_people_face_visit visit, void *ctx, fs_error *err)
{
    sqlite3_stmt *s;
    fs_status rc = prepare(store,
                           "SELECT " FACE_COLUMNS FACE_FROM " WHERE faces.file_id = ?1"
                           " ORDER BY faces.face_index",
                           &s, err);
    if (rc == FS_OK) {
        sqlite3_bind_int64(s, 1, file_id);
        rc = visit_faces(store, s, visit, ctx, err);
    }
    sqlite3_finalize(s);
    return rc;
}

#define IDS_PER_QUERY 128

fs_status store_people_faces_by_ids(store_db *store, const int64_t *ids, size_t n,
                                    store_people_face_visit visit, void *ctx, fs_error *err)
{
    char sql[512 + 2 * IDS_PER_QUERY];
    fs_status rc = FS_OK;
    for (size_t at = 0; at < n && rc == FS_OK; at += IDS_PER_QUERY) {
        size_t k = n - at < IDS_PER_QUERY ? n - at : IDS_PER_QUERY;
        int len =
            snprintf(sql, sizeof sql, "SELECT " FACE_COLUMNS FACE_FROM " WHERE faces.id IN (");
        for (size_t i = 0; i < k; i++)
            len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
        snprintf(sql + len, sizeof sql - (size_t)len, ")");
        sqlite3_stmt *s;
        if ((rc = prepare(store, sql, &s, err)) != FS_OK)
            break;
        for (size_t i = 0; i < k; i++)
            sqlite3_bind_int64(s, (int)i + 1, ids[at + i]);
        rc = visit_faces(store, s, visit, ctx, err);
        sqlite3_finalize(s);
    }
    return rc;
}

fs_status store_people_face_get(store_db *store, int64_t face_id, store_people_face *out,
                                int *found, fs_error *err)
{
    sqlite3_stmt *s;
    *found = 0;
    fs_status rc = prepare(store, "SELECT " FACE_COLUMNS FACE_FROM " WHERE faces.id = ?1", &s, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, face_id);
    int sqlrc = sqlite3_step(s);
    if (sqlrc == SQLITE_ROW) {
        read_face(s, out);
        *found = 1;
    } else if (sqlrc != SQLITE_DONE) {
        rc = store_sql_fail(store, err, "read a face");
    }
    sqlite3_finalize(s);
    return rc;
}

fs_status store_embeddings(store_db *store, const int64_t *ids, size_t n, float *out,
                           fs_error *err)
{
    size_t bytes = (size_t)store->dim * sizeof(float);
    fs_status rc = FS_OK;
    for (size_t i = 0; i < n && rc == FS_OK; i++) {
        sqlite3_stmt *s = store_stmt(store, ST_EMBEDDING, err);
        if (!s)
            return err ? err->code : FS_ERR_IO;
        sqlite3_bind_int64(s, 1, ids[i]);
        int sqlrc = sqlite3_step(s);
        if (sqlrc == SQLITE_ROW && (size_t)sqlite3_column_bytes(s, 0) == bytes)
            memcpy(out + i * (size_t)store->dim, sqlite3_column_blob(s, 0), bytes);
        else if (sqlrc == SQLITE_ROW)
            rc = util_fail(err, FS_ERR_FORMAT, "%s: face %lld has an embedding of the wrong size",
                           store->db_path, (long long)ids[i]);
        else if (sqlrc == SQLITE_DONE)
            rc = util_fail(err, FS_ERR_NOT_FOUND, "%s: no face %lld", store->db_path,
                           (long long)ids[i]);
        else
            rc = store_sql_fail(store, err, "read an embedding");
        sqlite3_reset(s);
    }
    return rc;
}

fs_status store_people_set(store_db *store, int64_t face_id, int64_t person_id, float quality,
                           int pinned, fs_error *err)
{
    if (store->schema < 2)
        return util_fail(err, FS_ERR_NOT_FOUND, "%s: no people yet", store->dir);
    /* one statement is atomic by itself: inside a batch it needs no savepoint (an update writes
     * a row per face) */
    fs_status rc = store->in_batch ? FS_OK : store_write_begin(store, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_stmt *s = store_stmt(store, ST_PEOPLE_SET, err);
    if (!s) {
        rc = err ? err->code : FS_ERR_IO;
    } else {
        sqlite3_bind_int64(s, 1, face_id);
        if (person_id > 0)
            sqlite3_bind_int64(s, 2, person_id);
        else
            sqlite3_bind_null(s, 2);
        sqlite3_bind_double(s, 3, quality);
        sqlite3_bind_int(s, 4, pinned ? 1 : 0);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store_sql_fail(store, err, "record a face's person");
        sqlite3_reset(s);
    }
    return store->in_batch ? rc : store_write_end(store, rc, err);
}

fs_status store_people_reset(store_db *store, fs_error *err)
{
    fs_status rc = store_write_begin(store, err);
    if (rc == FS_OK)
        rc = store_exec(store, "DELETE FROM face_people WHERE pinned = 0", err);
    return store_write_end(store, rc, err);
}

static void read_person(sqlite3_stmt *s, store_person *p)
{
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(s, 0);
    const unsigned char *name = sqlite3_column_text(s, 1);
    snprintf(p->name, sizeof p->name, "%s", name ? (const char *)name : "");
    p->faces = sqlite3_column_int64(s, 2);
    p->photos = sqlite3_column_int64(s, 3);
    p->best_face = sqlite3_column_int64(s, 4);
    p->decided = sqlite3_column_int(s, 5);
}

#define PERSON_SELECT                                                                             \
    "SELECT people.id, people.name,"                                                              \
    " (SELECT count(*) FROM face_people WHERE person_id = people.id),"                           \
    " (SELECT count(DISTINCT faces.file_id) FROM face_people JOIN faces"                        \
    "   ON faces.id = face_people.face_id WHERE person_id = people.id),"                         \
    " (SELECT face_id FROM face_people WHERE person_id = people.id"                              \
    "   ORDER BY quality DESC, face_id LIMIT 1) AS best,"                                         \
    " people.name IS NOT NULL OR EXISTS (SELECT 1 FROM people_decisions"                          \
    "   WHERE person_id = people.id) FROM people"

fs_status store_people_list(store_db *store, store_person_visit visit, void *ctx, fs_error *err)
{
    /* the best face's box and photo in the same query: one lookup a person would take most of
     * the time of a list of thousands */
    sqlite3_stmt *s;
    fs_status rc = prepare(store,
                           "SELECT p.*, faces.x1, faces.y1, faces.x2, faces.y2, files.path FROM ("
                           PERSON_SELECT ") p LEFT JOIN faces ON faces.id = p.best"
                           " LEFT JOIN files ON files.id = faces.file_id ORDER BY 3 DESC, 1",
                           &s, err);
    if (rc != FS_OK)
        return rc;
    char *path = NULL;
    size_t cap = 0;
    int sqlrc;
    while ((sqlrc = sqlite3_step(s)) == SQLITE_ROW) {
        store_person p;
        read_person(s, &p);
        if (sqlite3_column_type(s, 10) != SQLITE_NULL) {
            size_t n = (size_t)sqlite3_column_bytes(s, 10);
            char *grown = n + 1 > cap ? realloc(path, n + 1) : path;
            if (!grown) {
                rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
                break;
            }
            path = grown;
            cap = n + 1 > cap ? n + 1 : cap;
            if (n)
                memcpy(path, sqlite3_column_blob(s, 10), n);
            path[n] = '\0';
            p.best_path = path;
            for (int c = 0; c < 4; c++)
                p.best_box[c] = (float)sqlite3_column_double(s, 6 + c);
        }
        if (visit(&p, ctx))
            break;
    }
    if (rc == FS_OK && sqlrc != SQLITE_ROW && sqlrc != SQLITE_DONE)
        rc = store_sql_fail(store, err, "list people");
    free(path);
    sqlite3_finalize(s);
    return rc;
}

fs_status store_person_get(store_db *store, int64_t id, const char *name, store_person *out,
                           int *found, fs_error *err)
{
    sqlite3_stmt *s;
    *found = 0;
    fs_status rc = prepare(store, name ? PERSON_SELECT " WHERE people.name = ?1"
                                       : PERSON_SELECT " WHERE people.id = ?1", &s, err);
    if (rc != FS_OK)
        return rc;
    if (name)
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, id);
    int sqlrc = sqlite3_step(s);
    if (sqlrc == SQLITE_ROW) {
        read_person(s, out);
        *found = 1;
    } else if (sqlrc != SQLITE_DONE) {
        rc = store_sql_fail(store, err, "read a person");
    }
    sqlite3_finalize(s);
    return rc;
}

/* A taken name is the user's mistake, not the database's: say so plainly. */
static fs_status name_fail(store_db *store, const char *name, fs_error *err)
{
    if ((sqlite3_extended_errcode(store->db) & 0xff) == SQLITE_CONSTRAINT)
        return util_fail(err, FS_ERR_ARG, "the name '%s' is already another person's", name);
    return store_sql_fail(store, err, "write a person");
}

fs_status store_person_new(store_db *store, const char *name, int64_t *id, fs_error *err)
{
    fs_status rc = store_write_begin(store, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_stmt *s;
    rc = prepare(store, "INSERT INTO people(name, created_at) VALUES (?1, ?2)", &s, err);
    if (rc == FS_OK) {
        if (name)
            sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = name_fail(store, name, err);
        else
            *id = sqlite3_last_insert_rowid(store->db);
    }
    sqlite3_finalize(s);
    return store_write_end(store, rc, err);
}

fs_status store_person_name(store_db *store, int64_t id, const char *name, fs_error *err)
{
    fs_status rc = store_write_begin(store, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_stmt *s;
    rc = prepare(store, "UPDATE people SET name = ?1 WHERE id = ?2", &s, err);
    if (rc == FS_OK) {
        if (name)
            sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, id);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = name_fail(store, name ? name : "", err);
        else if (sqlite3_changes(store->db) == 0)
            rc = util_fail(err, FS_ERR_NOT_FOUND, "no person %lld", (long long)id);
    }
    sqlite3_finalize(s);
    return store_write_end(store, rc, err);
}

/* Runs sql with ?1 = a and ?2 = b (either may be unused). */
static fs_status exec2(store_db *store, const char *sql, int64_t a, int64_t b, fs_error *err)
{
    sqlite3_stmt *s;
    fs_status rc = prepare(store, sql, &s, err);
    if (rc != FS_OK)
        return rc;
    if (sqlite3_bind_parameter_count(s) >= 1)
        sqlite3_bind_int64(s, 1, a);
    if (sqlite3_bind_parameter_count(s) >= 2)
        sqlite3_bind_int64(s, 2, b);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = store_sql_fail(store, err, "write people");
    sqlite3_finalize(s);
    return rc;
}

fs_status store_person_delete(store_db *store, int64_t id, fs_error *err)
{
    fs_status rc = store_write_begin(store, err);
    if (rc != FS_OK)
        return rc;
    /* its faces go back to the grouping: no person, not pinned, not seen */
    rc = exec2(store, "DELETE FROM face_people WHERE person_id = ?1", id, 0, err);
    if (rc == FS_OK)
        rc = exec2(store, "DELETE FROM people WHERE id = ?1", id, 0, err);
    return store_write_end(store, rc, err);
}

fs_status store_people_prune(store_db *store, int64_t *n, fs_error *err)
{
    fs_status rc = store_write_begin(store, err);
    if (rc != FS_OK)
        return rc;
    rc = store_exec(store,
                    "DELETE FROM people WHERE name IS NULL"
                    " AND NOT EXISTS (SELECT 1 FROM face_people WHERE person_id = people.id)"
                    " AND NOT EXISTS (SELECT 1 FROM people_decisions WHERE person_id = people.id)",
                    err);
    if (n)
        *n = rc == FS_OK ? sqlite3_changes(store->db) : 0;
    return store_write_end(store, rc, err);
}

fs_status store_people_merge(store_db *store, int64_t into, int64_t from, fs_error *err)
{
    fs_status rc = store_write_begin(store, err);
    if (rc != FS_OK)
        return rc;
    rc = exec2(store, "UPDATE face_people SET person_id = ?1 WHERE person_id = ?2", into, from,
               err);
    /* a reject of a face from `from` now speaks of `into`: keep it unless it contradicts a pin */
    if (rc == FS_OK)
        rc = exec2(store, "UPDATE people_decisions SET person_id = ?1 WHERE person_id = ?2", into,
                   from, err);
    /* a face of `from` once rejected from `into` (moved out of it, say) is now said to be `into`
     * by the merge: the pin wins, the older reject goes */
    if (rc == FS_OK)
        rc = exec2(store,
                   "DELETE FROM people_decisions WHERE kind = 1 AND person_id = ?1 AND EXISTS"
                   " (SELECT 1 FROM people_decisions AS p WHERE p.kind = 0 AND p.person_id = ?1"
                   " AND p.sha256 = people_decisions.sha256 AND p.x1 = people_decisions.x1 AND"
                   " p.y1 = people_decisions.y1 AND p.x2 = people_decisions.x2 AND"
                   " p.y2 = people_decisions.y2)",
                   into, 0, err);
    if (rc == FS_OK)
        rc = exec2(store, "DELETE FROM people WHERE id = ?1", from, 0, err);
    return store_write_end(store, rc, err);
}

static fs_status count(store_db *store, const char *sql, double q, int64_t *out, fs_error *err)
{
    sqlite3_stmt *s;
    fs_status rc = prepare(store, sql, &s, err);
    if (rc != FS_OK)
        return rc;
    if (sqlite3_bind_parameter_count(s) >= 1)
        sqlite3_bind_double(s, 1, q);
    if (sqlite3_step(s) == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        rc = store_sql_fail(store, err, "count faces");
    sqlite3_finalize(s);
    return rc;
}

fs_status store_people_counts(store_db *store, float min_quality, int64_t *unsure,
                              int64_t *ungrouped, int64_t *unseen, fs_error *err)
{
    fs_status rc = count(store,
                         "SELECT count(*) FROM face_people WHERE person_id IS NULL"
                         " AND quality < ?1", min_quality, unsure, err);
    if (rc == FS_OK)
        rc = count(store,
                   "SELECT count(*) FROM face_people WHERE person_id IS NULL AND quality >= ?1",
                   min_quality, ungrouped, err);
    if (rc == FS_OK)
        rc = count(store,
                   store->schema >= 4 ? "SELECT count(*) FROM people_unseen"
                                      : "SELECT count(*) FROM faces"
                                        " WHERE id NOT IN (SELECT face_id FROM face_people)",
                   0, unseen, err);
    return rc;
}

fs_status store_people_count(store_db *store, int64_t *n, fs_error *err)
{
    *n = 0;
    return count(store, "SELECT count(*) FROM people", 0, n, err);
}

fs_status store_people_any_seen(store_db *store, int *any, fs_error *err)
{
    int64_t n = 0;
    fs_status rc = count(store, "SELECT EXISTS (SELECT 1 FROM face_people)", 0, &n, err);
    *any = n > 0;
    return rc;
}

fs_status store_decisions(store_db *store, const char *sha256, store_decision_visit visit,
                          void *ctx, fs_error *err)
{
    sqlite3_stmt *s;
    fs_status rc = prepare(store,
                           sha256 ? "SELECT person_id, kind, sha256, x1, y1, x2, y2 FROM"
                                    " people_decisions WHERE sha256 = ?1 ORDER BY id"
                                  : "SELECT person_id, kind, sha256, x1, y1, x2, y2 FROM"
                                    " people_decisions ORDER BY id",
                           &s, err);
    if (rc != FS_OK)
        return rc;
    if (sha256)
        sqlite3_bind_text(s, 1, sha256, -1, SQLITE_STATIC);
    int sqlrc;
    while ((sqlrc = sqlite3_step(s)) == SQLITE_ROW) {
        store_decision d;
        d.person_id = sqlite3_column_int64(s, 0);
        d.kind = sqlite3_column_int(s, 1);
        const unsigned char *h = sqlite3_column_text(s, 2);
        snprintf(d.sha256, sizeof d.sha256, "%s", h ? (const char *)h : "");
        for (int k = 0; k < 4; k++)
            d.box[k] = (float)sqlite3_column_double(s, 3 + k);
        if (visit(&d, ctx))
            break;
    }
    if (sqlrc != SQLITE_ROW && sqlrc != SQLITE_DONE)
        rc = store_sql_fail(store, err, "read decisions");
    sqlite3_finalize(s);
    return rc;
}

fs_status store_decide(store_db *store, const store_decision *d, fs_error *err)
{
    if (!d->sha256[0])
        return util_fail(err, FS_ERR_ARG, "a face of a photo of unknown content cannot be"
                                          " placed; index its folder again first");
    fs_status rc = store_write_begin(store, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_stmt *s = NULL;
    /* the face's earlier decisions this one overrides: any pin (a face is one person), and
     * a reject of the person it is now pinned to; or, for a reject, its pin to that person */
    const char *drop = d->kind == STORE_PIN
                           ? "DELETE FROM people_decisions WHERE sha256 = ?1 AND x1 = ?2 AND"
                             " y1 = ?3 AND x2 = ?4 AND y2 = ?5 AND (kind = 0 OR person_id = ?6)"
                           : "DELETE FROM people_decisions WHERE sha256 = ?1 AND x1 = ?2 AND"
                             " y1 = ?3 AND x2 = ?4 AND y2 = ?5 AND person_id = ?6";
    for (int step = 0; step < 2 && rc == FS_OK; step++) {
        rc = prepare(store, step == 0 ? drop
                                      : "INSERT INTO people_decisions(sha256, x1, y1, x2, y2,"
                                        " person_id, kind, made_at) VALUES (?1, ?2, ?3, ?4, ?5,"
                                        " ?6, ?7, ?8)",
                     &s, err);
        if (rc != FS_OK)
            break;
        sqlite3_bind_text(s, 1, d->sha256, -1, SQLITE_STATIC);
        for (int k = 0; k < 4; k++)
            sqlite3_bind_double(s, 2 + k, d->box[k]);
        sqlite3_bind_int64(s, 6, d->person_id);
        if (step == 1) {
            sqlite3_bind_int(s, 7, d->kind);
            sqlite3_bind_int64(s, 8, (int64_t)time(NULL));
        }
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store_sql_fail(store, err, "record a decision");
        sqlite3_finalize(s);
        s = NULL;
    }
    return store_write_end(store, rc, err);
}

/* Imports from the index database at other_db (e.g. the index of the previous model pack) every
 * person that has a name or decisions, with its decisions: a person whose name exists here is
 * merged into that one. The decisions find their faces here by content and box overlap at the
 * next update. */
fs_status store_people_import(store_db *store, const char *other_db, int64_t *people,
                              int64_t *decisions, fs_error *err)
{
    *people = *decisions = 0;
    if (store->in_batch)
        return util_fail(err, FS_ERR_ARG, "%s: import inside a batch", store->dir);
    sqlite3_stmt *s = NULL;
    fs_status rc = prepare(store, "ATTACH DATABASE ?1 AS old", &s, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_bind_text(s, 1, other_db, -1, SQLITE_STATIC);
    int sqlrc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (sqlrc != SQLITE_DONE)
        return store_sql_fail(store, err, "cannot open the other index");
    rc = prepare(store, "SELECT count(*) FROM old.sqlite_master WHERE name = 'people_decisions'",
                 &s, err);
    if (rc == FS_OK) {
        if (sqlite3_step(s) != SQLITE_ROW)
            rc = util_fail(err, FS_ERR_FORMAT, "%s: not a facesearch index", other_db);
        else if (sqlite3_column_int(s, 0) == 0)
            rc = util_fail(err, FS_ERR_NOT_FOUND, "%s: no people in that index", other_db);
        sqlite3_finalize(s);
    }
    if (rc == FS_OK)
        rc = store_begin(store, err); /* a batch: the writes below nest in it */
    if (rc == FS_OK) {
        sqlite3_stmt *p = NULL;
        rc = prepare(store,
                     "SELECT id, name FROM old.people WHERE name IS NOT NULL OR EXISTS"
                     " (SELECT 1 FROM old.people_decisions WHERE person_id = old.people.id)"
                     " ORDER BY id",
                     &p, err);
        while (rc == FS_OK && (sqlrc = sqlite3_step(p)) == SQLITE_ROW) {
            int64_t old_id = sqlite3_column_int64(p, 0), id = 0;
            const char *name = (const char *)sqlite3_column_text(p, 1);
            store_person here;
            int found = 0;
            if (name)
                rc = store_person_get(store, 0, name, &here, &found, err);
            if (rc == FS_OK && found)
                id = here.id;
            else if (rc == FS_OK)
                rc = store_person_new(store, name, &id, err);
            if (rc == FS_OK)
                rc = exec2(store,
                           "INSERT INTO people_decisions(person_id, kind, sha256, x1, y1, x2, y2,"
                           " made_at) SELECT ?1, kind, sha256, x1, y1, x2, y2, made_at FROM"
                           " old.people_decisions WHERE person_id = ?2 ORDER BY id",
                           id, old_id, err);
            if (rc == FS_OK) {
                *decisions += sqlite3_changes(store->db);
                (*people)++;
            }
        }
        if (rc == FS_OK && sqlrc != SQLITE_DONE)
            rc = store_sql_fail(store, err, "read the other index's people");
        sqlite3_finalize(p);
        if (rc == FS_OK)
            rc = store_commit(store, err);
        if (rc != FS_OK)
            store_rollback(store);
    }
    sqlite3_exec(store->db, "DETACH DATABASE old", NULL, NULL, NULL);
    return rc;
}
