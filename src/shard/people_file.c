/*
 * people_file.c — opening DIR/people.db, the file of a sharded library's people (its schema is
 * in people_file.h), and the SQLite calls people.c and people_edit.c share. An older file is
 * brought to the current version when an update opens it (version 2, also an edit); an empty
 * one (an update that died before its first commit) is no people yet.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "shard/people_file.h"
#include "util/error.h"
#include "util/paths.h"

#define PEOPLE_FILE "people.db"
#define VERSION 3
#define VERSION_PRAGMA "PRAGMA user_version = 3" /* VERSION */

static const char schema[] =
    "CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT UNIQUE,"
    " faces INTEGER NOT NULL, photos INTEGER NOT NULL, face_id INTEGER NOT NULL,"
    " face_path TEXT, x0 REAL, y0 REAL, x1 REAL, y1 REAL);"
    "CREATE TABLE member(shard INTEGER NOT NULL, person_id INTEGER NOT NULL,"
    " face_id INTEGER NOT NULL, person INTEGER NOT NULL, faces INTEGER NOT NULL,"
    " photos INTEGER NOT NULL DEFAULT 0, lead INTEGER NOT NULL DEFAULT 0, face_path TEXT,"
    " x0 REAL NOT NULL DEFAULT 0, y0 REAL NOT NULL DEFAULT 0, x1 REAL NOT NULL DEFAULT 0,"
    " y1 REAL NOT NULL DEFAULT 0, PRIMARY KEY (shard, person_id, face_id));"
    "CREATE INDEX member_person ON member(person);";

/* What version 2 adds to version 1: the member's counts and face, pins and rejects, the
 * library's counts of faces in no person, the number of edits made. */
static const char decisions[] =
    "CREATE TABLE IF NOT EXISTS pin(shard INTEGER NOT NULL, person_id INTEGER NOT NULL,"
    " face_id INTEGER NOT NULL, person INTEGER NOT NULL, lead INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (shard, person_id, face_id));"
    "CREATE TABLE IF NOT EXISTS reject(shard INTEGER NOT NULL, person_id INTEGER NOT NULL,"
    " face_id INTEGER NOT NULL, person INTEGER NOT NULL, lead INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (shard, person_id, face_id, person));"
    "CREATE TABLE IF NOT EXISTS counts(unsure INTEGER NOT NULL, ungrouped INTEGER NOT NULL,"
    " unseen INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS edits(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);";

/* What version 3 adds to version 2: a pinned or rejected unit's representative face (a library
 * id; a pin's from its member, 0 for the rejects of version 2), which follows it when its shard
 * renames it (people_known.c). */
static const char decision_leads[] =
    "ALTER TABLE pin ADD COLUMN lead INTEGER NOT NULL DEFAULT 0;"
    "UPDATE pin SET lead = coalesce((SELECT lead FROM member m WHERE m.shard = pin.shard"
    " AND m.person_id = pin.person_id AND m.face_id = pin.face_id), 0);"
    "ALTER TABLE reject ADD COLUMN lead INTEGER NOT NULL DEFAULT 0;";

static const char upgrade[] =
    "ALTER TABLE member ADD COLUMN photos INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE member ADD COLUMN lead INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE member ADD COLUMN face_path TEXT;"
    "ALTER TABLE member ADD COLUMN x0 REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE member ADD COLUMN y0 REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE member ADD COLUMN x1 REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE member ADD COLUMN y1 REAL NOT NULL DEFAULT 0;";

fs_status people_file_fail(sqlite3 *db, const char *path, fs_error *err)
{
    int code = sqlite3_errcode(db);
    return util_fail(err, code == SQLITE_NOMEM ? FS_ERR_NOMEM
                          : code == SQLITE_NOTADB || code == SQLITE_CORRUPT ? FS_ERR_FORMAT
                          : code == SQLITE_BUSY                            ? FS_ERR_BUSY
                                                                           : FS_ERR_IO,
                     "%s: %s", path, sqlite3_errmsg(db));
}

fs_status people_file_prepare(sqlite3 *db, const char *path, const char *sql, sqlite3_stmt **s,
                              fs_error *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK)
        return people_file_fail(db, path, err);
    return FS_OK;
}

fs_status people_file_run(sqlite3 *db, const char *path, sqlite3_stmt *s, fs_error *err)
{
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    return step == SQLITE_DONE ? FS_OK : people_file_fail(db, path, err);
}

fs_status people_file_exec(sqlite3 *db, const char *path, const char *sql, fs_error *err)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return people_file_fail(db, path, err);
    return FS_OK;
}

fs_status people_file_version(sqlite3 *db, const char *path, int *version, fs_error *err)
{
    sqlite3_stmt *s = NULL;
    *version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        *version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return *version < 0 ? people_file_fail(db, path, err) : FS_OK;
}

/* Brings a new file (version 0) or an older one to the current version, in one transaction that
 * reads the version again (another process may have done it meanwhile). */
static fs_status make_current(sqlite3 *db, const char *path, fs_error *err)
{
    fs_status rc = people_file_exec(db, path, "BEGIN IMMEDIATE", err);
    if (rc != FS_OK)
        return rc;
    int version;
    rc = people_file_version(db, path, &version, err);
    if (rc == FS_OK && version == 0)
        rc = people_file_exec(db, path, schema, err);
    else if (rc == FS_OK && version == 1)
        rc = people_file_exec(db, path, upgrade, err);
    if (rc == FS_OK && version < 2)
        rc = people_file_exec(db, path, decisions, err);
    else if (rc == FS_OK && version == 2)
        rc = people_file_exec(db, path, decision_leads, err);
    if (rc == FS_OK && version < VERSION)
        rc = people_file_exec(db, path, VERSION_PRAGMA, err);
    if (rc == FS_OK)
        rc = people_file_exec(db, path, "COMMIT", err);
    if (rc != FS_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static fs_status no_people_yet(const char *dir, fs_error *err)
{
    return util_fail(err, FS_ERR_NOT_FOUND,
                     "%s: no people yet (group them: mpirun -np N facesearch people update "
                     "--shards %s)", dir, dir);
}

/* Whether db has no table at all (an empty file). */
static int is_empty(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int empty = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL) ==
                    SQLITE_OK &&
                sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) == 0;
    sqlite3_finalize(s);
    return empty;
}

fs_status people_file_open(const char *dir, people_file_mode mode, sqlite3 **db, char *path,
                           size_t size, int *count, fs_error *err)
{
    *db = NULL;
    fs_shards_info info;
    fs_status rc = fs_shards_open(dir, &info, err);
    if (rc != FS_OK)
        return rc;
    *count = info.count;
    if (util_path_join(path, size, dir, PEOPLE_FILE))
        return util_fail(err, FS_ERR_LIMIT, "%s: path too long", dir);
    int create = mode == PEOPLE_FILE_CREATE;
    struct stat st;
    if (!create && stat(path, &st) != 0)
        return errno == ENOENT ? no_people_yet(dir, err)
                               : util_fail(err, FS_ERR_IO, "%s: %s", path, strerror(errno));
    int flags = mode == PEOPLE_FILE_READ
                    ? SQLITE_OPEN_READONLY
                    : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
        rc = *db ? people_file_fail(*db, path, err)
                 : util_fail(err, FS_ERR_NOMEM, "%s: out of memory", path);
        sqlite3_close(*db);
        *db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(*db, 10000);
    int version;
    rc = people_file_exec(*db, path, "PRAGMA synchronous = FULL", err);
    if (rc == FS_OK)
        rc = people_file_version(*db, path, &version, err);
    if (rc == FS_OK && version == 0 && !create && is_empty(*db))
        rc = no_people_yet(dir, err); /* made by an update that died before its first commit */
    else if (rc == FS_OK && (version > VERSION || (version == 0 && !create)))
        rc = util_fail(err, FS_ERR_FORMAT, "%s: not a facesearch people file (version %d)", path,
                       version);
    else if (rc == FS_OK && version < VERSION &&
             (create || (mode == PEOPLE_FILE_EDIT && version >= 2))) /* v2 edits: a column */
        rc = make_current(*db, path, err);
    else if (rc == FS_OK && version < VERSION && mode == PEOPLE_FILE_EDIT)
        rc = util_fail(err, FS_ERR_FORMAT,
                       "%s: made by an older facesearch, which kept no edits: group the people "
                       "once more (mpirun -np N facesearch people update --shards %s)", path,
                       dir);
    if (rc != FS_OK) {
        sqlite3_close(*db);
        *db = NULL;
    }
    return rc;
}
