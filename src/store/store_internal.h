/*
 * store_internal.h — what db.c (SQLite) and vsync.c (keeping the vector index in step with
 * SQLite, and search) share inside src/store/. Not for use outside src/store/.
 */
#ifndef FS_STORE_INTERNAL_H
#define FS_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"
#include "store/vindex.h"

/* Prepared statements, cached per connection (prepared on first use). */
typedef enum store_stmt_id {
    ST_FILE_BY_PATH,
    ST_FILE_BY_HASH,
    ST_FILE_BY_ID,
    ST_FILE_ERROR,
    ST_FILE_UPSERT,
    ST_FILE_ID,
    ST_FACES_DELETE_FILE,
    ST_FACE_INSERT,
    ST_FACES_OF_FILE,
    ST_REMOVE_PATH_FACES,
    ST_REMOVE_PATH,
    ST_GENERATION,
    ST_PEOPLE_SET,
    ST_EMBEDDING,
    ST_COUNT
} store_stmt_id;

struct store_db {
    sqlite3 *db;
    char *dir;
    char *db_path;
    char *vec_path;      /* vectors.bin */
    char *graph_path;    /* vectors.hnsw */
    unsigned flags;
    int dim;
    char pack[128];
    int in_batch;        /* inside store_begin .. commit */
    int schema;          /* schema version (a reader may see an older one) */
    sqlite3_stmt *stmts[ST_COUNT];
    sqlite3_stmt *faces_in;  /* store_faces_by_ids: a chunk of ids, the unused ones NULL */
    vindex *vindex;   /* NULL until the first search or sync */
    int vindex_verified; /* vindex was read and checked in full (or rebuilt), not mapped */
    uint64_t vgen;       /* the database generation vindex reflects */
    int map_refused;     /* mapping the vector file at map_refused_gen failed: not retried */
    uint64_t map_refused_gen;
    /* The last folder filter of a search (store_folder_filter), reused while the folders and the
     * generation are the same: a server searches the same roots again and again. */
    uint8_t *filter_bits;
    int64_t filter_nbits;
    size_t filter_kept;  /* the faces of vindex it lets through (0: not counted) */
    uint64_t filter_gen;
    char *filter_key;    /* the folders, each followed by a NUL; NULL: no filter kept */
    size_t filter_key_len;
};

/* The cached statement id, reset and with bindings cleared; NULL on error (err filled). */
sqlite3_stmt *store_stmt(store_db *store, store_stmt_id id, fs_error *err);

/* The faces' quality column in a SELECT: "faces.quality", or "NULL" for a reader of an index a
 * writer has not migrated to schema 3 yet. */
const char *store_quality_column(const store_db *store);

/* Fills err from the connection's last error: "DBPATH: what: sqlite message". Returns the code. */
fs_status store_sql_fail(store_db *store, fs_error *err, const char *what);

/* Runs SQL without results. */
fs_status store_exec(store_db *store, const char *sql, fs_error *err);

/* The current generation counter (bumped by every write batch). */
fs_status store_generation(store_db *store, uint64_t *gen, fs_error *err);

/* One write: inside a batch a savepoint, outside one a transaction of its own (bumping the
 * generation). store_write_end commits it when rc is FS_OK, else undoes it; returns the final
 * status. */
fs_status store_write_begin(store_db *st, fs_error *err);
fs_status store_write_end(store_db *st, fs_status rc, fs_error *err);

/* Fills bits (one per file id, 1 = allowed, size covers max file id + 1) with the files under or
 * equal to the folders. *bits is malloc'd; caller frees. */
fs_status store_folder_filter(store_db *store, const char *const *folders, size_t n,
                              uint8_t **bits, int64_t *nbits, fs_error *err);

#endif
