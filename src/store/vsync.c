/*
 * vsync.c — keeps the vector index (vindex.c) in step with SQLite, the source of truth, and runs
 * searches.
 *
 * The vector file records the database generation it reflects. On first use the store loads it;
 * if it is missing, corrupt or of another dim it is rebuilt from every face in SQLite (and saved,
 * best effort). If its generation is older than the database's, it is brought up to date cheaply:
 * faces with an id above its largest id are added (ids are AUTOINCREMENT, so never reused and
 * increasing in commit order) and the ids logged in face_tombstones after its generation are
 * removed. Every search repeats that check, so a deleted face never shows up, and a crash between
 * a SQLite commit and the vector-file write costs nothing but a short catch-up.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/error.h"

/* Rebuild when this share of the slots is tombstoned (the graph is rebuilt with it). */
#define COMPACT_DEAD_SHARE 0.2

static fs_status read_tombstones_since(fs_store *st, uint64_t *since, fs_error *err)
{
    sqlite3_stmt *s;
    *since = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'tombstones_since'", -1,
                           &s, NULL) != SQLITE_OK)
        return store_sql_fail(st, err, "prepare");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *since = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_fail(st, err, "read meta");
    return FS_OK;
}

/* Adds to v every face with id > after, in id order. Inside a read transaction. */
static fs_status add_faces_after(fs_store *st, fs_vindex *v, int64_t after, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, file_id, embedding FROM faces WHERE id > ?1 ORDER BY id",
                           -1, &s, NULL) != SQLITE_OK)
        return store_sql_fail(st, err, "prepare");
    sqlite3_bind_int64(s, 1, after);
    size_t bytes = (size_t)st->dim * sizeof(float);
    float *vec = malloc(bytes);
    fs_status e = vec ? FS_OK : fs_fail(err, FS_ERR_NOMEM, "out of memory");
    int rc = SQLITE_DONE;
    while (e == FS_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((size_t)sqlite3_column_bytes(s, 2) != bytes) {
            e = fs_fail(err, FS_ERR_FORMAT, "%s: face %lld has an embedding of the wrong size",
                        st->db_path, (long long)sqlite3_column_int64(s, 0));
            break;
        }
        memcpy(vec, sqlite3_column_blob(s, 2), bytes); /* blobs need not be aligned */
        e = fs_vindex_add(v, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), vec, err);
    }
    if (e == FS_OK && rc != SQLITE_DONE)
        e = store_sql_fail(st, err, "read faces");
    free(vec);
    sqlite3_finalize(s);
    return e;
}

static fs_status remove_tombstoned(fs_store *st, fs_vindex *v, uint64_t after_gen, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT face_id FROM face_tombstones WHERE generation > ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return store_sql_fail(st, err, "prepare");
    sqlite3_bind_int64(s, 1, (int64_t)after_gen);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        fs_vindex_remove(v, sqlite3_column_int64(s, 0));
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store_sql_fail(st, err, "read deleted faces");
    return FS_OK;
}

/* Brings st->vindex up to date with SQLite: loads or rebuilds it if needed, then catches up.
 * One read transaction, so that the generation and the faces read belong together. On error
 * st->vindex is left NULL or as it was (still a consistent older state). */
static fs_status refresh(fs_store *st, fs_error *err)
{
    fs_status e;
    int own_txn = !st->in_batch;
    if (own_txn && (e = store_exec(st, "BEGIN", err)) != FS_OK)
        return e;
    uint64_t gen, since;
    fs_vindex *fresh = NULL;
    if ((e = store_generation(st, &gen, err)) != FS_OK ||
        (e = read_tombstones_since(st, &since, err)) != FS_OK)
        goto done;
    if (!st->vindex) {
        uint64_t fgen = 0;
        fs_vindex *loaded = NULL;
        /* readers map the file (a search starts in milliseconds even at a million faces); the
         * writer reads and verifies all of it */
        fs_status le = FS_ERR_IO;
        if (!(st->flags & FS_STORE_WRITE)) /* (a refused mapping, e.g. strict overcommit: read) */
            le = fs_vindex_map(st->vec_path, st->graph_path, st->dim, &loaded, &fgen, NULL);
        if (le != FS_OK && le != FS_ERR_NOT_FOUND)
            le = fs_vindex_load(st->vec_path, st->graph_path, st->dim, &loaded, &fgen, NULL);
        if (le == FS_OK) {
            st->vindex = loaded;
            st->vgen = fgen;
        }
    }
    if (st->vindex && st->vgen == gen)
        goto done;
    if (st->vindex && st->vgen < gen && st->vgen >= since) {
        /* Catch up in place; a failure half-way leaves vindex inconsistent: drop it. */
        if ((e = remove_tombstoned(st, st->vindex, st->vgen, err)) != FS_OK ||
            (e = add_faces_after(st, st->vindex, fs_vindex_max_id(st->vindex), err)) != FS_OK) {
            fs_vindex_free(st->vindex);
            st->vindex = NULL;
            goto done;
        }
        st->vgen = gen;
        goto done;
    }
    /* Missing, corrupt, from the future, or too old for the tombstone log: rebuild. */
    if (!(fresh = fs_vindex_new(st->dim))) {
        e = fs_fail(err, FS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((e = add_faces_after(st, fresh, 0, err)) != FS_OK)
        goto done;
    fs_vindex_free(st->vindex);
    st->vindex = fresh;
    fresh = NULL;
    st->vgen = gen;
    /* Save what was rebuilt (best effort for readers; the writer's sync reports errors). The
     * graph of a large library is left to the writer's fs_store_sync_vectors. */
    fs_vindex_save(st->vindex, st->vec_path, st->graph_path, st->vgen, NULL);
done:
    fs_vindex_free(fresh);
    if (own_txn)
        sqlite3_exec(st->db, e == FS_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return e;
}

fs_status fs_store_search(fs_store *st, const fs_store_query *q, fs_store_hit **hits,
                          size_t *count, fs_error *err)
{
    *hits = NULL;
    *count = 0;
    if (!q || !q->embedding)
        return fs_fail(err, FS_ERR_ARG, "search without a query embedding");
    fs_status e = refresh(st, err);
    if (e != FS_OK)
        return e;
    uint8_t *bits = NULL;
    int64_t nbits = 0;
    fs_vindex_filter filter;
    if (q->folder_count > 0) {
        if ((e = store_folder_filter(st, q->folders, q->folder_count, &bits, &nbits, err)) != FS_OK)
            return e;
        filter.file_bits = bits;
        filter.nbits = nbits;
    }
    e = fs_vindex_search(st->vindex, q->embedding, q->top_k, q->threshold,
                         q->folder_count > 0 ? &filter : NULL, q->exact, q->threads, hits, count,
                         err);
    free(bits);
    return e;
}

fs_status fs_store_sync_vectors(fs_store *st, fs_error *err)
{
    if (!(st->flags & FS_STORE_WRITE))
        return fs_fail(err, FS_ERR_ARG, "%s: index opened for reading only", st->dir);
    if (st->in_batch)
        return fs_fail(err, FS_ERR_ARG, "%s: commit the batch before syncing vectors", st->dir);
    /* What is on disk now (its header only), to know whether anything must be written. */
    uint64_t disk_gen = 0, disk_graph = 0;
    int on_disk = fs_vindex_peek(st->vec_path, st->dim, &disk_gen, &disk_graph) == FS_OK;
    fs_status e = refresh(st, err);
    if (e != FS_OK)
        return e;
    fs_vindex *v = st->vindex;
    size_t slots = fs_vindex_slots(v);
    if (slots > 0 && (double)(slots - fs_vindex_live(v)) > COMPACT_DEAD_SHARE * (double)slots)
        fs_vindex_compact(v, NULL);
    if ((e = fs_vindex_build_graph(v, 2, err)) != FS_OK)
        return e;
    int changed = !on_disk || disk_gen != st->vgen || disk_graph != (uint64_t)fs_vindex_graph_count(v) ||
                  fs_vindex_slots(v) != slots;
    if (changed && (e = fs_vindex_save(v, st->vec_path, st->graph_path, st->vgen, err)) != FS_OK)
        return e;
    /* Tombstones up to the saved generation are no longer needed by the file on disk. The
     * floor moves in the same transaction, so that an older file is rebuilt, not caught up. */
    if (store_exec(st, "BEGIN IMMEDIATE", NULL) == FS_OK) {
        sqlite3_stmt *s;
        int ok = sqlite3_prepare_v2(st->db,
                                    "INSERT OR REPLACE INTO meta(key, value) VALUES"
                                    " ('tombstones_since', max(?1, coalesce((SELECT value FROM meta"
                                    " WHERE key = 'tombstones_since'), 0)))", -1, &s, NULL) == SQLITE_OK;
        if (ok) {
            sqlite3_bind_int64(s, 1, (int64_t)st->vgen);
            ok = sqlite3_step(s) == SQLITE_DONE;
            sqlite3_finalize(s);
        }
        if (ok && sqlite3_prepare_v2(st->db, "DELETE FROM face_tombstones WHERE generation <= ?1",
                                     -1, &s, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(s, 1, (int64_t)st->vgen);
            ok = sqlite3_step(s) == SQLITE_DONE;
            sqlite3_finalize(s);
        } else {
            ok = 0;
        }
        sqlite3_exec(st->db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    }
    return FS_OK;
}
