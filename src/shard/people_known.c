/*
 * people_known.c — keeping DIR/people.db's rows on the units that hold their faces. The file
 * names units by their shard's keys (a shard's person, or a face in no person), and a shard
 * changes its units between two updates of the library: a face alone joins a person of its
 * shard (its next people update, or the user's edit of the shard), a person is merged into
 * another. Left alone, the file's rows would name units that no longer exist, and the user's
 * edits kept in them (a face moved to a person, a unit rejected from one) would silently stop
 * applying.
 *
 * So an update first reads the units the file names (fs_library_people_known) and hands them
 * to the ranks, which find the unit that now holds each one's representative face
 * (fs_people_units_follow, src/people/units.c); then, before grouping, people_file_follow moves
 * the file's member, pin and reject rows of those units to their new keys.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "shard/people_file.h"
#include "util/error.h"
#include "util/grow.h"

/* Every unit named by a member, a pin or a reject, with its representative face: the member's,
 * which every update refreshes, else the pin's or reject's, as it was when the user made it;
 * version 2 files keep no pin's or reject's face, version 1 files have members alone, without
 * their faces. The last column: 1 when a member or pin names it (kept in a person). */
static const char known_v3[] =
    "SELECT shard, person_id, face_id, coalesce(max(CASE WHEN src = 2 THEN lead END),"
    " max(CASE WHEN src = 1 THEN lead END), 0), max(kept) FROM (SELECT shard, person_id,"
    " face_id, nullif(lead, 0) AS lead, 2 AS src, 1 AS kept FROM member UNION ALL SELECT shard,"
    " person_id, face_id, nullif(lead, 0), 1, 1 FROM pin UNION ALL SELECT shard, person_id,"
    " face_id, nullif(lead, 0), 1, 0 FROM reject) GROUP BY shard, person_id, face_id"
    " ORDER BY shard, person_id, face_id";
static const char known_v2[] =
    "SELECT shard, person_id, face_id, max(lead), max(kept) FROM (SELECT shard, person_id,"
    " face_id, lead, 1 AS kept FROM member UNION ALL SELECT shard, person_id, face_id, 0, 1"
    " FROM pin UNION ALL SELECT shard, person_id, face_id, 0, 0 FROM reject)"
    " GROUP BY shard, person_id, face_id ORDER BY shard, person_id, face_id";
static const char known_v1[] =
    "SELECT shard, person_id, face_id, 0, 1 FROM member ORDER BY shard, person_id, face_id";

fs_status fs_library_people_known(const char *dir, fs_library_known **known, size_t *n,
                                  fs_error *err)
{
    *known = NULL;
    *n = 0;
    sqlite3 *db;
    char path[PATH_MAX];
    int count, version;
    fs_status rc = people_file_open(dir, PEOPLE_FILE_READ, &db, path, sizeof path, &count, err);
    if (rc == FS_ERR_NOT_FOUND)
        return FS_OK; /* no update yet: nothing to follow */
    if (rc != FS_OK)
        return rc;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    rc = people_file_version(db, path, &version, err);
    if (rc == FS_OK)
        rc = people_file_prepare(db, path,
                                 version >= 3   ? known_v3
                                 : version == 2 ? known_v2
                                                : known_v1,
                                 &s, err);
    int step = SQLITE_DONE;
    while (rc == FS_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        fs_library_known *grown = util_grow(*known, &cap, *n + 1, sizeof *grown, 256);
        if (!grown) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            break;
        }
        *known = grown;
        fs_library_known *k = &(*known)[(*n)++];
        memset(k, 0, sizeof *k); /* its padding too: the list goes over the wire */
        k->unit.shard = sqlite3_column_int(s, 0);
        k->unit.person_id = sqlite3_column_int64(s, 1);
        k->unit.face_id = sqlite3_column_int64(s, 2);
        /* the lead is a library id: its shard's id, when it is of the unit's shard */
        int shard;
        int64_t id;
        k->lead = fs_library_id_split(sqlite3_column_int64(s, 3), count, &shard, &id) == 0 &&
                          shard == k->unit.shard
                      ? id
                      : 0;
        k->kept = sqlite3_column_int(s, 4);
    }
    if (rc == FS_OK && step != SQLITE_DONE)
        rc = people_file_fail(db, path, err);
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (rc != FS_OK) {
        free(*known);
        *known = NULL;
        *n = 0;
    }
    return rc;
}

static int cmp_rename(const void *x, const void *y)
{
    const fs_library_member *a = &((const fs_unit_rename *)x)->from,
                            *b = &((const fs_unit_rename *)y)->from;
    if (a->shard != b->shard)
        return (a->shard > b->shard) - (a->shard < b->shard);
    if (a->person_id != b->person_id)
        return (a->person_id > b->person_id) - (a->person_id < b->person_id);
    return (a->face_id > b->face_id) - (a->face_id < b->face_id);
}

/* The rows naming unit from, moved to unit to. A pin or reject moves only to a unit that the
 * file does not know already (no member row: a unit new since the last update, as a shard
 * person made of a face alone and a new face): one the file knows has its own place, which the
 * decisions about the unit it swallowed cannot decide (a face the user moved, merged by its shard
 * into a person of many faces placed otherwise, would drag them all along); those decisions are
 * dropped, and counted. A member row that to has already is kept. The first three statements
 * take to (?4, ?5); the pins and rejects the last three delete are the dropped ones. (Each is
 * in parentheses: clang takes a literal split over lines in an array for a missing comma.) */
static const char *const moves[] = {
    ("UPDATE OR IGNORE pin SET person_id = ?4, face_id = ?5"
     " WHERE shard = ?1 AND person_id = ?2 AND face_id = ?3 AND NOT EXISTS (SELECT 1 FROM member"
     " WHERE shard = ?1 AND person_id = ?4 AND face_id = ?5)"),
    ("UPDATE OR IGNORE reject SET person_id = ?4, face_id = ?5"
     " WHERE shard = ?1 AND person_id = ?2 AND face_id = ?3 AND NOT EXISTS (SELECT 1 FROM member"
     " WHERE shard = ?1 AND person_id = ?4 AND face_id = ?5)"),
    ("UPDATE OR IGNORE member SET person_id = ?4, face_id = ?5"
     " WHERE shard = ?1 AND person_id = ?2 AND face_id = ?3"),
    "DELETE FROM pin WHERE shard = ?1 AND person_id = ?2 AND face_id = ?3",
    "DELETE FROM reject WHERE shard = ?1 AND person_id = ?2 AND face_id = ?3",
    "DELETE FROM member WHERE shard = ?1 AND person_id = ?2 AND face_id = ?3",
};
#define N_MOVES (sizeof moves / sizeof moves[0])
#define FIRST_DROP 3 /* moves[3] and moves[4] delete dropped decisions */

fs_status people_file_follow(sqlite3 *db, const char *path, const fs_unit_rename *renames,
                             size_t n, size_t *dropped, fs_error *err)
{
    *dropped = 0;
    if (n == 0)
        return FS_OK;
    fs_unit_rename *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    memcpy(sorted, renames, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_rename);
    sqlite3_stmt *s[N_MOVES] = {0};
    fs_status rc = people_file_exec(db, path, "BEGIN IMMEDIATE", err);
    int began = rc == FS_OK;
    for (size_t q = 0; q < N_MOVES && rc == FS_OK; q++)
        rc = people_file_prepare(db, path, moves[q], &s[q], err);
    for (size_t i = 0; i < n && rc == FS_OK; i++) {
        const fs_unit_rename *r = &sorted[i];
        for (size_t q = 0; q < N_MOVES && rc == FS_OK; q++) {
            sqlite3_bind_int(s[q], 1, r->from.shard);
            sqlite3_bind_int64(s[q], 2, r->from.person_id);
            sqlite3_bind_int64(s[q], 3, r->from.person_id ? 0 : r->from.face_id);
            if (q < FIRST_DROP) {
                sqlite3_bind_int64(s[q], 4, r->to.person_id);
                sqlite3_bind_int64(s[q], 5, r->to.person_id ? 0 : r->to.face_id);
            }
            rc = people_file_run(db, path, s[q], err);
            if (rc == FS_OK && (q == FIRST_DROP || q == FIRST_DROP + 1))
                *dropped += (size_t)sqlite3_changes(db);
        }
    }
    for (size_t q = 0; q < N_MOVES; q++)
        sqlite3_finalize(s[q]);
    /* a unit pinned to a person and rejected from it (decisions of two units now one): the pin
     * stands, as the unit is in that person */
    if (rc == FS_OK)
        rc = people_file_exec(db, path,
                              "DELETE FROM reject WHERE (shard, person_id, face_id, person) IN"
                              " (SELECT shard, person_id, face_id, person FROM pin)",
                              err);
    if (rc == FS_OK)
        *dropped += (size_t)sqlite3_changes(db);
    if (rc == FS_OK)
        rc = people_file_exec(db, path, "COMMIT", err);
    if (rc != FS_OK && began)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (rc != FS_OK)
        *dropped = 0;
    free(sorted);
    return rc;
}
