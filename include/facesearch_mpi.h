/*
 * facesearch_mpi.h — index and search runs over a sharded library (facesearch.h, "Sharded
 * libraries") with one MPI process (rank) per shard, launched by mpirun or srun. Built only when
 * Open MPI's development files are present (the library libfacesearch_mpi); everything else in
 * facesearch needs no MPI.
 *
 * Every rank calls the same functions in the same order (they are collective); results and
 * errors are the same on every rank: a failure on any rank is the failure of all, with the
 * message of the lowest failing rank. Progress and results reach the caller on rank 0.
 */
#ifndef FACESEARCH_MPI_H
#define FACESEARCH_MPI_H

#include "facesearch.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fs_mpi fs_mpi;

/* Starts MPI in this process (also alone, outside mpirun: one rank). Release with
 * fs_mpi_close, which ends MPI; once per process. */
fs_status fs_mpi_open(fs_mpi **out, fs_error *err);
void fs_mpi_close(fs_mpi *mpi);
/* Ends every rank of the run at once (MPI_Abort: mpirun exits with status), where an orderly end
 * cannot be had: a rank that does not answer would make fs_mpi_close wait for it. */
void fs_mpi_abort(fs_mpi *mpi, int status) __attribute__((noreturn));
int fs_mpi_rank(const fs_mpi *mpi);
int fs_mpi_size(const fs_mpi *mpi);

/* Adds or refreshes the photos under the roots in the sharded library dir, made for as many
 * shards as there are ranks when absent (a library's shard count never changes: another number
 * of ranks is FS_ERR_ARG). Rank r writes shard r only, holding its writer lock (wait: wait for a
 * running writer instead of failing). Rank 0 walks the roots; the photos that no shard holds
 * unchanged are hashed by all ranks, a batch at a time taken from rank 0 as each rank is free;
 * each photo then goes to the shard of its content (fs_photo_shard), which runs an ordinary index
 * run on its share (fs_index_options.photos), embedding or copying, and drops the photos of the
 * walk that now belong to another shard. opt: as fs_index_update's (photos and foreign are set
 * here); on_progress is called on rank 0 with the sum of every rank's progress; on_problem on
 * the rank that met the problem. summary: the sum over the shards, on rank 0 (seconds: the whole
 * run's, from the walk to the last shard's end). engine: every
 * rank's own, of the library's pack. */
fs_status fs_mpi_index(fs_mpi *mpi, fs_engine *engine, const char *dir, const char *const *roots,
                       size_t n_roots, int wait, const fs_index_options *opt,
                       fs_index_progress *summary, fs_error *err);

/* The sharded library dir opened for searches: rank 0 reads the manifest, rank r opens shards
 * r, r + size, ... for reading (any number of ranks: fewer than shards search several each). A
 * missing shard is FS_ERR_NOT_FOUND naming it. Release with fs_mpi_library_close (on every
 * rank; not collective). */
typedef struct fs_mpi_library fs_mpi_library;
fs_status fs_mpi_library_open(fs_mpi *mpi, const char *dir, fs_mpi_library **out,
                              fs_error *err);
void fs_mpi_library_close(fs_mpi_library *lib);

/* Searches the library: rank 0's query faces, threshold, top and min_face (as
 * fs_index_search's; other ranks pass NULL, 0 and anything) go to every rank; each rank searches
 * its shards and the best top of every shard are merged on rank 0 into *out (fs_matches_merge):
 * the matches of one index holding every shard's photos. The ids of a match (photo_id, face_id)
 * are the library's (fs_library_id); embeddings are not sent (zero). Only rank 0's *out is
 * filled; release it with fs_matches_free on every rank. n_query 0 on rank 0 fails on every rank
 * (FS_ERR_ARG): what rank 0 does when it has no query, so that the others do not wait for one. */
fs_status fs_mpi_search(fs_mpi_library *lib, const fs_face *query, size_t n_query,
                        float threshold, size_t top, int min_face, fs_matches *out,
                        fs_error *err);

/* Groups the people of the sharded library dir (facesearch.h, "People of a sharded library"):
 * every rank groups the people of its shards (rank, rank + size, ...: any number of ranks) with
 * fs_people_update(opt; may be NULL), holding each shard's writer lock in turn (wait: wait for a
 * running writer instead of failing), and rank 0 groups their units across the shards into the
 * library's persons (fs_library_people_update at opt's threshold). engine: every rank's own, of
 * the library's pack. summary, on rank 0: faces, grouped and unsure summed over the shards;
 * people and new_people the library's; seconds the whole run's. */
fs_status fs_mpi_people_update(fs_mpi *mpi, fs_engine *engine, const char *dir, int wait,
                               const fs_people_options *opt, fs_people_summary *summary,
                               fs_error *err);

/* The faces of the library's person key (its name, else its number: fs_library_person_find on
 * rank 0) from the shards that hold them, best quality first, every id the library's
 * (fs_library_id). Only rank 0's *person (may be NULL; release with fs_person_clear) and *out
 * are filled; release *out with fs_person_faces_free on every rank. */
fs_status fs_mpi_person_faces(fs_mpi_library *lib, const char *key, fs_person *person,
                              fs_person_faces *out, fs_error *err);

/* The faces of every shard judged unsure (fs_people_unsure), best quality first, every id the
 * library's, but those the user placed in a library person (fs_library_people_place). Only
 * rank 0's *out is filled; release it with fs_person_faces_free on every rank. */
fs_status fs_mpi_people_unsure(fs_mpi_library *lib, fs_person_faces *out, fs_error *err);

/* ---- Serving searches (serve --shards) -------------------------------------------------------
 * Rank 0 is the front (the HTTP server); its request threads search at any time, several at
 * once, and the other ranks answer from their shards in fs_mpi_answer meanwhile. Unlike the
 * functions above these are not collective, and a rank that does not answer never blocks rank 0:
 * each search waits at most answer_ms for every rank. A rank that missed it is marked down, and
 * later searches fail at once (FS_ERR_UNAVAILABLE, naming the rank) until the answers it owes
 * arrive (a rank stopped with SIGSTOP and continued, or one that was only slow, comes back by
 * itself; a killed one never does: `mpirun --enable-recovery` keeps the others running, else
 * mpirun ends the whole run when a rank dies). MPI errors are returned, not fatal, on every rank
 * from fs_mpi_front_open / fs_mpi_answer on. */

/* Default of answer_ms: long enough for a rank's search of a shard of millions of faces, short
 * enough that a client waits a few seconds at most. */
#define FS_MPI_ANSWER_MS 3000

typedef struct fs_mpi_front fs_mpi_front;

/* Rank 0: the front of lib, waiting at most answer_ms (> 0) for a rank's answer. lib must stay
 * open until fs_mpi_front_close. FS_ERR_UNSUPPORTED when this MPI cannot be called from several
 * threads (MPI_THREAD_SERIALIZED). */
fs_status fs_mpi_front_open(fs_mpi_library *lib, int answer_ms, fs_mpi_front **out,
                            fs_error *err);

/* Rank 0, any thread: the matches of query (one face) among the photos of the whole library
 * under the folders (fs_index_search_within on every shard, merged by fs_matches_merge: what one
 * index holding every shard's photos gives; the ids are the library's, fs_library_id;
 * embeddings zero).
 * FS_ERR_UNAVAILABLE when a rank did not answer within answer_ms, or is down (see above). */
fs_status fs_mpi_front_search(fs_mpi_front *front, const fs_face *query,
                              const char *const *folders, size_t n_folders, float threshold,
                              size_t top, int min_face, fs_matches *out, fs_error *err);

/* Rank 0, any thread: FS_ERR_UNAVAILABLE, as a search would give it, when a rank is down (after
 * a few looks for the answers it owes); else FS_OK. For a caller with work to do before it
 * searches (an uploaded photo to detect and embed) that a search would then waste. */
fs_status fs_mpi_front_ready(fs_mpi_front *front, fs_error *err);

/* Rank 0, any thread: the photo or face of the library with this library id (fs_library_id: the
 * ids that the searches above give), as fs_index_photo and fs_index_face give them for one
 * index, every id in them the library's; asked of the rank that holds its shard, which must
 * answer within answer_ms (FS_ERR_UNAVAILABLE as above). FS_ERR_NOT_FOUND ("photo N: not in
 * the library") when there is none. */
fs_status fs_mpi_front_photo(fs_mpi_front *front, int64_t id, fs_photo *out, fs_error *err);
fs_status fs_mpi_front_face(fs_mpi_front *front, int64_t id, fs_matches *out, fs_error *err);

/* Rank 0, any thread: the library's person numbered id (fs_library_person_get; release with
 * fs_person_clear) and its faces from the shards that hold them, as fs_mpi_person_faces gives
 * them (release with fs_person_faces_free); every rank is asked (FS_ERR_UNAVAILABLE as above).
 * FS_ERR_NOT_FOUND when there is no such person, or no people yet. */
fs_status fs_mpi_front_person(fs_mpi_front *front, int64_t id, fs_person *person,
                              fs_person_faces *out, fs_error *err);
/* Rank 0, any thread: the shards' unsure faces, as fs_mpi_people_unsure gives them (the ones
 * placed in a library person left out); every rank is asked (FS_ERR_UNAVAILABLE as above). */
fs_status fs_mpi_front_unsure(fs_mpi_front *front, fs_person_faces *out, fs_error *err);

/* Rank 0, any thread, one at a time (FS_ERR_BUSY otherwise): groups the library's people as
 * fs_mpi_people_update does (opt may be NULL; on_progress is called from this thread: rank 0's
 * own shards, then stage "shards", ranks done of ranks) while every rank goes on answering:
 * each groups its shards in a thread of its own, with an engine of the library's pack opened
 * for it, and a shard whose index a writer holds fails the update (FS_ERR_BUSY). Waits for the
 * ranks without the answer_ms bound while they are heard from (a grouping rank says so twice a
 * second); FS_ERR_UNAVAILABLE when one has left or been silent for answer_ms plus 2 s. */
fs_status fs_mpi_front_people_update(fs_mpi_front *front, const fs_people_options *opt,
                                     fs_people_summary *summary, fs_error *err);

/* Rank 0, once no search runs: tells every rank to stop answering and waits (answer_ms at most)
 * until they have. FS_OK: every rank is leaving fs_mpi_answer, and fs_mpi_close ends the run in
 * order. FS_ERR_UNAVAILABLE (a rank down or silent): end the run with fs_mpi_abort instead. The
 * front is freed in both cases. */
fs_status fs_mpi_front_close(fs_mpi_front *front, fs_error *err);

/* Every rank but 0: answers the front's searches from this rank's shards until the front closes
 * (FS_OK), or until SIGINT or SIGTERM is pending for the process (the caller blocks both in every
 * thread, before fs_mpi_open, so that they wait to be seen here; the front is told that the rank
 * has left, FS_OK). Other failures answer the search that met them, not this call. */
fs_status fs_mpi_answer(fs_mpi_library *lib, fs_error *err);

#ifdef __cplusplus
}
#endif
#endif
