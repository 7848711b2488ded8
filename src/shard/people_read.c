/*
 * people_read.c — reading a sharded library's people from DIR/people.db (people_file.h): the
 * list of persons, and one person (by name or number) with its members, the units whose faces
 * the ranks gather (fs_mpi_person_faces), and which unsure faces the user has placed in one.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "shard/people_file.h"
#include "util/error.h"
#include "util/grow.h"

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

/* The counts of faces in no person, as the last update left them (none in a file of version 1). */
static fs_status read_counts(sqlite3 *db, const char *path, fs_people *out, fs_error *err)
{
    sqlite3_stmt *s = NULL;
    fs_status rc = people_file_prepare(db, path,
                                       "SELECT count(*) FROM sqlite_master WHERE name = 'counts'",
                                       &s, err);
    int has = rc == FS_OK && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
    sqlite3_finalize(s);
    s = NULL;
    if (rc != FS_OK || !has)
        return rc;
    rc = people_file_prepare(db, path, "SELECT unsure, ungrouped, unseen FROM counts", &s, err);
    int step = rc == FS_OK ? sqlite3_step(s) : SQLITE_DONE;
    if (step == SQLITE_ROW) {
        out->unsure = (size_t)sqlite3_column_int64(s, 0);
        out->ungrouped = (size_t)sqlite3_column_int64(s, 1);
        out->unseen = (size_t)sqlite3_column_int64(s, 2);
    } else if (rc == FS_OK && step != SQLITE_DONE) {
        rc = people_file_fail(db, path, err);
    }
    sqlite3_finalize(s);
    return rc;
}

fs_status fs_library_people_list(const char *dir, fs_people *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db;
    char path[PATH_MAX];
    int count;
    fs_status rc = people_file_open(dir, PEOPLE_FILE_READ, &db, path, sizeof path, &count, err);
    if (rc != FS_OK)
        return rc;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    rc = read_counts(db, path, out, err);
    if (rc == FS_OK)
        rc = people_file_prepare(db, path,
                                 "SELECT " PERSON_COLUMNS " FROM person ORDER BY faces DESC, id",
                                 &s, err);
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
        rc = people_file_fail(db, path, err);
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
        rc = people_file_fail(db, path, err);
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
    fs_status rc = people_file_prepare(db, path,
                                       "SELECT " PERSON_COLUMNS " FROM person WHERE id = ?1", &s,
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
    fs_status rc = people_file_prepare(db, path,
                                       "SELECT " PERSON_COLUMNS " FROM person WHERE name = ?1",
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
    fs_status rc = people_file_prepare(db, path,
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
        rc = people_file_fail(db, path, err);
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
    fs_status rc = people_file_open(dir, PEOPLE_FILE_READ, &db, path, sizeof path, &count, err);
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

fs_status fs_library_people_unplaced(const char *dir, fs_person_faces *faces, fs_error *err)
{
    sqlite3 *db;
    char path[PATH_MAX];
    int count;
    fs_status rc = people_file_open(dir, PEOPLE_FILE_READ, &db, path, sizeof path, &count, err);
    if (rc == FS_ERR_NOT_FOUND)
        return FS_OK; /* no people yet (or a file left empty by a first update that died) */
    if (rc != FS_OK)
        return rc;
    sqlite3_stmt *s = NULL;
    rc = people_file_prepare(db, path,
                             "SELECT 1 FROM member WHERE shard = ?1 AND person_id = 0"
                             " AND face_id = ?2",
                             &s, err);
    size_t kept = 0;
    for (size_t i = 0; i < faces->count; i++) {
        fs_person_face *f = &faces->items[i];
        int k, placed = 0;
        int64_t shard_face;
        if (s && rc == FS_OK && fs_library_id_split(f->face_id, count, &k, &shard_face) == 0) {
            sqlite3_reset(s);
            sqlite3_bind_int(s, 1, k);
            sqlite3_bind_int64(s, 2, shard_face);
            int step = sqlite3_step(s);
            placed = step == SQLITE_ROW;
            if (step != SQLITE_ROW && step != SQLITE_DONE)
                rc = people_file_fail(db, path, err);
        }
        if (placed)
            free(f->path);
        else
            faces->items[kept++] = *f;
    }
    faces->count = kept;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}
