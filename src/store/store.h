/*
 * store.h — the persistent index: an index folder holding a SQLite database (index.db, the source
 * of truth: files, faces, embeddings, metadata) and a vector file (vectors.bin, plus vectors.hnsw
 * for large libraries) that is only a cache of the embeddings in a searchable form.
 *
 * Used by the indexer (one writer) and by search (any number of readers, possibly while the writer
 * runs). Internal to libfacesearch; the public API in facesearch.h wraps it.
 *
 * Conventions as in facesearch.h: functions return fs_status and fill `err` on failure. Paths are
 * NUL-terminated byte strings: any bytes but NUL, not necessarily UTF-8; they are stored as BLOBs
 * and compared byte-wise. A "folder" argument may end in '/' or not ("/a/b" and "/a/b/" are the
 * same folder) and covers every path strictly under it: folder /a/b covers /a/b/x.jpg and
 * /a/b/c/y.jpg but never /a/bc/z.jpg.
 *
 * Sketch, indexer (index/run.c):
 *     store_open(dir, &pack, FS_STORE_CREATE, &store, &err);
 *     store_begin(store, &err);               // a batch: many files, one transaction
 *     for each file:
 *         store_file_by_path(store, path, &f, &found, &err);
 *         if (found && f.size == size && f.mtime_ns == mtime)
 *             continue;                       // unchanged
 *         hash it; store_file_by_hash(store, hex, &old, &old_path, &found, &err);
 *         if (found)                          // moved or copied: no re-embedding
 *             store_copy_file(store, old.id, path, size, mtime, hex, &err);
 *         else                                // run the pipeline, then one of
 *             store_put_file(store, path, size, mtime, hex, faces, n, NULL, &err);
 *             store_put_failed(store, path, size, mtime, hex, "truncated JPEG", &err);
 *         every N files: store_commit(store, &err); store_begin(store, &err);
 *     store_commit(store, &err);
 *     store_list_folder(...) + store_remove_path(...) for files that vanished;
 *     store_sync_vectors(store, &err);        // at the end (and every few minutes)
 *     store_close(store);
 *
 * Sketch, search (index/search.c):
 *     store_open(dir, &pack, FS_STORE_READ, &store, &err);
 *     store_query q = {.embedding = e, .top_k = 50, .threshold = 0.5f, .folders = dirs,
 *                      .folder_count = n};
 *     store_search(store, &q, &hits, &nhits, &err);   // best first, ties by face id
 *     store_faces_by_ids(store, ids, nhits, 1, visit, ctx, &err);  // the rows, in batches
 *     free(hits); store_close(store);
 */
#ifndef FS_STORE_STORE_H
#define FS_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch.h"
#include "util/vec.h" /* util_vec_dot: the similarity of every search */

#define FS_STORE_SCHEMA_VERSION 4
#define FS_STORE_DIM_MAX 4096

typedef struct store_db store_db;

/* Which model pack produced (or is about to produce) the embeddings. An index is tied to one. */
typedef struct store_pack_id {
    const char *name;                 /* e.g. "buffalo_l" */
    size_t file_count;
    const char *const *file_names;    /* file_count names */
    const char *const *file_sha256;   /* file_count lower-case hex digests ("" if unknown) */
    int embedding_dim;                /* 1..FS_STORE_DIM_MAX, e.g. 512 */
    /* Version of the face pipeline that computes the embeddings (detection, alignment, ...):
     * recorded at creation; an index made by another version is refused, since its embeddings
     * would not be comparable. NULL: not checked (and recorded as ""). */
    const char *pipeline;
} store_pack_id;

enum {
    FS_STORE_READ = 0,   /* open an existing index for search; never writes the database */
    FS_STORE_WRITE = 1,  /* open an existing index for indexing */
    FS_STORE_CREATE = 3  /* like WRITE, and create the folder and index if absent */
};

/* Opens (or with FS_STORE_CREATE creates) the index in folder dir. pack may be NULL only with
 * FS_STORE_READ (then any pack is accepted; see store_stats). An index built with another pack
 * is refused: "DIR: built with model pack 'X'; use --models X or another --db" (FS_ERR_ARG).
 * Applies pending schema migrations. The vector file is loaded lazily, at the first search.
 * On failure *out is NULL and nothing on disk was changed. Release with store_close. */
fs_status store_open(const char *dir, const store_pack_id *pack, unsigned flags,
                     store_db **out, fs_error *err);

/* Closes the index; rolls back an uncommitted batch. Does not write the vector file (call
 * store_sync_vectors first: closing cannot report errors). NULL is allowed. */
void store_close(store_db *store);

/* Name and embedding dimension of the index's model pack (owned by the store). */
const char *store_pack_name(const store_db *store);
int store_dim(const store_db *store);
/* 1 when the vectors a reader searches are the vector file's mapping (shared with every reader
 * of the file, no memory of its own), 0 when it holds its own copy or none yet. */
int store_vectors_mapped(const store_db *store);

/* ---- Batches ------------------------------------------------------------------------------
 * Writes outside a batch are each their own transaction. Inside a batch each write is still
 * atomic on its own (a failing put leaves the batch as it was), and the batch becomes visible to
 * readers, and durable, at store_commit. */
fs_status store_begin(store_db *store, fs_error *err);
fs_status store_commit(store_db *store, fs_error *err);
/* Discards the current batch (no-op without one). */
void store_rollback(store_db *store);

/* ---- Files -------------------------------------------------------------------------------- */
typedef enum store_file_status { FS_FILE_OK = 0, FS_FILE_FAILED = 1 } store_file_status;

typedef struct store_file {
    int64_t id;
    int64_t size;        /* bytes */
    int64_t mtime_ns;    /* modification time, ns since the epoch */
    char sha256[65];     /* lower-case hex of the content, "" if not known */
    store_file_status status;
    int64_t indexed_at;  /* seconds since the epoch */
    int64_t face_count;
} store_file;

/* Looks a file up by exact path. *found is 0 (and *out untouched) when absent. */
fs_status store_file_by_path(store_db *store, const char *path, store_file *out, int *found,
                             fs_error *err);

/* Looks up a successfully indexed file with this content hash (the lowest id if several). When
 * found and path_out is not NULL, *path_out receives its path (malloc'd; caller frees). */
fs_status store_file_by_hash(store_db *store, const char *sha256, store_file *out,
                             char **path_out, int *found, fs_error *err);

/* One face of a file. On input (store_put_file) `id` and `file_id` are ignored.
 * `embedding` is never owned by the face: it borrows dim floats (L2-normalised). Going in, they are
 * the caller's; coming out, they are the store's and valid until the visit callback returns
 * (store_each_face, store_faces_of_file, store_faces_by_ids), or they are the caller's buffer
 * (store_face_by_id). Nothing frees it through the face; copy it to keep it. */
typedef struct store_face {
    int64_t id;
    int64_t file_id;
    int face_index;        /* 0-based number of the face in its file */
    float box[4];          /* x1, y1, x2, y2 in upright-image pixels */
    float landmarks[10];   /* 5 points: x0, y0, ... x4, y4 */
    float score;           /* detector score */
    float quality;         /* fs_face.quality; < 0: not measured (stored as NULL: a face indexed
                            * before the index kept qualities) */
    const float *embedding; /* dim floats, borrowed (see above) */
} store_face;

/* Inserts or replaces the file at path with status ok and exactly these n faces (n may be 0).
 * Atomic: on error nothing is modified. *file_id (if not NULL) receives the file's id. */
fs_status store_put_file(store_db *store, const char *path, int64_t size, int64_t mtime_ns,
                         const char *sha256, const store_face *faces, size_t n,
                         int64_t *file_id, fs_error *err);

/* Inserts or replaces the file at path with status failed, the given reason and no faces.
 * Atomic: on error nothing is modified. */
fs_status store_put_failed(store_db *store, const char *path, int64_t size, int64_t mtime_ns,
                           const char *sha256, const char *reason, fs_error *err);

/* Inserts or replaces the file at path with a copy of the faces of file from_id (a moved or
 * duplicated photo: nothing is re-embedded). FS_ERR_NOT_FOUND if from_id does not exist.
 * Atomic: on error nothing is modified. */
fs_status store_copy_file(store_db *store, int64_t from_id, const char *path, int64_t size,
                          int64_t mtime_ns, const char *sha256, fs_error *err);

/* Looks a file up by id. *found is 0 (and *out untouched) when absent; when found and path_out
 * is not NULL, *path_out receives its path (malloc'd; caller frees). */
fs_status store_file_by_id(store_db *st, int64_t id, store_file *out, char **path_out,
                           int *found, fs_error *err);

/* Reason stored for a failed file into buf ("" if none). */
fs_status store_file_error(store_db *store, int64_t file_id, char *buf, size_t size,
                           fs_error *err);

/* Calls visit(face, path, ctx) for each face of a file, in face_index order; a non-zero return
 * stops. visit must not write. A file with no faces (or no such file) visits nothing. */
typedef int (*store_face_visit)(const store_face *face, const char *path, void *ctx);
fs_status store_faces_of_file(store_db *store, int64_t file_id, store_face_visit visit, void *ctx,
                              fs_error *err);

/* Removes the file at exactly path (and its faces). *removed (may be NULL) gets 0 or 1. */
fs_status store_remove_path(store_db *store, const char *path, int64_t *removed, fs_error *err);

/* Removes every file under folder (see the header comment). *removed (may be NULL) gets the count.
 */
fs_status store_remove_folder(store_db *store, const char *folder, int64_t *removed,
                              fs_error *err);

/* Calls visit(path, file, ctx) for every file under folder, in byte order of path; a non-zero
 * return from visit stops the walk (the function then returns FS_OK). visit must not write to
 * the store. */
typedef int (*store_file_visit)(const char *path, const store_file *file, void *ctx);
fs_status store_list_folder(store_db *store, const char *folder, store_file_visit visit,
                            void *ctx, fs_error *err);

/* Calls visit(sha256, ctx) once for every distinct content hash of an indexed (not failed) file;
 * a non-zero return stops the walk. visit must not write to the store. */
typedef int (*store_hash_visit)(const char *sha256, void *ctx);
fs_status store_each_hash(store_db *store, store_hash_visit visit, void *ctx, fs_error *err);

/* ---- Faces -------------------------------------------------------------------------------- */

/* Calls visit(face, path, ctx) for every face in id order. A non-zero return stops the walk.
 * visit must not write. */
fs_status store_each_face(store_db *store, store_face_visit visit, void *ctx, fs_error *err);

/* The faces of the given ids, fetched in batches (one query per 128 ids), each passed to visit
 * once, in no particular order; ids with no face are skipped. Without want_embedding,
 * face->embedding is NULL. A non-zero return from visit stops. */
fs_status store_faces_by_ids(store_db *store, const int64_t *ids, size_t count, int want_embedding,
                             store_face_visit visit, void *ctx, fs_error *err);

/* One face by id. embedding (may be NULL) receives dim floats; *path (may be NULL) receives the
 * file's path, malloc'd. *found is 0 when there is no such face (nothing else is filled). */
fs_status store_face_by_id(store_db *store, int64_t face_id, store_face *out, float *embedding,
                           char **path, int *found, fs_error *err);

/* ---- Search ------------------------------------------------------------------------------- */
typedef struct store_query {
    const float *embedding;          /* dim floats, L2-normalised */
    size_t top_k;                    /* at most this many hits; 0 = no limit */
    float threshold;                 /* only hits with similarity >= threshold; -1 = all */
    const char *const *folders;      /* restrict to files under (or equal to) these paths */
    size_t folder_count;             /* 0 = the whole index */
    int exact;                       /* 1: exhaustive; always identical to an fp32 brute force */
    int threads;                     /* scan threads; <= 1 means one */
} store_query;

typedef struct store_hit {
    int64_t face_id;
    float similarity;                /* fp32 dot product (util_vec_dot) */
} store_hit;

/* Finds the faces most similar to q->embedding, best first, equal similarities by ascending face
 * id. Refreshes the in-memory vectors from SQLite first if the writer committed since (cheap),
 * so deleted faces never appear. *hits is malloc'd (caller frees; NULL when *count is 0).
 * On error *hits is NULL and *count 0. */
fs_status store_search(store_db *store, const store_query *q, store_hit **hits,
                       size_t *count, fs_error *err);

/* store_search for each of n queries at once: the same options, embeddings[i * dim ..] the
 * i-th query's; hits[i] and counts[i] as store_search's *hits and *count. The vectors are
 * refreshed once, then the queries run on q->threads threads (<= 1: one), one each at a time.
 * On error every hits[i] is NULL and counts[i] 0. */
fs_status store_search_batch(store_db *store, const store_query *q, const float *embeddings,
                             size_t n, store_hit **hits, size_t *counts, fs_error *err);

/* Makes the vector files on disk agree with SQLite (writes them only if they are stale; builds or
 * extends the HNSW graph of a large library). Called by the writer after an index run. */
fs_status store_sync_vectors(store_db *store, fs_error *err);

/* ---- Faces kept ----------------------------------------------------------------------------
 * The index keeps every face down to the detector's floor (SPEC.md §5). An index that recorded
 * another floor, or none (made before the rule, possibly with a larger --min-size), may lack
 * small faces: its files are marked for re-detection (the faces stay searchable until each
 * file's folder is indexed again) and the floor is recorded. *refresh gets the files marked. */
fs_status store_face_floor(store_db *store, int floor, int64_t *refresh, fs_error *err);

/* ---- People (people_db.c) ------------------------------------------------------------------
 * A person is a row of `people` (an id, an optional unique name). Every face the grouping has
 * seen has a row in face_people: its person (0 = none) and its quality score; `pinned` marks a
 * face the user placed. Decisions (STORE_PIN: this face is that person; STORE_REJECT: it is not)
 * are keyed by the photo's content hash and the face's box, and outlive face rows (see db.c's
 * migration 2). Deleting a person deletes its decisions and leaves its faces without a person. */
enum { STORE_PIN = 0, STORE_REJECT = 1 };

/* A face as the grouping sees it. */
typedef struct store_people_face {
    int64_t face_id, file_id;
    char sha256[65];        /* the photo's content hash ("" if unknown) */
    float box[4], landmarks[10], score;
    int64_t person_id;      /* 0: none */
    float quality;          /* the grouping's (face_people): meaningful when seen */
    float face_quality;     /* the index's (store_face.quality): < 0 when not measured */
    int seen;               /* has a face_people row (grouped before, or judged unsure) */
    int pinned;
    int face_index;         /* 0-based number in its photo */
    const char *path;       /* the photo; borrowed, valid during the visit */
} store_people_face;

typedef int (*store_people_face_visit)(const store_people_face *f, void *ctx);

/* Visits every face (only_unseen: only faces without a face_people row) in id order; a non-zero
 * return stops. visit must not write. */
fs_status store_people_faces(store_db *st, int only_unseen, store_people_face_visit visit,
                             void *ctx, fs_error *err);
/* Visits the faces of a person (person_id > 0) best quality first, then by id. */
fs_status store_person_faces(store_db *st, int64_t person_id, store_people_face_visit visit,
                             void *ctx, fs_error *err);
/* Visits the faces judged unsure (no person, quality below min_quality), best first. */
fs_status store_people_unsure(store_db *st, float min_quality, store_people_face_visit visit,
                              void *ctx, fs_error *err);
/* Visits the faces of one photo, in face_index order. */
fs_status store_people_faces_of_file(store_db *st, int64_t file_id,
                                     store_people_face_visit visit, void *ctx, fs_error *err);
/* Visits the faces of the given ids (128 per query), in no particular order; absent ids are
 * skipped. A non-zero return from visit stops the current query's rows only. */
fs_status store_people_faces_by_ids(store_db *st, const int64_t *ids, size_t n,
                                    store_people_face_visit visit, void *ctx, fs_error *err);
/* One face by id; *found 0 when absent (out untouched). out->path is NULL. */
fs_status store_people_face_get(store_db *st, int64_t face_id, store_people_face *out, int *found,
                            fs_error *err);
/* The embeddings of n faces (ids ascending or not) into out (n * dim floats, row i for ids[i]);
 * FS_ERR_NOT_FOUND if one is missing. */
fs_status store_embeddings(store_db *st, const int64_t *ids, size_t n, float *out,
                           fs_error *err);

/* Records face face_id's person (0: none), quality and pinned flag (a write). */
fs_status store_people_set(store_db *st, int64_t face_id, int64_t person_id, float quality,
                           int pinned, fs_error *err);
/* Forgets every face's person except pinned ones (rebuild; a write). */
fs_status store_people_reset(store_db *st, fs_error *err);

typedef struct store_person {
    int64_t id;
    char name[256];         /* "" when unnamed */
    int64_t faces, photos;
    int64_t best_face;      /* the face of best quality (0 if none) */
    int decided;            /* has a name or decisions: the user's, kept when empty */
    /* store_people_list only (else NULL): the best face's photo, borrowed during the visit, and
     * its box */
    const char *best_path;
    float best_box[4];
} store_person;
typedef int (*store_person_visit)(const store_person *p, void *ctx);

/* Visits every person, most faces first, then by id. */
fs_status store_people_list(store_db *st, store_person_visit visit, void *ctx, fs_error *err);
/* How many persons there are (those store_people_list visits). */
fs_status store_people_count(store_db *st, int64_t *n, fs_error *err);
/* A person by id (name NULL) or by exact name (id 0); *found 0 when absent. */
fs_status store_person_get(store_db *st, int64_t id, const char *name, store_person *out,
                           int *found, fs_error *err);
/* A new person (name may be NULL) into *id (a write). A name already taken: FS_ERR_ARG. */
fs_status store_person_new(store_db *st, const char *name, int64_t *id, fs_error *err);
/* Sets (or with NULL clears) a person's name (a write). Taken name: FS_ERR_ARG. */
fs_status store_person_name(store_db *st, int64_t id, const char *name, fs_error *err);
/* Deletes a person and its decisions (a write). */
fs_status store_person_delete(store_db *st, int64_t id, fs_error *err);
/* Deletes people with no face, no name and no decision (a write); *n gets how many. */
fs_status store_people_prune(store_db *st, int64_t *n, fs_error *err);
/* Moves everything of person from (faces, decisions) to person into, and deletes from. */
fs_status store_people_merge(store_db *st, int64_t into, int64_t from, fs_error *err);
/* Counts: faces seen and judged unsure (no person, quality below min_quality), faces seen with
 * no person and quality at least min_quality, faces not seen yet. */
fs_status store_people_counts(store_db *st, float min_quality, int64_t *unsure,
                              int64_t *ungrouped, int64_t *unseen, fs_error *err);

/* *any: whether any face has been seen by a grouping (has a face_people row). */
fs_status store_people_any_seen(store_db *st, int *any, fs_error *err);

typedef struct store_decision {
    int64_t person_id;
    int kind;               /* STORE_PIN or STORE_REJECT */
    char sha256[65];
    float box[4];
} store_decision;
typedef int (*store_decision_visit)(const store_decision *d, void *ctx);
/* Visits every decision (sha256 NULL) or those of one photo content, in the order made. */
fs_status store_decisions(store_db *st, const char *sha256, store_decision_visit visit,
                          void *ctx, fs_error *err);
/* Records a decision (a write). A pin first removes the face's other pins (same photo, same
 * box); a reject removes the face's pin to that person. */
fs_status store_decide(store_db *st, const store_decision *d, fs_error *err);

/* Imports the named or decided people of the index database at other_db (its index.db), with
 * their decisions; a person whose name exists here is merged into it (a write; not inside a
 * batch). *people and *decisions get the counts. FS_ERR_NOT_FOUND if that index has no people. */
fs_status store_people_import(store_db *st, const char *other_db, int64_t *people,
                              int64_t *decisions, fs_error *err);

/* ---- Maintenance -------------------------------------------------------------------------- */
typedef struct store_stats {
    int64_t files;          /* all files, ok or failed */
    int64_t failed;
    int64_t faces;
    int64_t folders;        /* distinct parent folders of files */
    int64_t db_bytes;       /* index.db + its WAL */
    int64_t vector_bytes;   /* vector files */
    int embedding_dim;
    int schema_version;
    char pack[128];
} store_stats;
fs_status store_stats_get(store_db *store, store_stats *out, fs_error *err);

/* PRAGMA integrity_check and foreign_key_check: FS_OK, or FS_ERR_INTEGRITY with the first problem.
 */
fs_status store_check(store_db *store, fs_error *err);

#endif
