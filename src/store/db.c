/*
 * db.c — the SQLite side of the index: opening (WAL, busy timeout, pragmas), the schema and its
 * migrations, the model-pack check, and every read and write of files and faces.
 *
 * Durability: journal_mode=WAL with synchronous=FULL. In WAL mode NORMAL is already safe against a
 * killed process (the state is always some committed prefix), but it can lose the last commits on
 * power loss; FULL adds one fsync of the WAL per commit. The indexer commits a batch of many files
 * per transaction, so this costs little, and an index run that reported success stays done.
 *
 * Concurrency: one writer (BEGIN IMMEDIATE takes the write lock up front, so a second writer waits
 * for busy_timeout rather than failing mid-batch) and any number of readers; WAL readers never wait
 * for the writer.
 *
 * Vector-index bookkeeping: meta.generation is bumped by every write transaction, and a trigger
 * logs every deleted face id with the generation that deleted it (face_tombstones). Face ids are
 * AUTOINCREMENT, so never reused: vsync.c can bring a vector file written at generation G up to
 * date by adding faces with id > its largest id and removing the ids tombstoned after G.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_internal.h"
#include "util/error.h"
#include "util/grow.h"

#define BUSY_TIMEOUT_MS 15000

/* ---- Schema and migrations ----------------------------------------------------------------
 * Each migration moves the schema from version-1 to version and is recorded in `migrations`.
 * Append new ones; never edit a released one. */
typedef struct migration {
    int version;
    const char *description;
    const char *sql;
} migration;

static const migration MIGRATIONS[] = {
    {1, "initial schema",
     "CREATE TABLE IF NOT EXISTS migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT "
     "NULL,"
     "  description TEXT NOT NULL);"
     "CREATE TABLE files(id INTEGER PRIMARY KEY AUTOINCREMENT, path BLOB NOT NULL UNIQUE,"
     "  size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL DEFAULT '',"
     "  status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)), error TEXT,"
     "  indexed_at INTEGER NOT NULL);"
     "CREATE INDEX files_sha256 ON files(sha256) WHERE sha256 <> '';"
     "CREATE TABLE faces(id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
     "  face_index INTEGER NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL,"
     "  y2 REAL NOT NULL, landmarks BLOB NOT NULL, score REAL NOT NULL, embedding BLOB NOT NULL,"
     "  UNIQUE (file_id, face_index));"
     "CREATE TABLE face_tombstones(face_id INTEGER PRIMARY KEY, generation INTEGER NOT NULL);"
     "CREATE TRIGGER faces_tombstone AFTER DELETE ON faces BEGIN"
     "  INSERT OR REPLACE INTO face_tombstones(face_id, generation)"
     "  VALUES (old.id, (SELECT value FROM meta WHERE key = 'generation')); END;"},
    /* People (store/people_db.c). A face's person lives in face_people, gone with the face; the
     * user's decisions (this face is / is not that person) are keyed by the photo's content hash
     * and the face's box, so that they outlive the face rows: a re-indexed, moved or re-detected
     * photo gets new face ids, and its faces find their decisions again by box overlap. */
    {2, "people",
     "CREATE TABLE people(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE,"
     "  created_at INTEGER NOT NULL);"
     "CREATE TABLE face_people(face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,"
     "  person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,"
     "  quality REAL NOT NULL, pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)));"
     "CREATE INDEX face_people_person ON face_people(person_id) WHERE person_id IS NOT NULL;"
     "CREATE TABLE people_decisions(id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,"
     "  kind INTEGER NOT NULL CHECK (kind IN (0, 1)), sha256 TEXT NOT NULL,"
     "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
     "  made_at INTEGER NOT NULL);"
     "CREATE INDEX people_decisions_sha256 ON people_decisions(sha256);"
     "CREATE INDEX people_decisions_person ON people_decisions(person_id);"},
    /* Each face's quality (fs_face.quality, src/face/quality.c), measured by the pipeline when
     * it finds the face. NULL for the faces indexed before: readers compute the factors the row
     * holds (everything but sharpness) until the photo is indexed again. */
    {3, "face quality", "ALTER TABLE faces ADD COLUMN quality REAL;"},
    /* The faces no people update has seen (no face_people row), kept by triggers, so that an
     * incremental update finds its new faces without reading every face row (at a million
     * faces, a scan of the whole faces table: ~4 GB with the embeddings). A face enters it when
     * inserted or when its face_people row goes (`people forget`), leaves it when it gets a
     * face_people row or is deleted (the cascade). */
    {4, "faces not seen by people update",
     "CREATE TABLE people_unseen(face_id INTEGER PRIMARY KEY"
     "  REFERENCES faces(id) ON DELETE CASCADE);"
     "INSERT INTO people_unseen SELECT id FROM faces"
     "  WHERE NOT EXISTS (SELECT 1 FROM face_people WHERE face_id = faces.id);"
     "CREATE TRIGGER people_unseen_new AFTER INSERT ON faces BEGIN"
     "  INSERT INTO people_unseen(face_id) VALUES (new.id); END;"
     "CREATE TRIGGER people_unseen_seen AFTER INSERT ON face_people BEGIN"
     "  DELETE FROM people_unseen WHERE face_id = new.face_id; END;"
     /* (a face being deleted loses its face_people row by the cascade: it is gone already) */
     "CREATE TRIGGER people_unseen_forgot AFTER DELETE ON face_people BEGIN"
     "  INSERT OR IGNORE INTO people_unseen(face_id) SELECT old.face_id"
     "  WHERE EXISTS (SELECT 1 FROM faces WHERE id = old.face_id); END;"},
};
#define MIGRATION_COUNT (sizeof MIGRATIONS / sizeof MIGRATIONS[0])

static const char *const STMT_SQL[ST_COUNT] = {
    [ST_FILE_BY_PATH] = "SELECT id, size, mtime_ns, sha256, status, indexed_at,"
                        " (SELECT count(*) FROM faces WHERE file_id = files.id)"
                        " FROM files WHERE path = ?1",
    [ST_FILE_BY_HASH] = "SELECT id, size, mtime_ns, sha256, status, indexed_at,"
                        " (SELECT count(*) FROM faces WHERE file_id = files.id), path"
                        " FROM files WHERE sha256 = ?1 AND sha256 <> '' AND status = 0"
                        " ORDER BY id LIMIT 1",
    [ST_FILE_BY_ID] = "SELECT id, size, mtime_ns, sha256, status, indexed_at,"
                      " (SELECT count(*) FROM faces WHERE file_id = files.id), path"
                      " FROM files WHERE id = ?1",
    [ST_FILE_ERROR] = "SELECT error FROM files WHERE id = ?1",
    [ST_FILE_UPSERT] = "INSERT INTO files(path, size, mtime_ns, sha256, status, error, indexed_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(path) DO UPDATE SET"
                       " size = excluded.size, mtime_ns = excluded.mtime_ns,"
                       " sha256 = excluded.sha256, status = excluded.status,"
                       " error = excluded.error, indexed_at = excluded.indexed_at RETURNING id",
    [ST_FILE_ID] = "SELECT id FROM files WHERE id = ?1",
    [ST_FACES_DELETE_FILE] = "DELETE FROM faces WHERE file_id = ?1",
    [ST_FACE_INSERT] = "INSERT INTO faces(file_id, face_index, x1, y1, x2, y2, landmarks, score,"
                       " embedding, quality) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_FACES_OF_FILE] = "SELECT faces.id, file_id, face_index, x1, y1, x2, y2, landmarks, score,"
                         " embedding, files.path, quality FROM faces"
                         " JOIN files ON files.id = faces.file_id"
                         " WHERE file_id = ?1 ORDER BY face_index",
    [ST_REMOVE_PATH_FACES] = "DELETE FROM faces WHERE file_id IN"
                             " (SELECT id FROM files WHERE path >= ?1 AND path < ?2)",
    [ST_REMOVE_PATH] = "DELETE FROM files WHERE path >= ?1 AND path < ?2",
    [ST_GENERATION] = "SELECT value FROM meta WHERE key = 'generation'",
    [ST_PEOPLE_SET] = "INSERT OR REPLACE INTO face_people(face_id, person_id, quality, pinned)"
                      " VALUES (?1, ?2, ?3, ?4)",
    [ST_EMBEDDING] = "SELECT embedding FROM faces WHERE id = ?1",
};

/* ---- Small helpers -------------------------------------------------------------------------- */

fs_status store_sql_fail(store_db *store, fs_error *err, const char *what)
{
    int rc = sqlite3_extended_errcode(store->db);
    fs_status code = FS_ERR_IO;
    if ((rc & 0xff) == SQLITE_NOMEM)
        code = FS_ERR_NOMEM;
    else if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
        code = FS_ERR_INTEGRITY;
    else if ((rc & 0xff) == SQLITE_CONSTRAINT)
        code = FS_ERR_ARG;
    /* what the user can do about it, before SQLite's own words */
    const char *plain = (rc & 0xff) == SQLITE_FULL
                            ? "the disk is full; free some space and run again (what is already "
                              "indexed is kept)"
                        : (rc & 0xff) == SQLITE_READONLY ? "the index cannot be written here"
                        : (rc & 0xff) == SQLITE_IOERR    ? "input/output error"
                        : code == FS_ERR_INTEGRITY       ? "the index file is damaged"
                                                         : NULL;
    if (plain)
        return util_fail(err, code, "%s: %s: %s (%s)", store->db_path, what, plain,
                         sqlite3_errmsg(store->db));
    return util_fail(err, code, "%s: %s: %s", store->db_path, what, sqlite3_errmsg(store->db));
}

fs_status store_exec(store_db *store, const char *sql, fs_error *err)
{
    if (sqlite3_exec(store->db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return FS_OK;
    const char *what = strncmp(sql, "COMMIT", 6) == 0 || strncmp(sql, "RELEASE", 7) == 0
                           ? "cannot save the changes"
                       : strncmp(sql, "BEGIN", 5) == 0 || strncmp(sql, "SAVEPOINT", 9) == 0
                           ? "cannot start a change"
                           : "cannot update the index";
    return store_sql_fail(store, err, what);
}

/* ST_FACES_OF_FILE for a reader of an index from before migration 3 (no quality column). */
static const char FACES_OF_FILE_V2[] =
    "SELECT faces.id, file_id, face_index, x1, y1, x2, y2, landmarks, score,"
    " embedding, files.path, NULL FROM faces JOIN files ON files.id = faces.file_id"
    " WHERE file_id = ?1 ORDER BY face_index";

const char *store_quality_column(const store_db *store)
{
    return store->schema >= 3 ? "faces.quality" : "NULL";
}

sqlite3_stmt *store_stmt(store_db *store, store_stmt_id id, fs_error *err)
{
    sqlite3_stmt *s = store->stmts[id];
    if (!s) {
        const char *sql =
            id == ST_FACES_OF_FILE && store->schema < 3 ? FACES_OF_FILE_V2 : STMT_SQL[id];
        if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL)
            != SQLITE_OK) {
            store_sql_fail(store, err, "prepare");
            return NULL;
        }
        store->stmts[id] = s;
    } else {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    return s;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* A BLOB column as a fresh NUL-terminated string (malloc'd), NULL when out of memory. */
static char *column_path(sqlite3_stmt *s, int col)
{
    const void *b = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    char *p = malloc((size_t)n + 1);
    if (!p)
        return NULL;
    if (n > 0)
        memcpy(p, b, (size_t)n);
    p[n] = '\0';
    return p;
}

/* mkdir -p; 0 or -1 with errno. */
static int make_dirs(const char *dir)
{
    char *p = dup_str(dir);
    if (!p)
        return -1;
    for (char *c = p + 1;; c++) {
        if (*c == '/' || *c == '\0') {
            char save = *c;
            *c = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                free(p);
                return -1;
            }
            *c = save;
            if (save == '\0')
                break;
        }
    }
    free(p);
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* The byte range [lo, hi) of paths strictly under folder. lo and hi have room for strlen+2. */
static fs_status folder_range(const char *folder, char *lo, char *hi, size_t *len, fs_error *err)
{
    size_t n = strlen(folder);
    while (n > 1 && folder[n - 1] == '/')
        n--;
    if (n == 0)
        return util_fail(err, FS_ERR_ARG, "empty folder path");
    memcpy(lo, folder, n);
    if (!(n == 1 && folder[0] == '/'))
        lo[n++] = '/';
    memcpy(hi, lo, n);
    hi[n - 1] = '/' + 1; /* '0': the first byte after '/' */
    *len = n;
    return FS_OK;
}

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

/* ---- Meta ------------------------------------------------------------------------------------ */

static fs_status meta_get_text(store_db *store, const char *key, char *buf, size_t size, int *found,
                               fs_error *err)
{
    sqlite3_stmt *s;
    *found = 0;
    if (sqlite3_prepare_v2(store->db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL)
        != SQLITE_OK)
        return store_sql_fail(store, err, "prepare");
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(buf, size, "%s", t ? (const char *)t : "");
        *found = 1;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_fail(store, err, "read meta");
    return FS_OK;
}

static fs_status meta_set(store_db *store, const char *key, const char *text, int64_t num,
                          fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(store->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1,
                           &s, NULL) != SQLITE_OK)
        return store_sql_fail(store, err, "prepare");
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 2, num);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store_sql_fail(store, err, "write meta");
    return FS_OK;
}

fs_status store_generation(store_db *store, uint64_t *gen, fs_error *err)
{
    sqlite3_stmt *s = store_stmt(store, ST_GENERATION, err);
    if (!s)
        return err ? err->code : FS_ERR_IO;
    int sqlrc = sqlite3_step(s);
    if (sqlrc != SQLITE_ROW) {
        fs_status rc = sqlrc == SQLITE_DONE ? util_fail(err, FS_ERR_FORMAT,
                                                        "%s: no generation in meta", store->db_path)
                                            : store_sql_fail(store, err, "read generation");
        sqlite3_reset(s);
        return rc;
    }
    *gen = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return FS_OK;
}

/* "name sha\n" for each pack file: what the index remembers of the pack. malloc'd or NULL. */
static char *pack_files_text(const store_pack_id *pack)
{
    size_t len = 1;
    for (size_t i = 0; i < pack->file_count; i++)
        len += strlen(pack->file_names[i]) + strlen(pack->file_sha256[i]) + 2;
    char *t = malloc(len);
    if (!t)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < pack->file_count; i++)
        o += (size_t)sprintf(t + o, "%s %s\n", pack->file_names[i], pack->file_sha256[i]);
    t[o] = '\0';
    return t;
}

/* ---- Opening ----------------------------------------------------------------------------------
 */

static int schema_version(store_db *store, fs_error *err, fs_status *status)
{
    sqlite3_stmt *s;
    *status = FS_OK;
    if (sqlite3_prepare_v2(
            store->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            -1, &s, NULL) != SQLITE_OK) {
        *status = store_sql_fail(store, err, "cannot read the schema");
        return -1;
    }
    int have = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
    sqlite3_finalize(s);
    if (!have)
        return 0;
    char buf[32];
    int found;
    if ((*status = meta_get_text(store, "schema_version", buf, sizeof buf, &found, err)) != FS_OK)
        return -1;
    return found ? atoi(buf) : 0;
}

static fs_status migrate(store_db *store, int from, fs_error *err)
{
    for (size_t i = 0; i < MIGRATION_COUNT; i++) {
        const migration *m = &MIGRATIONS[i];
        if (m->version <= from)
            continue;
        fs_status rc = store_exec(store, m->sql, err);
        if (rc != FS_OK)
            return rc;
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(store->db,
                               "INSERT INTO migrations(version, applied_at, description)"
                               " VALUES (?1, ?2, ?3)", -1, &s, NULL) != SQLITE_OK)
            return store_sql_fail(store, err, "prepare");
        sqlite3_bind_int(s, 1, m->version);
        sqlite3_bind_int64(s, 2, now_seconds());
        sqlite3_bind_text(s, 3, m->description, -1, SQLITE_STATIC);
        int sqlrc = sqlite3_step(s);
        sqlite3_finalize(s);
        if (sqlrc != SQLITE_DONE)
            return store_sql_fail(store, err, "record migration");
        if ((rc = meta_set(store, "schema_version", NULL, m->version, err)) != FS_OK)
            return rc;
    }
    return FS_OK;
}

/* Creates the meta rows of a new index for pack. Runs inside the creating transaction. */
static fs_status create_index(store_db *store, const store_pack_id *pack, fs_error *err)
{
    fs_status rc = store_exec(store, "CREATE TABLE meta(key TEXT PRIMARY KEY, value)", err);
    if (rc != FS_OK)
        return rc;
    char *files = pack_files_text(pack);
    if (!files)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    if ((rc = meta_set(store, "pack", pack->name, 0, err)) == FS_OK &&
        (rc = meta_set(store, "pack_files", files, 0, err)) == FS_OK &&
        (rc = meta_set(store, "embedding_dim", NULL, pack->embedding_dim, err)) == FS_OK &&
        (rc = meta_set(store, "generation", NULL, 1, err)) == FS_OK &&
        (rc = meta_set(store, "created_at", NULL, now_seconds(), err)) == FS_OK &&
        (rc = meta_set(store, "pipeline", pack->pipeline ? pack->pipeline : "", 0, err)) == FS_OK)
        rc = meta_set(store, "schema_version", NULL, 0, err);
    free(files);
    if (rc != FS_OK)
        return rc;
    return migrate(store, 0, err);
}

/* Checks that the index belongs to pack and reads its name and dim into st. */
static fs_status check_pack(store_db *store, const store_pack_id *pack, fs_error *err)
{
    char dim[32];
    int found, found_dim;
    fs_status rc = meta_get_text(store, "pack", store->pack, sizeof store->pack, &found, err);
    if (rc == FS_OK)
        rc = meta_get_text(store, "embedding_dim", dim, sizeof dim, &found_dim, err);
    if (rc != FS_OK)
        return rc;
    if (!found || !found_dim)
        return util_fail(err, FS_ERR_FORMAT, "%s: not a facesearch index (no model pack recorded)",
                         store->dir);
    store->dim = atoi(dim);
    if (store->dim < 1 || store->dim > FS_STORE_DIM_MAX)
        return util_fail(err, FS_ERR_FORMAT, "%s: bad embedding dimension %s", store->dir, dim);
    if (!pack)
        return FS_OK;
    if (strcmp(store->pack, pack->name) != 0)
        return util_fail(err, FS_ERR_ARG,
                         "%s: built with model pack '%s'; use --models %s or another --db",
                         store->dir, store->pack, store->pack);
    char *want = pack_files_text(pack);
    if (!want)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    size_t cap = strlen(want) + 2;
    char *have = malloc(cap);
    if (!have) {
        free(want);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    rc = meta_get_text(store, "pack_files", have, cap, &found, err);
    int same = rc == FS_OK && found && strcmp(have, want) == 0;
    free(want);
    free(have);
    if (rc != FS_OK)
        return rc;
    if (!same || store->dim != pack->embedding_dim)
        return util_fail(err, FS_ERR_ARG,
                         "%s: built with other files of model pack '%s' (their sha256 or the"
                         " embedding size differ); use another --db", store->dir, store->pack);
    if (!pack->pipeline)
        return FS_OK;
    char pipeline[64];
    rc = meta_get_text(store, "pipeline", pipeline, sizeof pipeline, &found, err);
    if (rc != FS_OK)
        return rc;
    if (!found || !pipeline[0]) /* indexes made before versions were recorded */
        snprintf(pipeline, sizeof pipeline, "unknown");
    if (strcmp(pipeline, pack->pipeline) != 0)
        return util_fail(err, FS_ERR_ARG,
                         "%s: built by another version of the face pipeline ('%s'; this facesearch"
                         " uses '%s'), so its faces are not comparable; index into another --db, or"
                         " delete the folder to rebuild it", store->dir, pipeline, pack->pipeline);
    return FS_OK;
}

/* A reader opens the database read-only and leaves its journal mode as it is, so that an index
 * it may not write (another user's, a read-only mount) can still be searched; a writer sets WAL. */
/* "file:PATH?immutable=1" with the URI's special bytes of PATH escaped; malloc'd or NULL. */
static char *immutable_uri(const char *path)
{
    size_t n = strlen(path);
    char *uri = malloc(3 * n + sizeof "file:?immutable=1");
    if (!uri)
        return NULL;
    char *o = uri + sprintf(uri, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        o += (*p == '%' || *p == '?' || *p == '#' || *p < 0x20 || *p >= 0x7f)
                 ? sprintf(o, "%%%02X", *p)
                 : sprintf(o, "%c", *p);
    strcpy(o, "?immutable=1");
    return uri;
}

/* A reader of a WAL database needs its -shm file, or to create it. In a folder it may not write
 * where no writer has left one (no writer is running then: a writer would have created it), the
 * database cannot change while we read it: it is opened as immutable. */
static int reader_needs_immutable(const store_db *store)
{
    size_t n = strlen(store->db_path) + sizeof "-shm";
    char *shm = malloc(n);
    if (!shm)
        return 0;
    snprintf(shm, n, "%s-shm", store->db_path);
    int r = access(store->dir, W_OK) != 0 && access(shm, F_OK) != 0;
    free(shm);
    return r;
}

static fs_status open_connection(store_db *store, int write, int create, fs_error *err)
{
    int flags = !write ? SQLITE_OPEN_READONLY
                       : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    char *uri = NULL;
    if (!write && reader_needs_immutable(store)) {
        if (!(uri = immutable_uri(store->db_path)))
            return util_fail(err, FS_ERR_NOMEM, "out of memory");
        flags |= SQLITE_OPEN_URI;
    }
    int sqlrc = sqlite3_open_v2(uri ? uri : store->db_path, &store->db, flags, NULL);
    free(uri);
    if (sqlrc != SQLITE_OK) {
        if (!store->db)
            return util_fail(err, FS_ERR_NOMEM, "%s: out of memory", store->db_path);
        return store_sql_fail(store, err, "cannot open");
    }
    sqlite3_extended_result_codes(store->db, 1);
    sqlite3_busy_timeout(store->db, BUSY_TIMEOUT_MS);
    fs_status rc = store_exec(store, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;", err);
    if (rc != FS_OK)
        return rc;
    if (!write)
        return FS_OK;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(store->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK)
        return store_sql_fail(store, err, "cannot set WAL mode");
    sqlrc = sqlite3_step(s);
    int wal = sqlrc == SQLITE_ROW &&
              strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (sqlrc != SQLITE_ROW)
        return store_sql_fail(store, err, "cannot set WAL mode");
    if (!wal)
        return util_fail(err, FS_ERR_IO, "%s: cannot switch to WAL mode", store->db_path);
    return FS_OK;
}

fs_status store_open(const char *dir, const store_pack_id *pack, unsigned flags,
                     store_db **out, fs_error *err)
{
    *out = NULL;
    int write = (flags & FS_STORE_WRITE) != 0,
        create = (flags & FS_STORE_CREATE) == FS_STORE_CREATE;
    if (!dir || !*dir)
        return util_fail(err, FS_ERR_ARG, "no index folder given");
    if (write && !pack)
        return util_fail(err, FS_ERR_ARG, "%s: opening for writing needs a model pack", dir);
    if (pack && (pack->embedding_dim < 1 || pack->embedding_dim > FS_STORE_DIM_MAX || !pack->name))
        return util_fail(err, FS_ERR_ARG, "%s: bad model pack description", dir);

    store_db *store = calloc(1, sizeof *store);
    if (!store)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    store->flags = flags;
    store->dir = dup_str(dir);
    store->db_path = join_path(dir, "index.db");
    store->vec_path = join_path(dir, "vectors.bin");
    store->graph_path = join_path(dir, "vectors.hnsw");
    fs_status rc = FS_OK;
    if (!store->dir || !store->db_path || !store->vec_path || !store->graph_path) {
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (create && make_dirs(dir) != 0) {
        if (errno == ENOMEM)
            rc = util_fail(err, FS_ERR_NOMEM, "%s: out of memory creating the index folder", dir);
        else
            rc = util_fail(err, FS_ERR_IO, "%s: cannot create the index folder: %s", dir,
                           strerror(errno));
        goto fail;
    }
    if (!create && access(store->db_path, F_OK) != 0) {
        rc = util_fail(err, FS_ERR_NOT_FOUND, "%s: no index here (run `facesearch index` first)",
                       dir);
        goto fail;
    }
    if ((rc = open_connection(store, write, create, err)) != FS_OK)
        goto fail;

    int version = schema_version(store, err, &rc);
    if (rc != FS_OK)
        goto fail;
    if (version > FS_STORE_SCHEMA_VERSION) {
        rc = util_fail(err, FS_ERR_UNSUPPORTED,
                       "%s: index schema version %d is newer than this facesearch (%d)", dir,
                       version, FS_STORE_SCHEMA_VERSION);
        goto fail;
    }
    store->schema = version;
    if (version < FS_STORE_SCHEMA_VERSION && version > 0 && !write) {
        /* a reader never writes: it reads an older schema as it is (what it lacks, people, is
         * empty until a writer migrates it) */
    } else if (version < FS_STORE_SCHEMA_VERSION) {
        if (version == 0 && !create) {
            rc = util_fail(err, FS_ERR_NOT_FOUND,
                           "%s: no index here (run `facesearch index` first)", dir);
            goto fail;
        }
        if (version == 0 && !pack) {
            rc = util_fail(err, FS_ERR_ARG, "%s: creating an index needs a model pack", dir);
            goto fail;
        }
        /* Creation or migration; another process may be doing the same: re-check under the lock. */
        if ((rc = store_exec(store, "BEGIN IMMEDIATE", err)) != FS_OK)
            goto fail;
        version = schema_version(store, err, &rc);
        if (rc == FS_OK) {
            if (version == 0)
                rc = create_index(store, pack, err);
            else if (version < FS_STORE_SCHEMA_VERSION)
                rc = migrate(store, version, err);
        }
        if (rc == FS_OK)
            rc = store_exec(store, "COMMIT", err);
        if (rc != FS_OK) {
            sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
            goto fail;
        }
        store->schema = FS_STORE_SCHEMA_VERSION;
    }
    if ((rc = check_pack(store, pack, err)) != FS_OK)
        goto fail;
    *out = store;
    return FS_OK;
fail:
    store_close(store);
    return rc;
}

void store_close(store_db *store)
{
    if (!store)
        return;
    if (store->in_batch && store->db)
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(store->stmts[i]);
    sqlite3_finalize(store->faces_in);
    if (store->db)
        sqlite3_close(store->db);
    vindex_free(store->vindex);
    free(store->filter_bits);
    free(store->filter_key);
    free(store->dir);
    free(store->db_path);
    free(store->vec_path);
    free(store->graph_path);
    free(store);
}

const char *store_pack_name(const store_db *store)
{
    return store->pack;
}

int store_dim(const store_db *store)
{
    return store->dim;
}

/* ---- Transactions -----------------------------------------------------------------------------
 * write_begin/write_end wrap every write: inside a batch a savepoint (so that one failing write
 * leaves the batch as it was), outside one a transaction of its own. */

static fs_status bump_generation(store_db *store, fs_error *err)
{
    return store_exec(store, "UPDATE meta SET value = value + 1 WHERE key = 'generation'", err);
}

static fs_status check_writable(store_db *store, fs_error *err)
{
    if (!(store->flags & FS_STORE_WRITE))
        return util_fail(err, FS_ERR_ARG, "%s: index opened for reading only", store->dir);
    return FS_OK;
}

fs_status store_begin(store_db *store, fs_error *err)
{
    fs_status rc = check_writable(store, err);
    if (rc != FS_OK)
        return rc;
    if (store->in_batch)
        return util_fail(err, FS_ERR_ARG, "%s: a batch is already open", store->dir);
    if ((rc = store_exec(store, "BEGIN IMMEDIATE", err)) != FS_OK)
        return rc;
    if ((rc = bump_generation(store, err)) != FS_OK) {
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    store->in_batch = 1;
    return FS_OK;
}

fs_status store_commit(store_db *store, fs_error *err)
{
    if (!store->in_batch)
        return util_fail(err, FS_ERR_ARG, "%s: no batch is open", store->dir);
    fs_status rc = store_exec(store, "COMMIT", err);
    if (rc != FS_OK)
        return rc; /* still in the batch: the caller may retry or roll back */
    store->in_batch = 0;
    return FS_OK;
}

void store_rollback(store_db *store)
{
    if (!store->in_batch)
        return;
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    store->in_batch = 0;
}

static fs_status write_begin(store_db *store, fs_error *err)
{
    fs_status rc = check_writable(store, err);
    if (rc != FS_OK)
        return rc;
    if (store->in_batch)
        return store_exec(store, "SAVEPOINT fs_write", err);
    if ((rc = store_exec(store, "BEGIN IMMEDIATE", err)) != FS_OK)
        return rc;
    if ((rc = bump_generation(store, err)) != FS_OK)
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Ends a write begun by write_begin: commits if status is FS_OK, else undoes it. Returns the
 * final status (a failing COMMIT undoes the write too). */
static fs_status write_end(store_db *store, fs_status rc, fs_error *err)
{
    assert(!sqlite3_get_autocommit(store->db)); /* write_begin opened a transaction */
    if (store->in_batch) {
        if (rc == FS_OK)
            return store_exec(store, "RELEASE fs_write", err);
        sqlite3_exec(store->db, "ROLLBACK TO fs_write; RELEASE fs_write", NULL, NULL, NULL);
        return rc;
    }
    if (rc == FS_OK && (rc = store_exec(store, "COMMIT", err)) == FS_OK)
        return FS_OK;
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

fs_status store_write_begin(store_db *store, fs_error *err)
{
    return write_begin(store, err);
}

fs_status store_write_end(store_db *store, fs_status rc, fs_error *err)
{
    return write_end(store, rc, err);
}

/* ---- Files ----------------------------------------------------------------------------------- */

static void read_file_row(sqlite3_stmt *s, store_file *f)
{
    f->id = sqlite3_column_int64(s, 0);
    f->size = sqlite3_column_int64(s, 1);
    f->mtime_ns = sqlite3_column_int64(s, 2);
    const unsigned char *h = sqlite3_column_text(s, 3);
    snprintf(f->sha256, sizeof f->sha256, "%s", h ? (const char *)h : "");
    f->status = sqlite3_column_int(s, 4) ? FS_FILE_FAILED : FS_FILE_OK;
    f->indexed_at = sqlite3_column_int64(s, 5);
    f->face_count = sqlite3_column_int64(s, 6);
}

fs_status store_file_by_path(store_db *store, const char *path, store_file *out, int *found,
                             fs_error *err)
{
    *found = 0;
    sqlite3_stmt *s = store_stmt(store, ST_FILE_BY_PATH, err);
    if (!s)
        return err ? err->code : FS_ERR_IO;
    sqlite3_bind_blob(s, 1, path, (int)strlen(path), SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        read_file_row(s, out);
        *found = 1;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_fail(store, err, "look up a file");
    return FS_OK;
}

/* Steps s (bound, selecting a file row with its path in column 7) once: the row into *out, the
 * path (malloc'd) into *path_out if not NULL, *found = 1; nothing found leaves them. Resets s. */
static fs_status step_file_row(store_db *store, sqlite3_stmt *s, store_file *out,
                               char **path_out, int *found, const char *what, fs_error *err)
{
    int sqlrc = sqlite3_step(s);
    fs_status rc = FS_OK;
    if (sqlrc == SQLITE_ROW) {
        char *p = NULL;
        if (path_out && !(p = column_path(s, 7))) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        } else {
            read_file_row(s, out);
            if (path_out)
                *path_out = p;
            *found = 1;
        }
    } else if (sqlrc != SQLITE_DONE) {
        rc = store_sql_fail(store, err, what);
    }
    sqlite3_reset(s);
    return rc;
}

fs_status store_file_by_hash(store_db *store, const char *sha256, store_file *out,
                             char **path_out, int *found, fs_error *err)
{
    *found = 0;
    if (path_out)
        *path_out = NULL;
    if (!sha256 || !*sha256)
        return FS_OK;
    sqlite3_stmt *s = store_stmt(store, ST_FILE_BY_HASH, err);
    if (!s)
        return err ? err->code : FS_ERR_IO;
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_STATIC);
    return step_file_row(store, s, out, path_out, found, "look up a content hash", err);
}

fs_status store_file_by_id(store_db *store, int64_t id, store_file *out, char **path_out,
                           int *found, fs_error *err)
{
    *found = 0;
    if (path_out)
        *path_out = NULL;
    sqlite3_stmt *s = store_stmt(store, ST_FILE_BY_ID, err);
    if (!s)
        return err ? err->code : FS_ERR_IO;
    sqlite3_bind_int64(s, 1, id);
    return step_file_row(store, s, out, path_out, found, "look up a file", err);
}

fs_status store_file_error(store_db *store, int64_t file_id, char *buf, size_t size,
                           fs_error *err)
{
    if (size)
        buf[0] = '\0';
    sqlite3_stmt *s = store_stmt(store, ST_FILE_ERROR, err);
    if (!s)
        return err ? err->code : FS_ERR_IO;
    sqlite3_bind_int64(s, 1, file_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && size) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(buf, size, "%s", t ? (const char *)t : "");
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return util_fail(err, FS_ERR_NOT_FOUND, "%s: no file with id %lld", store->dir,
                         (long long)file_id);
    if (rc != SQLITE_ROW)
        return store_sql_fail(store, err, "read a file's error");
    return FS_OK;
}

/* Inserts or updates the row of path and deletes its faces; *id receives the row id. Inside a
 * write_begin. */
static fs_status upsert_file(store_db *store, const char *path, int64_t size, int64_t mtime_ns,
                             const char *sha256, int failed, const char *reason, int64_t *id,
                             fs_error *err)
{
    if (!path || !*path)
        return util_fail(err, FS_ERR_ARG, "empty file path");
    sqlite3_stmt *s = store_stmt(store, ST_FILE_UPSERT, err);
    if (!s)
        return err ? err->code : FS_ERR_IO;
    sqlite3_bind_blob(s, 1, path, (int)strlen(path), SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, size);
    sqlite3_bind_int64(s, 3, mtime_ns);
    sqlite3_bind_text(s, 4, sha256 ? sha256 : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, failed);
    if (reason)
        sqlite3_bind_text(s, 6, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, now_seconds());
    int sqlrc = sqlite3_step(s);
    if (sqlrc != SQLITE_ROW) {
        fs_status rc = store_sql_fail(store, err, "write a file");
        sqlite3_reset(s);
        return rc;
    }
    *id = sqlite3_column_int64(s, 0);
    sqlrc = sqlite3_step(s);
    sqlite3_reset(s);
    if (sqlrc != SQLITE_DONE)
        return store_sql_fail(store, err, "write a file");
    if (!(s = store_stmt(store, ST_FACES_DELETE_FILE, err)))
        return err ? err->code : FS_ERR_IO;
    sqlite3_bind_int64(s, 1, *id);
    sqlrc = sqlite3_step(s);
    sqlite3_reset(s);
    if (sqlrc != SQLITE_DONE)
        return store_sql_fail(store, err, "replace a file's faces");
    return FS_OK;
}

static fs_status insert_face(store_db *store, int64_t file_id, const store_face *f,
                             const void *embedding, fs_error *err)
{
    sqlite3_stmt *s = store_stmt(store, ST_FACE_INSERT, err);
    if (!s)
        return err ? err->code : FS_ERR_IO;
    sqlite3_bind_int64(s, 1, file_id);
    sqlite3_bind_int(s, 2, f->face_index);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(s, 3 + i, f->box[i]);
    sqlite3_bind_blob(s, 7, f->landmarks, (int)sizeof f->landmarks, SQLITE_STATIC);
    sqlite3_bind_double(s, 8, f->score);
    sqlite3_bind_blob(s, 9, embedding, store->dim * (int)sizeof(float), SQLITE_STATIC);
    if (f->quality >= 0)
        sqlite3_bind_double(s, 10, f->quality);
    else
        sqlite3_bind_null(s, 10);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_sql_fail(store, err, "write a face");
    return FS_OK;
}

fs_status store_put_file(store_db *store, const char *path, int64_t size, int64_t mtime_ns,
                         const char *sha256, const store_face *faces, size_t n,
                         int64_t *file_id, fs_error *err)
{
    assert(n == 0 || faces);
    for (size_t i = 0; i < n; i++)
        if (!faces[i].embedding)
            return util_fail(err, FS_ERR_ARG, "%s: face %zu has no embedding", path, i);
    int64_t id = 0;
    fs_status rc = write_begin(store, err);
    if (rc != FS_OK)
        return rc;
    rc = upsert_file(store, path, size, mtime_ns, sha256, 0, NULL, &id, err);
    for (size_t i = 0; rc == FS_OK && i < n; i++)
        rc = insert_face(store, id, &faces[i], faces[i].embedding, err);
    if ((rc = write_end(store, rc, err)) == FS_OK && file_id)
        *file_id = id;
    return rc;
}

fs_status store_put_failed(store_db *store, const char *path, int64_t size, int64_t mtime_ns,
                           const char *sha256, const char *reason, fs_error *err)
{
    int64_t id;
    fs_status rc = write_begin(store, err);
    if (rc != FS_OK)
        return rc;
    rc = upsert_file(store, path, size, mtime_ns, sha256, 1, reason ? reason : "", &id, err);
    return write_end(store, rc, err);
}

/* The faces of one file, copied out (with their embeddings) by store_copy_file before it writes. */
typedef struct face_copy {
    store_face *faces;
    float *embeddings;
    size_t count, cap_faces, cap_embeddings, dim;
    int nomem;
} face_copy;

static int copy_face(const store_face *face, const char *path, void *ctx)
{
    (void)path;
    face_copy *c = ctx;
    store_face *faces = util_grow(c->faces, &c->cap_faces, c->count + 1, sizeof *faces, 8);
    if (faces)
        c->faces = faces;
    float *emb = faces ? util_grow(c->embeddings, &c->cap_embeddings, (c->count + 1) * c->dim,
                                   sizeof *emb, 8 * c->dim)
                       : NULL;
    if (!emb)
        return c->nomem = 1;
    c->embeddings = emb;
    memcpy(emb + c->count * c->dim, face->embedding, c->dim * sizeof *emb);
    c->faces[c->count++] = *face;
    return 0;
}

fs_status store_copy_file(store_db *store, int64_t from_id, const char *path, int64_t size,
                          int64_t mtime_ns, const char *sha256, fs_error *err)
{
    sqlite3_stmt *s = store_stmt(store, ST_FILE_ID, err);
    if (!s)
        return err ? err->code : FS_ERR_IO;
    sqlite3_bind_int64(s, 1, from_id);
    int sqlrc = sqlite3_step(s);
    sqlite3_reset(s);
    if (sqlrc == SQLITE_DONE)
        return util_fail(err, FS_ERR_NOT_FOUND, "%s: no file with id %lld to copy faces from", path,
                         (long long)from_id);
    if (sqlrc != SQLITE_ROW)
        return store_sql_fail(store, err, "look up a file");
    /* Read before writing: if path is from_id itself, the upsert deletes the faces we copy. */
    face_copy c = {.dim = (size_t)store->dim};
    fs_status rc = store_faces_of_file(store, from_id, copy_face, &c, err);
    if (rc == FS_OK && c.nomem)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == FS_OK && i < c.count; i++)
        c.faces[i].embedding = c.embeddings + i * c.dim;
    if (rc == FS_OK)
        rc = store_put_file(store, path, size, mtime_ns, sha256, c.faces, c.count, NULL, err);
    free(c.faces);
    free(c.embeddings);
    return rc;
}

/* Deletes the files (and faces) whose path is in [lo, hi) (blobs of lo_len / hi_len bytes). */
static fs_status remove_range(store_db *store, const char *lo, size_t lo_len, const char *hi,
                              size_t hi_len, int64_t *removed, fs_error *err)
{
    fs_status rc = write_begin(store, err);
    if (rc != FS_OK)
        return rc;
    int64_t n = 0;
    for (int k = 0; k < 2 && rc == FS_OK; k++) {
        sqlite3_stmt *s = store_stmt(store, k == 0 ? ST_REMOVE_PATH_FACES : ST_REMOVE_PATH, err);
        if (!s) {
            rc = err ? err->code : FS_ERR_IO;
            break;
        }
        sqlite3_bind_blob(s, 1, lo, (int)lo_len, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, hi, (int)hi_len, SQLITE_STATIC);
        int sqlrc = sqlite3_step(s);
        sqlite3_reset(s);
        if (sqlrc != SQLITE_DONE)
            rc = store_sql_fail(store, err, "remove files");
        else if (k == 1)
            n = sqlite3_changes64(store->db);
    }
    rc = write_end(store, rc, err);
    if (rc == FS_OK && removed)
        *removed = n;
    return rc;
}

fs_status store_remove_path(store_db *store, const char *path, int64_t *removed, fs_error *err)
{
    size_t n = strlen(path);
    if (n == 0)
        return util_fail(err, FS_ERR_ARG, "empty file path");
    /* [path, path + "\0"): exactly path, as a blob range so both statements serve. */
    char *hi = malloc(n + 1);
    if (!hi)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    memcpy(hi, path, n);
    hi[n] = '\0';
    fs_status rc = remove_range(store, path, n, hi, n + 1, removed, err);
    free(hi);
    return rc;
}

fs_status store_remove_folder(store_db *store, const char *folder, int64_t *removed, fs_error *err)
{
    size_t cap = strlen(folder) + 2, len = 0;
    char *lo = malloc(cap), *hi = malloc(cap);
    fs_status rc = !lo || !hi ? util_fail(err, FS_ERR_NOMEM, "out of memory")
                             : folder_range(folder, lo, hi, &len, err);
    if (rc == FS_OK)
        rc = remove_range(store, lo, len, hi, len, removed, err);
    free(lo);
    free(hi);
    return rc;
}

fs_status store_each_hash(store_db *store, store_hash_visit visit, void *ctx, fs_error *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store->db,
                           "SELECT DISTINCT sha256 FROM files WHERE sha256 <> '' AND status = 0",
                           -1, &s, NULL) != SQLITE_OK)
        return store_sql_fail(store, err, "prepare");
    fs_status rc = FS_OK;
    int sqlrc;
    while ((sqlrc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *h = sqlite3_column_text(s, 0);
        if (h && visit((const char *)h, ctx))
            break;
    }
    if (sqlrc != SQLITE_ROW && sqlrc != SQLITE_DONE)
        rc = store_sql_fail(store, err, "list content hashes");
    sqlite3_finalize(s);
    return rc;
}

fs_status store_list_folder(store_db *store, const char *folder, store_file_visit visit,
                            void *ctx, fs_error *err)
{
    size_t cap = strlen(folder) + 2, len = 0;
    char *lo = malloc(cap), *hi = malloc(cap);
    sqlite3_stmt *s = NULL;
    char *path = NULL;
    fs_status rc = !lo || !hi ? util_fail(err, FS_ERR_NOMEM, "out of memory")
                             : folder_range(folder, lo, hi, &len, err);
    if (rc != FS_OK)
        goto done;
    if (sqlite3_prepare_v2(store->db,
                           "SELECT id, size, mtime_ns, sha256, status, indexed_at,"
                           " (SELECT count(*) FROM faces WHERE file_id = files.id), path"
                           " FROM files WHERE path >= ?1 AND path < ?2 ORDER BY path",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = store_sql_fail(store, err, "prepare");
        goto done;
    }
    sqlite3_bind_blob(s, 1, lo, (int)len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, hi, (int)len, SQLITE_STATIC);
    int sqlrc;
    while ((sqlrc = sqlite3_step(s)) == SQLITE_ROW) {
        store_file f;
        read_file_row(s, &f);
        if (!(path = column_path(s, 7))) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            goto done;
        }
        int stop = visit(path, &f, ctx);
        free(path);
        path = NULL;
        if (stop)
            goto done;
    }
    if (sqlrc != SQLITE_DONE)
        rc = store_sql_fail(store, err, "list files");
done:
    sqlite3_finalize(s);
    free(lo);
    free(hi);
    return rc;
}

fs_status store_folder_filter(store_db *store, const char *const *folders, size_t n, uint8_t **bits,
                              int64_t *nbits, fs_error *err)
{
    *bits = NULL;
    *nbits = 0;
    sqlite3_stmt *s = NULL;
    char *lo = NULL, *hi = NULL;
    uint8_t *b = NULL;
    int64_t count = 0;
    fs_status rc = FS_OK;
    if (sqlite3_prepare_v2(store->db, "SELECT coalesce(max(id), 0) FROM files", -1, &s, NULL)
        != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
        rc = store_sql_fail(store, err, "read files");
        goto done;
    }
    count = sqlite3_column_int64(s, 0) + 1;
    sqlite3_finalize(s);
    s = NULL;
    if (!(b = calloc((size_t)(count + 7) / 8, 1))) {
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (sqlite3_prepare_v2(store->db,
                           "SELECT id FROM files WHERE (path >= ?1 AND path < ?2) OR path = ?3",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = store_sql_fail(store, err, "prepare");
        goto done;
    }
    for (size_t i = 0; i < n && rc == FS_OK; i++) {
        size_t cap = strlen(folders[i]) + 2, len = 0, exact = strlen(folders[i]);
        free(lo);
        free(hi);
        lo = malloc(cap);
        hi = malloc(cap);
        if (!lo || !hi) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            break;
        }
        if ((rc = folder_range(folders[i], lo, hi, &len, err)) != FS_OK)
            break;
        while (exact > 1 && folders[i][exact - 1] == '/')
            exact--;
        sqlite3_reset(s);
        sqlite3_bind_blob(s, 1, lo, (int)len, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, hi, (int)len, SQLITE_STATIC);
        sqlite3_bind_blob(s, 3, folders[i], (int)exact, SQLITE_STATIC);
        int sqlrc;
        while ((sqlrc = sqlite3_step(s)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(s, 0);
            if (id >= 0 && id < count)
                b[id / 8] |= (uint8_t)(1u << (id % 8));
        }
        if (sqlrc != SQLITE_DONE)
            rc = store_sql_fail(store, err, "select files");
    }
done:
    sqlite3_finalize(s);
    free(lo);
    free(hi);
    if (rc != FS_OK) {
        free(b);
        return rc;
    }
    *bits = b;
    *nbits = count;
    return FS_OK;
}

/* ---- Faces ----------------------------------------------------------------------------------- */

/* Fills f from a row: id, file_id, face_index, x1, y1, x2, y2, landmarks, score, embedding at
 * columns 0..9 and the quality at 11 (NULL: -1); the embedding is copied into emb (dim floats)
 * when emb is not NULL. */
static fs_status read_face_row(store_db *store, sqlite3_stmt *s, store_face *f, float *emb,
                               fs_error *err)
{
    f->id = sqlite3_column_int64(s, 0);
    f->file_id = sqlite3_column_int64(s, 1);
    f->face_index = sqlite3_column_int(s, 2);
    for (int k = 0; k < 4; k++)
        f->box[k] = (float)sqlite3_column_double(s, 3 + k);
    memset(f->landmarks, 0, sizeof f->landmarks);
    if (sqlite3_column_bytes(s, 7) == (int)sizeof f->landmarks)
        memcpy(f->landmarks, sqlite3_column_blob(s, 7), sizeof f->landmarks);
    f->score = (float)sqlite3_column_double(s, 8);
    f->quality = sqlite3_column_type(s, 11) == SQLITE_NULL
                     ? -1.0f
                     : (float)sqlite3_column_double(s, 11);
    f->embedding = emb;
    if (emb) {
        if (sqlite3_column_bytes(s, 9) != store->dim * (int)sizeof(float))
            return util_fail(err, FS_ERR_FORMAT, "%s: face %lld has an embedding of the wrong size",
                             store->db_path, (long long)f->id);
        memcpy(emb, sqlite3_column_blob(s, 9), (size_t)store->dim * sizeof(float));
    }
    return FS_OK;
}

/* Steps s (columns as read_face_row, the path at 10) and passes each face to visit, its
 * embedding in emb (or none when emb is NULL). *stopped is set when visit asks to stop. */
static fs_status visit_rows(store_db *store, sqlite3_stmt *s, float *emb, store_face_visit visit,
                            void *ctx, int *stopped, fs_error *err)
{
    int sqlrc;
    *stopped = 0;
    while ((sqlrc = sqlite3_step(s)) == SQLITE_ROW) {
        store_face f;
        fs_status rc = read_face_row(store, s, &f, emb, err);
        if (rc != FS_OK)
            return rc;
        char *path = column_path(s, 10);
        if (!path)
            return util_fail(err, FS_ERR_NOMEM, "out of memory");
        *stopped = visit(&f, path, ctx);
        free(path);
        if (*stopped)
            return FS_OK;
    }
    return sqlrc == SQLITE_DONE ? FS_OK : store_sql_fail(store, err, "read faces");
}

fs_status store_each_face(store_db *store, store_face_visit visit, void *ctx, fs_error *err)
{
    sqlite3_stmt *s = NULL;
    float *emb = malloc((size_t)store->dim * sizeof(float));
    if (!emb)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    fs_status rc;
    int stopped;
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT faces.id, file_id, face_index, x1, y1, x2, y2, landmarks, score,"
             " embedding, files.path, %s FROM faces JOIN files ON files.id = faces.file_id"
             " ORDER BY faces.id",
             store_quality_column(store));
    if (sqlite3_prepare_v2(store->db, sql, -1, &s, NULL) != SQLITE_OK)
        rc = store_sql_fail(store, err, "prepare");
    else
        rc = visit_rows(store, s, emb, visit, ctx, &stopped, err);
    sqlite3_finalize(s);
    free(emb);
    return rc;
}

fs_status store_faces_of_file(store_db *store, int64_t file_id, store_face_visit visit, void *ctx,
                              fs_error *err)
{
    float *emb = malloc((size_t)store->dim * sizeof(float));
    if (!emb)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    sqlite3_stmt *s = store_stmt(store, ST_FACES_OF_FILE, err);
    fs_status rc = s ? FS_OK : err ? err->code : FS_ERR_IO;
    int stopped;
    if (s) {
        sqlite3_bind_int64(s, 1, file_id);
        rc = visit_rows(store, s, emb, visit, ctx, &stopped, err);
        sqlite3_reset(s);
    }
    free(emb);
    return rc;
}

fs_status store_face_by_id(store_db *store, int64_t face_id, store_face *out, float *embedding,
                           char **path, int *found, fs_error *err)
{
    *found = 0;
    if (path)
        *path = NULL;
    sqlite3_stmt *s;
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT faces.id, file_id, face_index, x1, y1, x2, y2, landmarks, score,"
             " embedding, files.path, %s FROM faces JOIN files ON files.id = faces.file_id"
             " WHERE faces.id = ?1",
             store_quality_column(store));
    if (sqlite3_prepare_v2(store->db, sql, -1, &s, NULL) != SQLITE_OK)
        return store_sql_fail(store, err, "prepare");
    sqlite3_bind_int64(s, 1, face_id);
    int sqlrc = sqlite3_step(s);
    fs_status rc = FS_OK;
    if (sqlrc == SQLITE_ROW) {
        store_face f;
        char *p = NULL;
        if ((rc = read_face_row(store, s, &f, embedding, err)) == FS_OK) {
            if (path && !(p = column_path(s, 10))) {
                rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            } else {
                *out = f;
                if (path)
                    *path = p;
                *found = 1;
            }
        }
    } else if (sqlrc != SQLITE_DONE) {
        rc = store_sql_fail(store, err, "read a face");
    }
    sqlite3_finalize(s);
    return rc;
}

#define FACES_PER_QUERY 128

/* Prepares the face query for `count` ids (?1 .. ?count), kept with the connection. */
static fs_status prepare_faces_in(store_db *store, size_t count, sqlite3_stmt **out, fs_error *err)
{
    char sql[400 + 4 * FACES_PER_QUERY];
    int n = snprintf(sql, sizeof sql,
                     "SELECT faces.id, file_id, face_index, x1, y1, x2, y2, landmarks, score,"
                     " embedding, files.path, %s FROM faces JOIN files ON files.id = faces.file_id"
                     " WHERE faces.id IN (",
                     store_quality_column(store));
    for (size_t i = 0; i < count; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, i ? ",?" : "?");
    snprintf(sql + n, sizeof sql - (size_t)n, ")");
    if (sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) !=
        SQLITE_OK)
        return store_sql_fail(store, err, "prepare");
    return FS_OK;
}

fs_status store_faces_by_ids(store_db *store, const int64_t *ids, size_t count, int want_embedding,
                             store_face_visit visit, void *ctx, fs_error *err)
{
    /* One statement of FACES_PER_QUERY ids, prepared once per connection (a server looks up the
     * rows of every search): a shorter chunk leaves the rest of its ids NULL, which match no row. */
    float *emb = want_embedding ? malloc((size_t)store->dim * sizeof(float)) : NULL;
    fs_status rc = FS_OK;
    if (want_embedding && !emb)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (count && !store->faces_in)
        rc = prepare_faces_in(store, FACES_PER_QUERY, &store->faces_in, err);
    sqlite3_stmt *s = store->faces_in;
    for (size_t at = 0; at < count && rc == FS_OK; at += FACES_PER_QUERY) {
        size_t n = count - at < FACES_PER_QUERY ? count - at : FACES_PER_QUERY;
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        for (size_t i = 0; i < n; i++)
            sqlite3_bind_int64(s, (int)i + 1, ids[at + i]);
        int stopped;
        rc = visit_rows(store, s, emb, visit, ctx, &stopped, err);
        if (stopped)
            break;
    }
    if (s)
        sqlite3_reset(s);
    free(emb);
    return rc;
}

/* ---- Maintenance ----------------------------------------------------------------------------- */

static int64_t file_bytes(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static fs_status count_int(store_db *store, const char *sql, int64_t *out, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(store->db, sql, -1, &s, NULL) != SQLITE_OK)
        return store_sql_fail(store, err, "prepare");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? FS_OK : store_sql_fail(store, err, "count");
}

/* Number of distinct parent folders of the files: the parents are collected, sorted, counted. */
static fs_status count_folders(store_db *store, int64_t files, int64_t *out, fs_error *err)
{
    *out = 0;
    if (files == 0)
        return FS_OK;
    char **dirs = calloc((size_t)files, sizeof *dirs);
    if (!dirs)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    fs_status rc = FS_OK;
    if (sqlite3_prepare_v2(store->db, "SELECT path FROM files", -1, &s, NULL) != SQLITE_OK) {
        rc = store_sql_fail(store, err, "prepare");
        goto done;
    }
    int sqlrc;
    while ((sqlrc = sqlite3_step(s)) == SQLITE_ROW && n < (size_t)files) {
        char *p = column_path(s, 0);
        if (!p) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            goto done;
        }
        char *slash = strrchr(p, '/');
        if (slash)
            slash[slash == p ? 1 : 0] = '\0';
        else
            p[0] = '\0';
        dirs[n++] = p;
    }
    if (sqlrc != SQLITE_DONE && sqlrc != SQLITE_ROW) {
        rc = store_sql_fail(store, err, "read paths");
        goto done;
    }
    qsort(dirs, n, sizeof *dirs, compare_strings);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(dirs[i], dirs[i - 1]) != 0)
            (*out)++;
done:
    sqlite3_finalize(s);
    for (size_t i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
    return rc;
}

fs_status store_stats_get(store_db *store, store_stats *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    fs_status rc;
    if ((rc = store_exec(store, "BEGIN", err)) != FS_OK)
        return rc;
    int64_t version = 0;
    if ((rc = count_int(store, "SELECT count(*) FROM files", &out->files, err)) == FS_OK &&
        (rc = count_int(store, "SELECT count(*) FROM files WHERE status = 1", &out->failed, err)) ==
            FS_OK &&
        (rc = count_int(store, "SELECT count(*) FROM faces", &out->faces, err)) == FS_OK &&
        (rc = count_int(store, "SELECT value FROM meta WHERE key = 'schema_version'", &version,
                        err)) == FS_OK)
        rc = count_folders(store, out->files, &out->folders, err);
    sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
    if (rc != FS_OK)
        return rc;
    out->schema_version = (int)version;
    out->embedding_dim = store->dim;
    snprintf(out->pack, sizeof out->pack, "%s", store->pack);
    size_t n = strlen(store->db_path);
    char *wal = malloc(n + 5);
    if (!wal)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    memcpy(wal, store->db_path, n);
    memcpy(wal + n, "-wal", 5);
    out->db_bytes = file_bytes(store->db_path) + file_bytes(wal);
    free(wal);
    out->vector_bytes = file_bytes(store->vec_path) + file_bytes(store->graph_path);
    return FS_OK;
}

fs_status store_check(store_db *store, fs_error *err)
{
    static const char *const checks[] = {"PRAGMA integrity_check", "PRAGMA foreign_key_check"};
    for (size_t i = 0; i < 2; i++) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(store->db, checks[i], -1, &s, NULL) != SQLITE_OK)
            return store_sql_fail(store, err, "integrity check");
        int sqlrc = sqlite3_step(s);
        fs_status rc = FS_OK;
        if (sqlrc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(s, 0);
            if (i == 1)
                rc = util_fail(err, FS_ERR_INTEGRITY, "%s: a face refers to a missing file",
                               store->db_path);
            else if (!t || strcmp((const char *)t, "ok") != 0)
                rc = util_fail(err, FS_ERR_INTEGRITY, "%s: integrity check failed: %s",
                               store->db_path, t ? (const char *)t : "?");
        } else if (sqlrc != SQLITE_DONE) {
            rc = store_sql_fail(store, err, "integrity check");
        }
        sqlite3_finalize(s);
        if (rc != FS_OK)
            return rc;
    }
    return FS_OK;
}

fs_status store_face_floor(store_db *store, int floor, int64_t *refresh, fs_error *err)
{
    char have[32];
    int found;
    *refresh = 0;
    fs_status rc = meta_get_text(store, "face_floor", have, sizeof have, &found, err);
    if (rc != FS_OK || (found && atoi(have) == floor))
        return rc;
    if ((rc = store_exec(store, "BEGIN IMMEDIATE", err)) != FS_OK)
        return rc;
    /* every file is "changed" (no mtime matches -1) and its content unknown (so that it is not
     * copied from itself): the next run of its folder detects its faces again */
    rc = store_exec(store, "UPDATE files SET mtime_ns = -1, sha256 = ''", err);
    if (rc == FS_OK)
        *refresh = sqlite3_changes(store->db);
    if (rc == FS_OK)
        rc = meta_set(store, "face_floor", NULL, floor, err);
    if (rc == FS_OK)
        rc = store_exec(store, "COMMIT", err);
    if (rc != FS_OK) {
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
        *refresh = 0;
    }
    return rc;
}
