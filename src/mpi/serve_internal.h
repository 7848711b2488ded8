/*
 * serve_internal.h — what the two sides of serve --shards share: rank 0's front (serve_front.c,
 * called by the HTTP server's request threads) and the other ranks' answering loop
 * (serve_rank.c). The message tags and polling intervals, the requests as the front writes them
 * and the ranks read them (serve_messages.c), and the lookups both make in shards of their own.
 * Every answer is the request's id, a status, then the payload (FS_OK) or the error's message.
 */
#ifndef FS_MPI_SERVE_INTERNAL_H
#define FS_MPI_SERVE_INTERNAL_H

#include "mpi_internal.h"

#include <stdint.h>

/* distinct from the tags of index runs (shards_mpi.c) */
enum {
    TAG_QUERY = 101, TAG_ANSWER, TAG_STOP, TAG_STOPPED, TAG_LEFT, TAG_LOOKUP, TAG_PERSON,
    TAG_GROUP, TAG_BEAT, TAG_UNSURE_FACES
};

/* Polling: the front between looks at the answers, a rank after a query and when idle (a rank
 * that has had no query for IDLE_SECONDS sleeps longer: an idle server costs nothing). */
#define FRONT_POLL_NS 50000L
#define RANK_POLL_NS 100000L
#define RANK_IDLE_POLL_NS 2000000L
#define IDLE_SECONDS 1.0
#define DOWN_LOOKS 3
/* A rank grouping people says it is alive every BEAT_SECONDS; the front gives up on a rank it has
 * not heard from for answer_ms plus SILENCE_SECONDS (a rank may be in a search meanwhile). */
#define BEAT_SECONDS 0.5
#define SILENCE_SECONDS 2.0

/* What a lookup asks of the rank that holds a shard. */
enum { LOOK_PHOTO = 1, LOOK_FACE = 2 };

void serve_sleep_ns(long ns);

/* The requests, each beginning with its id (0 here: post() fills it in). A query: threshold,
 * min_face, top, the face, the folders (count, then each string). */
void serve_put_query(wbuf *w, uint64_t id, const fs_face *query, const char *const *folders,
                     size_t n_folders, float threshold, size_t top, int min_face);
/* A lookup of a photo or face by its id in one shard: kind, the shard, the id in it. */
void serve_put_lookup(wbuf *w, int kind, int k, int64_t shard_id);
/* A person's faces: the count of its members, then each. */
void serve_put_members(wbuf *w, const fs_library_member *members, size_t n);
/* The unsure faces: the id alone. */
void serve_put_unsure(wbuf *w);
/* A grouping of people: rebuild, algorithm; threshold, min_quality; the units the library's
 * file names (wire_put_known). */
void serve_put_grouping(wbuf *w, const fs_people_options *opt, const fs_library_known *known,
                        size_t n_known);

/* What shard ix holds under shard_id, as a lookup's answer carries it: a photo (size, mtime,
 * failed, path, its faces) or a face (as one match, then its embedding). */
fs_status serve_look_up(fs_index *ix, int kind, int64_t shard_id, wbuf *w, fs_error *err);
/* The shard of this rank's library that is shard k, or NULL. */
fs_index *serve_own_shard(const fs_mpi_library *lib, int k);

#endif
