/*
 * people_edit.c — the user's edits of a sharded library's people, in DIR/people.db alone
 * (people_file.h; the shards are not changed): a name, a merge of two persons, a unit moved to
 * another person or taken out of one. A library person is made of units (a shard's person, or a
 * face in none), so a face moves with its unit: the faces its shard grouped with it go along.
 *
 * Each edit is one transaction that changes the members at once (the page shows it), and keeps
 * the decision for the next update, as a single index does (src/people/edit.c):
 *   - pin: the unit stays in the person (fixed in the grouping, people.c);
 *   - reject: the unit never joins the person again.
 * A person the user edited (either person of a move) has its remaining units pinned, so that
 * the next update gives the person back as the user left it, rather than grouping it afresh.
 */
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "shard/people_file.h"
#include "util/error.h"

fs_status fs_library_people_name(const char *dir, int64_t id, const char *name, fs_error *err)
{
    sqlite3 *db;
    char path[PATH_MAX];
    int count;
    fs_status rc = people_file_open(dir, PEOPLE_FILE_NAME, &db, path, sizeof path, &count, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_stmt *s = NULL;
    rc = people_file_prepare(db, path, "UPDATE person SET name = ?2 WHERE id = ?1", &s, err);
    if (rc == FS_OK) {
        sqlite3_bind_int64(s, 1, id);
        if (name && name[0])
            sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
        int step = sqlite3_step(s);
        if (step == SQLITE_CONSTRAINT)
            rc = util_fail(err, FS_ERR_ARG, "another person is named '%s'", name);
        else if (step != SQLITE_DONE)
            rc = people_file_fail(db, path, err);
        else if (sqlite3_changes(db) == 0)
            rc = util_fail(err, FS_ERR_NOT_FOUND, "no person numbered %lld", (long long)id);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

/* ---- One edit: a transaction ------------------------------------------------------------- */

typedef struct edit {
    sqlite3 *db;
    char path[PATH_MAX];
    int count;        /* shards */
} edit;

/* Opens the file for an edit, in a transaction that counts it (an update that grouped before it
 * will group again: people.c). */
static fs_status edit_begin(edit *e, const char *dir, fs_error *err)
{
    fs_status rc = people_file_open(dir, PEOPLE_FILE_EDIT, &e->db, e->path, sizeof e->path,
                                    &e->count, err);
    if (rc != FS_OK)
        return rc;
    rc = people_file_exec(e->db, e->path, "BEGIN IMMEDIATE", err);
    if (rc == FS_OK) {
        rc = people_file_exec(e->db, e->path,
                              "INSERT INTO edits VALUES (1, 1) ON CONFLICT(id) DO UPDATE SET"
                              " n = n + 1",
                              err);
        if (rc != FS_OK)
            sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc != FS_OK) {
        sqlite3_close(e->db);
        e->db = NULL;
    }
    return rc;
}

/* Commits when rc is FS_OK, else rolls back; closes; returns rc or the commit's failure. */
static fs_status edit_end(edit *e, fs_status rc, fs_error *err)
{
    if (rc == FS_OK)
        rc = people_file_exec(e->db, e->path, "COMMIT", err);
    if (rc != FS_OK)
        sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(e->db);
    e->db = NULL;
    return rc;
}

/* Runs sql with ?1.. bound to the n ids (a unit's three, then persons: see the callers). */
static fs_status edit_run(edit *e, const char *sql, const int64_t *ids, int n, fs_error *err)
{
    sqlite3_stmt *s = NULL;
    fs_status rc = people_file_prepare(e->db, e->path, sql, &s, err);
    for (int i = 0; i < n && rc == FS_OK; i++)
        sqlite3_bind_int64(s, i + 1, ids[i]);
    if (rc == FS_OK)
        rc = people_file_run(e->db, e->path, s, err);
    sqlite3_finalize(s);
    return rc;
}

/* The one integer sql answers with ?1 bound to id (*found 0, *out 0 when no row). */
static fs_status edit_value(edit *e, const char *sql, int64_t id, int64_t *out, int *found,
                            fs_error *err)
{
    sqlite3_stmt *s = NULL;
    *out = 0;
    *found = 0;
    fs_status rc = people_file_prepare(e->db, e->path, sql, &s, err);
    if (rc == FS_OK) {
        sqlite3_bind_int64(s, 1, id);
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) {
            *out = sqlite3_column_int64(s, 0);
            *found = 1;
        } else if (step != SQLITE_DONE) {
            rc = people_file_fail(e->db, e->path, err);
        }
    }
    sqlite3_finalize(s);
    return rc;
}

static fs_status need_person(edit *e, int64_t id, fs_error *err)
{
    int64_t v;
    int found;
    fs_status rc = edit_value(e, "SELECT id FROM person WHERE id = ?1", id, &v, &found, err);
    if (rc == FS_OK && !found)
        rc = util_fail(err, FS_ERR_NOT_FOUND, "person %lld: no such person", (long long)id);
    return rc;
}

/* Pins every member of person id to it: the person as the user left it. */
static fs_status pin_members(edit *e, int64_t id, fs_error *err)
{
    return edit_run(e,
                    "INSERT OR REPLACE INTO pin(shard, person_id, face_id, person, lead)"
                    " SELECT shard, person_id, face_id, person, lead FROM member WHERE person = ?1",
                    &id, 1, err);
}

/* Person id's counts and representative face from its members (the unit of most faces); a
 * person left with neither members nor a name is dropped, with its decisions. */
static fs_status recount(edit *e, int64_t id, fs_error *err)
{
    fs_status rc = edit_run(e,
                            "UPDATE person SET"
                            " faces = (SELECT coalesce(sum(faces), 0) FROM member"
                            "          WHERE person = ?1),"
                            " photos = (SELECT coalesce(sum(photos), 0) FROM member"
                            "           WHERE person = ?1),"
                            " face_id = 0, face_path = NULL, x0 = 0, y0 = 0, x1 = 0, y1 = 0"
                            " WHERE id = ?1",
                            &id, 1, err);
    if (rc == FS_OK)
        rc = edit_run(e,
                      "UPDATE person SET (face_id, face_path, x0, y0, x1, y1) ="
                      " (SELECT lead, face_path, x0, y0, x1, y1 FROM member WHERE person = ?1"
                      "  ORDER BY faces DESC, shard, person_id, face_id LIMIT 1)"
                      " WHERE id = ?1 AND faces > 0",
                      &id, 1, err);
    if (rc == FS_OK)
        rc = edit_run(e,
                      "DELETE FROM person WHERE id = ?1 AND faces = 0 AND name IS NULL",
                      &id, 1, err);
    if (rc == FS_OK)
        rc = edit_run(e,
                      "DELETE FROM pin WHERE person = ?1"
                      " AND NOT EXISTS (SELECT 1 FROM person WHERE id = ?1)",
                      &id, 1, err);
    if (rc == FS_OK)
        rc = edit_run(e,
                      "DELETE FROM reject WHERE person = ?1"
                      " AND NOT EXISTS (SELECT 1 FROM person WHERE id = ?1)",
                      &id, 1, err);
    return rc;
}

/* Person id's name (malloc'd; NULL when unnamed) into *name. */
static fs_status person_name(edit *e, int64_t id, char **name, fs_error *err)
{
    *name = NULL;
    sqlite3_stmt *s = NULL;
    fs_status rc = people_file_prepare(e->db, e->path, "SELECT name FROM person WHERE id = ?1",
                                       &s, err);
    if (rc == FS_OK) {
        sqlite3_bind_int64(s, 1, id);
        int step = sqlite3_step(s);
        const char *text = step == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = people_file_fail(e->db, e->path, err);
        else if (text && !(*name = strdup(text)))
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    sqlite3_finalize(s);
    return rc;
}

/* ---- Merge -------------------------------------------------------------------------------- */

fs_status fs_library_people_merge(const char *dir, int64_t into, int64_t from, fs_error *err)
{
    if (into == from)
        return util_fail(err, FS_ERR_ARG, "person %lld: cannot be merged into itself",
                         (long long)into);
    edit e;
    fs_status rc = edit_begin(&e, dir, err);
    if (rc != FS_OK)
        return rc;
    int64_t ids[2] = {into, from};
    rc = need_person(&e, into, err);
    if (rc == FS_OK)
        rc = need_person(&e, from, err);
    /* a unit of one of them rejected from the other is not any more */
    if (rc == FS_OK)
        rc = edit_run(&e,
                      "DELETE FROM reject WHERE (person = ?1 AND (shard, person_id, face_id) IN"
                      " (SELECT shard, person_id, face_id FROM member WHERE person = ?2))"
                      " OR (person = ?2 AND (shard, person_id, face_id) IN"
                      " (SELECT shard, person_id, face_id FROM member WHERE person = ?1))",
                      ids, 2, err);
    if (rc == FS_OK)
        rc = edit_run(&e, "UPDATE OR REPLACE reject SET person = ?1 WHERE person = ?2", ids, 2,
                      err);
    if (rc == FS_OK)
        rc = edit_run(&e, "UPDATE member SET person = ?1 WHERE person = ?2", ids, 2, err);
    if (rc == FS_OK)
        rc = edit_run(&e, "UPDATE pin SET person = ?1 WHERE person = ?2", ids, 2, err);
    if (rc == FS_OK)
        rc = pin_members(&e, into, err);
    /* into keeps its name, else takes from's (a name is unique: from lets go of it first) */
    char *name = NULL;
    if (rc == FS_OK)
        rc = person_name(&e, from, &name, err);
    if (rc == FS_OK)
        rc = edit_run(&e, "DELETE FROM person WHERE id = ?2", ids, 2, err);
    if (rc == FS_OK && name) {
        sqlite3_stmt *s = NULL;
        rc = people_file_prepare(e.db, e.path,
                                 "UPDATE person SET name = ?2 WHERE id = ?1 AND name IS NULL",
                                 &s, err);
        if (rc == FS_OK) {
            sqlite3_bind_int64(s, 1, into);
            sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
            rc = people_file_run(e.db, e.path, s, err);
        }
        sqlite3_finalize(s);
    }
    free(name);
    if (rc == FS_OK)
        rc = recount(&e, into, err);
    return edit_end(&e, rc, err);
}

/* ---- A unit moved or taken out ------------------------------------------------------------ */

/* Binds unit u (?1 shard, ?2 its shard person, ?3 its face when in no person) and person ?4. */
static void unit_ids(const fs_library_member *u, int64_t person, int64_t ids[4])
{
    ids[0] = u->shard;
    ids[1] = u->person_id;
    ids[2] = u->person_id ? 0 : u->face_id;
    ids[3] = person;
}

static fs_status need_member(edit *e, const int64_t ids[4], fs_error *err)
{
    sqlite3_stmt *s = NULL;
    fs_status rc = people_file_prepare(e->db, e->path,
                                       "SELECT 1 FROM member WHERE shard = ?1 AND person_id = ?2"
                                       " AND face_id = ?3 AND person = ?4",
                                       &s, err);
    for (int i = 0; i < 4 && rc == FS_OK; i++)
        sqlite3_bind_int64(s, i + 1, ids[i]);
    int step = rc == FS_OK ? sqlite3_step(s) : SQLITE_DONE;
    if (rc == FS_OK && step == SQLITE_DONE)
        rc = util_fail(err, FS_ERR_NOT_FOUND, "the face is not in person %lld",
                       (long long)ids[3]);
    else if (rc == FS_OK && step != SQLITE_ROW)
        rc = people_file_fail(e->db, e->path, err);
    sqlite3_finalize(s);
    return rc;
}

static int valid_unit(const fs_library_member *u, int count)
{
    return u->shard >= 0 && u->shard < count && u->person_id >= 0 &&
           (u->person_id > 0 || u->face_id > 0);
}

/* Unit ?1-?3 pinned to person ?4, with the representative face its member row has. */
#define PIN_WITH_LEAD                                                                             \
    "INSERT OR REPLACE INTO pin(shard, person_id, face_id, person, lead)"                        \
    " SELECT ?1, ?2, ?3, ?4, coalesce((SELECT lead FROM member WHERE shard = ?1"                \
    " AND person_id = ?2 AND face_id = ?3), 0)"

/* Unit ?1-?3 rejected from person ?4, with the representative face its member row has. */
#define REJECT_WITH_LEAD                                                                          \
    "INSERT OR IGNORE INTO reject(shard, person_id, face_id, person, lead)"                      \
    " SELECT ?1, ?2, ?3, ?4, coalesce((SELECT lead FROM member WHERE shard = ?1"                \
    " AND person_id = ?2 AND face_id = ?3), 0)"

/* Person *to (0: a new one, whose id goes to *to) as the destination of a unit. */
static fs_status destination(edit *e, int64_t *to, fs_error *err)
{
    if (*to > 0)
        return need_person(e, *to, err);
    int found;
    fs_status rc = edit_value(e, "SELECT coalesce(max(id), 0) + ?1 FROM person", 1, to, &found,
                              err);
    if (rc == FS_OK)
        rc = edit_run(e, "INSERT INTO person(id, faces, photos, face_id) VALUES (?1, 0, 0, 0)",
                      to, 1, err);
    return rc;
}

/* Unit dest[0-2] pinned to person dest[3], and no longer rejected from it. */
static fs_status pin_unit(edit *e, const int64_t dest[4], fs_error *err)
{
    fs_status rc = edit_run(e, PIN_WITH_LEAD, dest, 4, err);
    if (rc == FS_OK)
        rc = edit_run(e,
                      "DELETE FROM reject WHERE shard = ?1 AND person_id = ?2 AND face_id = ?3"
                      " AND person = ?4",
                      dest, 4, err);
    return rc;
}

/* Begins the edit of unit, a member of person from (ids: unit_ids); on failure, nothing is
 * left open. */
static fs_status unit_edit_begin(edit *e, const char *dir, const fs_library_member *unit,
                                 int64_t from, int64_t ids[4], fs_error *err)
{
    fs_status rc = edit_begin(e, dir, err);
    if (rc != FS_OK)
        return rc;
    unit_ids(unit, from, ids);
    if (!valid_unit(unit, e->count))
        rc = util_fail(err, FS_ERR_ARG, "no such unit of a library of %d shards", e->count);
    if (rc == FS_OK)
        rc = need_member(e, ids, err);
    if (rc != FS_OK)
        edit_end(e, rc, err);
    return rc;
}

fs_status fs_library_people_reject(const char *dir, const fs_library_member *unit,
                                   int64_t from, fs_error *err)
{
    edit e;
    int64_t ids[4];
    fs_status rc = unit_edit_begin(&e, dir, unit, from, ids, err);
    if (rc != FS_OK)
        return rc;
    /* the decision, with the unit's face (the unit is followed by it: people_known.c) */
    rc = edit_run(&e, REJECT_WITH_LEAD, ids, 4, err);
    /* its faces are in no person now */
    if (rc == FS_OK)
        rc = edit_run(&e,
                      "UPDATE counts SET ungrouped = ungrouped + (SELECT faces FROM member"
                      " WHERE shard = ?1 AND person_id = ?2 AND face_id = ?3)",
                      ids, 3, err);
    if (rc == FS_OK)
        rc = edit_run(&e,
                      "DELETE FROM member WHERE shard = ?1 AND person_id = ?2 AND face_id = ?3",
                      ids, 3, err);
    if (rc == FS_OK)
        rc = edit_run(&e, "DELETE FROM pin WHERE shard = ?1 AND person_id = ?2 AND face_id = ?3",
                      ids, 3, err);
    if (rc == FS_OK)
        rc = pin_members(&e, from, err);
    if (rc == FS_OK)
        rc = recount(&e, from, err);
    return edit_end(&e, rc, err);
}

fs_status fs_library_people_move(const char *dir, const fs_library_member *unit, int64_t from,
                                 int64_t to, int64_t *person, fs_error *err)
{
    edit e;
    int64_t ids[4];
    fs_status rc = unit_edit_begin(&e, dir, unit, from, ids, err);
    if (rc != FS_OK)
        return rc;
    rc = destination(&e, &to, err);
    int64_t dest[4];
    unit_ids(unit, to, dest);
    if (rc == FS_OK)
        rc = edit_run(&e,
                      "UPDATE member SET person = ?4 WHERE shard = ?1 AND person_id = ?2"
                      " AND face_id = ?3",
                      dest, 4, err);
    if (rc == FS_OK)
        rc = pin_unit(&e, dest, err);
    if (rc == FS_OK && to != from)
        rc = edit_run(&e, REJECT_WITH_LEAD, ids, 4, err);
    /* both persons as the user left them: the units already in to stay there too (else the
     * next update would give to's id to the moved unit alone, pinned as it is, and group the
     * others as a new person) */
    if (rc == FS_OK)
        rc = pin_members(&e, from, err);
    if (rc == FS_OK && to != from)
        rc = pin_members(&e, to, err);
    if (rc == FS_OK && to != from)
        rc = recount(&e, from, err);
    if (rc == FS_OK)
        rc = recount(&e, to, err);
    if (rc == FS_OK && person)
        *person = to;
    return edit_end(&e, rc, err);
}

/* ---- An unsure face placed in a person ---------------------------------------------------- */

fs_status fs_library_people_place(const char *dir, const fs_person_face *face, int64_t to,
                                  const fs_person_faces *to_faces, int64_t *person,
                                  fs_error *err)
{
    for (size_t i = 0; to > 0 && to_faces && i < to_faces->count; i++)
        if (to_faces->items[i].photo_id == face->photo_id)
            return util_fail(err, FS_ERR_ARG,
                             "person %lld already has a face of this photo: two faces of one "
                             "photo are never one person",
                             (long long)to);
    edit e;
    fs_status rc = edit_begin(&e, dir, err);
    if (rc != FS_OK)
        return rc;
    int k = -1;
    int64_t shard_face = 0;
    if (fs_library_id_split(face->face_id, e.count, &k, &shard_face))
        rc = util_fail(err, FS_ERR_ARG, "face %lld: not a face id of a library of %d shards",
                       (long long)face->face_id, e.count);
    /* a face alone, not yet in a person: one of a shard's unsure faces */
    int64_t ids[4] = {k, 0, shard_face, 0}, held = 0;
    int found = 0;
    sqlite3_stmt *s = NULL;
    if (rc == FS_OK)
        rc = people_file_prepare(e.db, e.path,
                                 "SELECT person FROM member WHERE shard = ?1 AND person_id = 0"
                                 " AND face_id = ?2",
                                 &s, err);
    if (rc == FS_OK) {
        sqlite3_bind_int64(s, 1, k);
        sqlite3_bind_int64(s, 2, shard_face);
        int step = sqlite3_step(s);
        found = step == SQLITE_ROW;
        if (found)
            held = sqlite3_column_int64(s, 0);
        else if (step != SQLITE_DONE)
            rc = people_file_fail(e.db, e.path, err);
    }
    sqlite3_finalize(s);
    if (rc == FS_OK && found)
        rc = util_fail(err, FS_ERR_ARG, "face %lld is already person %lld's: move it from there",
                       (long long)face->face_id, (long long)held);
    if (rc == FS_OK)
        rc = destination(&e, &to, err);
    ids[3] = to;
    /* its member row, as an update writes a face alone's (the lead a library id) */
    if (rc == FS_OK)
        rc = people_file_prepare(e.db, e.path,
                                 "INSERT INTO member(shard, person_id, face_id, person, faces,"
                                 " photos, lead, face_path, x0, y0, x1, y1) VALUES (?1, 0, ?2,"
                                 " ?3, 1, 1, ?4, ?5, ?6, ?7, ?8, ?9)",
                                 &s, err);
    if (rc == FS_OK) {
        sqlite3_bind_int64(s, 1, k);
        sqlite3_bind_int64(s, 2, shard_face);
        sqlite3_bind_int64(s, 3, to);
        sqlite3_bind_int64(s, 4, face->face_id);
        sqlite3_bind_text(s, 5, face->path ? face->path : "", -1, SQLITE_STATIC);
        for (int c = 0; c < 4; c++)
            sqlite3_bind_double(s, 6 + c, face->box[c]);
        rc = people_file_run(e.db, e.path, s, err);
        sqlite3_finalize(s);
    }
    if (rc == FS_OK)
        rc = edit_run(&e, "UPDATE counts SET unsure = max(unsure - 1, 0)", NULL, 0, err);
    /* the face stays where the user put it (kept by its shard's units: units.c), and the
     * person as the user left it */
    if (rc == FS_OK)
        rc = pin_unit(&e, ids, err);
    if (rc == FS_OK)
        rc = pin_members(&e, to, err);
    if (rc == FS_OK)
        rc = recount(&e, to, err);
    if (rc == FS_OK && person)
        *person = to;
    return edit_end(&e, rc, err);
}

fs_status fs_library_face_unit(const fs_person_faces *faces, int count, int64_t face_id,
                               fs_library_member *unit, fs_error *err)
{
    int k;
    int64_t shard_face;
    for (size_t i = 0; i < faces->count; i++) {
        const fs_person_face *f = &faces->items[i];
        if (f->face_id != face_id || fs_library_id_split(face_id, count, &k, &shard_face))
            continue;
        unit->shard = k;
        unit->person_id = f->person_id;
        unit->face_id = f->person_id ? 0 : shard_face;
        return FS_OK;
    }
    return util_fail(err, FS_ERR_NOT_FOUND, "face %lld is not one of this person's",
                     (long long)face_id);
}

/* ---- Forget ------------------------------------------------------------------------------- */

fs_status fs_library_people_forget(const char *dir, int64_t id, fs_error *err)
{
    edit e;
    fs_status rc = edit_begin(&e, dir, err);
    if (rc != FS_OK)
        return rc;
    rc = need_person(&e, id, err);
    if (rc == FS_OK) /* its units' faces are in no person now */
        rc = edit_run(&e,
                      "UPDATE counts SET ungrouped = ungrouped + (SELECT coalesce(sum(faces), 0)"
                      " FROM member WHERE person = ?1)",
                      &id, 1, err);
    if (rc == FS_OK)
        rc = edit_run(&e, "DELETE FROM member WHERE person = ?1", &id, 1, err);
    if (rc == FS_OK)
        rc = edit_run(&e, "DELETE FROM person WHERE id = ?1", &id, 1, err);
    if (rc == FS_OK)
        rc = recount(&e, id, err); /* its pins and rejects go with it */
    return edit_end(&e, rc, err);
}
