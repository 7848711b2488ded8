/*
 * vsync.c — keeps the vector index (vindex.c) in step with SQLite, the source of truth, and runs
 * searches.
 *
 * The vector file records the database generation it reflects. On first use the store maps it
 * for searches (a search touches only the slots it meets), or reads and verifies all of it when
 * the writer is to save it (store_sync_vectors); if it is missing, corrupt or of another dim it
 * is rebuilt from every face in SQLite (and saved, best effort). If its generation is older than the database's, it is brought up to date cheaply:
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

static fs_status read_tombstones_since(store_db *store, uint64_t *since, fs_error *err)
{
    sqlite3_stmt *s;
    *since = 0;
    if (sqlite3_prepare_v2(store->db, "SELECT value FROM meta WHERE key = 'tombstones_since'", -1,
                           &s, NULL) != SQLITE_OK)
        return store_sql_fail(store, err, "prepare");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *since = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_sql_fail(store, err, "read meta");
    return FS_OK;
}

/* Adds to v every face with id > after, in id order. Inside a read transaction. */
static fs_status add_faces_after(store_db *store, vindex *v, int64_t after, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(store->db,
                           "SELECT id, file_id, embedding FROM faces WHERE id > ?1 ORDER BY id",
                           -1, &s, NULL) != SQLITE_OK)
        return store_sql_fail(store, err, "prepare");
    sqlite3_bind_int64(s, 1, after);
    size_t bytes = (size_t)store->dim * sizeof(float);
    float *vec = malloc(bytes);
    fs_status rc = vec ? FS_OK : util_fail(err, FS_ERR_NOMEM, "out of memory");
    int sqlrc = SQLITE_DONE;
    while (rc == FS_OK && (sqlrc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((size_t)sqlite3_column_bytes(s, 2) != bytes) {
            rc = util_fail(err, FS_ERR_FORMAT, "%s: face %lld has an embedding of the wrong size",
                           store->db_path, (long long)sqlite3_column_int64(s, 0));
            break;
        }
        memcpy(vec, sqlite3_column_blob(s, 2), bytes); /* blobs need not be aligned */
        rc = vindex_add(v, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), vec, err);
    }
    if (rc == FS_OK && sqlrc != SQLITE_DONE)
        rc = store_sql_fail(store, err, "read faces");
    free(vec);
    sqlite3_finalize(s);
    return rc;
}

static fs_status remove_tombstoned(store_db *store, vindex *v, uint64_t after_gen, fs_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(store->db, "SELECT face_id FROM face_tombstones WHERE generation > ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return store_sql_fail(store, err, "prepare");
    sqlite3_bind_int64(s, 1, (int64_t)after_gen);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        vindex_remove(v, sqlite3_column_int64(s, 0));
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return store_sql_fail(store, err, "read deleted faces");
    return FS_OK;
}

/* Brings st->vindex up to date with SQLite: loads or rebuilds it if needed, then catches up.
 * One read transaction, so that the generation and the faces read belong together. On error
 * st->vindex is left NULL or as it was (still a consistent older state). for_save: the writer
 * will save the vectors (store_sync_vectors), so they must be verified ones. */
static fs_status refresh(store_db *store, int for_save, fs_error *err)
{
    fs_status e;
    int own_txn = !store->in_batch;
    if (for_save && store->vindex && !store->vindex_verified) {
        /* mapped for searches, never checked: saved, a damaged file would stay damaged */
        vindex_free(store->vindex);
        store->vindex = NULL;
    }
    if (own_txn && (e = store_exec(store, "BEGIN", err)) != FS_OK)
        return e;
    uint64_t gen, since;
    vindex *fresh = NULL;
    int had_file = store->vindex != NULL;
    if ((e = store_generation(store, &gen, err)) != FS_OK ||
        (e = read_tombstones_since(store, &since, err)) != FS_OK)
        goto done;
    vindex_file_id was = {0}; /* the file as found before opening it: a reader's save checks it */
    if (!store->vindex) {
        uint64_t fgen = 0;
        vindex *loaded = NULL;
        vindex_identify(store->vec_path, &was);
        /* searches map the file (a search starts in milliseconds even at a million faces, and
         * `people update` reads only the slots it meets); a writer about to save reads and
         * verifies all of it */
        fs_status le = FS_ERR_IO;
        if (!for_save) /* (a refused mapping, e.g. strict overcommit: read) */
            le = vindex_map(store->vec_path, store->graph_path, store->dim, &loaded, &fgen, NULL);
        store->vindex_verified = le != FS_OK;
        if (le != FS_OK && le != FS_ERR_NOT_FOUND)
            le = vindex_load(store->vec_path, store->graph_path, store->dim, &loaded, &fgen, NULL);
        if (le == FS_OK) {
            store->vindex = loaded;
            store->vgen = fgen;
            had_file = 1;
        }
    }
    /* A file newer than this transaction's snapshot: the writer committed and saved since it
     * began. A newer snapshot catches up with the file instead of rebuilding from scratch (and,
     * worse, saving an older state over the writer's file and its graph). */
    for (int tries = 0; own_txn && store->vindex && store->vgen > gen && tries < 3; tries++) {
        sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
        if ((e = store_exec(store, "BEGIN", err)) != FS_OK)
            return e;
        if ((e = store_generation(store, &gen, err)) != FS_OK ||
            (e = read_tombstones_since(store, &since, err)) != FS_OK)
            goto done;
    }
    /* A reader behind, or holding its own copy of the vectors (it caught up with a writer's
     * run), while the file on disk is at this generation (the writer saved it at the end of its
     * run): the file is mapped afresh, shared with every reader. Catching up in place copies
     * every array into the reader's own memory (~2.6 KB a face, for each reader of a server). */
    if (store->vindex && !(store->flags & FS_STORE_WRITE) &&
        (store->vgen < gen || !vindex_mapped(store->vindex))) {
        uint64_t fgen = 0, graph_count;
        vindex *mapped = NULL;
        if (vindex_peek(store->vec_path, store->dim, &fgen, &graph_count) == FS_OK &&
            fgen == gen && !(store->map_refused && store->map_refused_gen == fgen)) {
            if (vindex_map(store->vec_path, store->graph_path, store->dim, &mapped, &fgen,
                           NULL) != FS_OK) {
                store->map_refused = 1; /* not again for this file */
                store->map_refused_gen = gen;
            } else if (fgen == gen) {
                vindex_free(store->vindex);
                store->vindex = mapped;
                store->vindex_verified = 0;
                store->vgen = gen;
                goto done;
            } else {
                vindex_free(mapped); /* saved again in between: catch up as before */
            }
        }
    }
    if (store->vindex && store->vgen == gen)
        goto done;
    if (store->vindex && store->vgen < gen && store->vgen >= since) {
        /* Catch up in place; a failure half-way leaves vindex inconsistent: drop it. */
        if ((e = remove_tombstoned(store, store->vindex, store->vgen, err)) != FS_OK ||
            (e = add_faces_after(store, store->vindex, vindex_max_id(store->vindex), err)) !=
                FS_OK) {
            vindex_free(store->vindex);
            store->vindex = NULL;
            goto done;
        }
        store->vgen = gen;
        goto done;
    }
    /* Missing, corrupt, from the future, or too old for the tombstone log: rebuild. */
    if (!(fresh = vindex_new(store->dim))) {
        e = util_fail(err, FS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((e = add_faces_after(store, fresh, 0, err)) != FS_OK)
        goto done;
    vindex_free(store->vindex);
    store->vindex = fresh;
    store->vindex_verified = 1;
    fresh = NULL;
    store->vgen = gen;
    /* Save what was rebuilt: the writer always (its sync reports errors; the graph of a large
     * library is built there); a reader only when there was no usable file, best effort, and
     * never touching the graph file, which is the writer's. */
    if (store->flags & FS_STORE_WRITE)
        vindex_save(store->vindex, store->vec_path, store->graph_path, store->vgen, NULL);
    else if (!had_file)
        vindex_save_rebuilt(store->vindex, store->vec_path, store->vgen, &was, NULL);
done:
    vindex_free(fresh);
    if (own_txn)
        sqlite3_exec(store->db, e == FS_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return e;
}

/* Makes store->filter_bits the filter of these folders at the current generation: the kept one
 * when the folders and the generation it was made at are the same, else a new one. */
static fs_status cached_filter(store_db *store, const char *const *folders, size_t n,
                               fs_error *err)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += strlen(folders[i]) + 1;
    char *key = malloc(len ? len : 1);
    if (!key)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    char *p = key;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(folders[i]) + 1;
        memcpy(p, folders[i], k);
        p += k;
    }
    if (store->filter_key && store->filter_gen == store->vgen && store->filter_key_len == len &&
        memcmp(store->filter_key, key, len) == 0) {
        free(key);
        return FS_OK;
    }
    uint8_t *bits;
    int64_t nbits;
    fs_status rc = store_folder_filter(store, folders, n, &bits, &nbits, err);
    if (rc != FS_OK) {
        free(key);
        return rc;
    }
    free(store->filter_bits);
    free(store->filter_key);
    store->filter_bits = bits;
    store->filter_nbits = nbits;
    /* counted once for the vectors of this generation, not at every search */
    vindex_filter f = {.file_bits = bits, .nbits = nbits};
    store->filter_kept = store->vindex ? vindex_filter_count(store->vindex, &f) : 0;
    store->filter_gen = store->vgen;
    /* kept only when the generation it belongs to is known (vectors loaded) */
    store->filter_key = store->vindex ? key : NULL;
    store->filter_key_len = len;
    if (!store->vindex)
        free(key);
    return FS_OK;
}

/* The folder filter of q (when it names folders): the store's cached bits for them. */
static fs_status query_filter(store_db *store, const store_query *q, vindex_filter *filter,
                              fs_error *err)
{
    if (q->folder_count == 0)
        return FS_OK;
    fs_status rc = cached_filter(store, q->folders, q->folder_count, err);
    if (rc != FS_OK)
        return rc;
    filter->file_bits = store->filter_bits;
    filter->nbits = store->filter_nbits;
    filter->kept = store->filter_kept;
    return FS_OK;
}

fs_status store_search(store_db *store, const store_query *q, store_hit **hits,
                       size_t *count, fs_error *err)
{
    *hits = NULL;
    *count = 0;
    if (!q || !q->embedding)
        return util_fail(err, FS_ERR_ARG, "search without a query embedding");
    fs_status rc = refresh(store, 0, err);
    if (rc != FS_OK)
        return rc;
    vindex_filter filter;
    if ((rc = query_filter(store, q, &filter, err)) != FS_OK)
        return rc;
    return vindex_search(store->vindex, q->embedding, q->top_k, q->threshold,
                         q->folder_count > 0 ? &filter : NULL, q->exact, q->threads, hits, count,
                         err);
}

fs_status store_search_batch(store_db *store, const store_query *q, const float *embeddings,
                             size_t n, store_hit **hits, size_t *counts, fs_error *err)
{
    for (size_t i = 0; i < n; i++)
        hits[i] = NULL, counts[i] = 0;
    if (!q || !embeddings)
        return util_fail(err, FS_ERR_ARG, "search without a query embedding");
    fs_status rc = refresh(store, 0, err);
    if (rc != FS_OK || n == 0)
        return rc;
    vindex_filter filter;
    if ((rc = query_filter(store, q, &filter, err)) != FS_OK)
        return rc;
    const vindex *v = store->vindex;
    size_t dim = (size_t)store->dim, failed = n; /* the first query that failed */
    fs_error first;
    memset(&first, 0, sizeof first);
    /* one query per thread at a time: a graph search is bound by memory latency, and the
     * searches share nothing but the read-only index */
#pragma omp parallel for schedule(dynamic, 8) num_threads(q->threads > 1 ? q->threads : 1)
    for (size_t i = 0; i < n; i++) {
        fs_error e;
        if (vindex_search(v, embeddings + i * dim, q->top_k, q->threshold,
                          q->folder_count > 0 ? &filter : NULL, q->exact, 1, &hits[i],
                          &counts[i], &e) != FS_OK) {
#pragma omp critical(store_search_batch_error)
            if (i < failed) {
                failed = i;
                first = e;
            }
        }
    }
    if (failed == n)
        return FS_OK;
    for (size_t i = 0; i < n; i++) {
        free(hits[i]);
        hits[i] = NULL, counts[i] = 0;
    }
    if (err)
        *err = first;
    return first.code;
}

int store_vectors_mapped(const store_db *store)
{
    return store->vindex && vindex_mapped(store->vindex);
}

fs_status store_sync_vectors(store_db *store, fs_error *err)
{
    if (!(store->flags & FS_STORE_WRITE))
        return util_fail(err, FS_ERR_ARG, "%s: index opened for reading only", store->dir);
    if (store->in_batch)
        return util_fail(err, FS_ERR_ARG, "%s: commit the batch before syncing vectors",
                         store->dir);
    /* What is on disk now (its header only), to know whether anything must be written. */
    uint64_t disk_gen = 0, disk_graph = 0;
    int on_disk = vindex_peek(store->vec_path, store->dim, &disk_gen, &disk_graph) == FS_OK;
    fs_status rc = refresh(store, 1, err);
    if (rc != FS_OK)
        return rc;
    vindex *v = store->vindex;
    size_t slots = vindex_slots(v);
    if (slots > 0 && (double)(slots - vindex_live(v)) > COMPACT_DEAD_SHARE * (double)slots)
        vindex_compact(v, NULL);
    if ((rc = vindex_build_graph(v, 2, err)) != FS_OK)
        return rc;
    int changed = !on_disk || disk_gen != store->vgen ||
                  disk_graph != (uint64_t)vindex_graph_count(v) || vindex_slots(v) != slots;
    if (changed &&
        (rc = vindex_save(v, store->vec_path, store->graph_path, store->vgen, err)) != FS_OK)
        return rc;
    /* Tombstones up to the saved generation are no longer needed by the file on disk. The
     * floor moves in the same transaction, so that an older file is rebuilt, not caught up. */
    if (store_exec(store, "BEGIN IMMEDIATE", NULL) == FS_OK) {
        sqlite3_stmt *s;
        int ok = sqlite3_prepare_v2(store->db,
                                    "INSERT OR REPLACE INTO meta(key, value) VALUES"
                                    " ('tombstones_since', max(?1, coalesce((SELECT value FROM meta"
                                    " WHERE key = 'tombstones_since'), 0)))",
                                    -1, &s, NULL) == SQLITE_OK;
        if (ok) {
            sqlite3_bind_int64(s, 1, (int64_t)store->vgen);
            ok = sqlite3_step(s) == SQLITE_DONE;
            sqlite3_finalize(s);
        }
        if (ok &&
            sqlite3_prepare_v2(store->db, "DELETE FROM face_tombstones WHERE generation <= ?1", -1,
                               &s, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(s, 1, (int64_t)store->vgen);
            ok = sqlite3_step(s) == SQLITE_DONE;
            sqlite3_finalize(s);
        } else {
            ok = 0;
        }
        sqlite3_exec(store->db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    }
    return FS_OK;
}
