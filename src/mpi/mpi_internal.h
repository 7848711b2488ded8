/*
 * mpi_internal.h — what the files of src/mpi/ share: the MPI handle and an opened sharded
 * library (shards_mpi.c makes both), the collectives every run is made of (collective.c), and
 * the byte buffers in which lists, results, people's units and faces go over the wire (wire.c).
 * The runs: index and search (shards_mpi.c), work stealing (steal.c), people (people_mpi.c),
 * serving (serve_front.c, serve_rank.c, serve_messages.c; serve_internal.h). Private to
 * src/mpi; the rest of facesearch sees include/facesearch_mpi.h.
 */
#ifndef FS_MPI_INTERNAL_H
#define FS_MPI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch_mpi.h"

struct fs_mpi {
    int rank, size;
    int serialized;            /* MPI may be called from any thread, one at a time */
};

/* The shards this rank searches, opened once for many searches. */
struct fs_mpi_library {
    fs_mpi *m;
    char *dir;                 /* the library's folder */
    int count;                 /* shards of the library, from its manifest */
    fs_index **shards;         /* shards rank, rank + size, ... */
    int n_shards;
    struct mpi_search_head *head; /* a search's parameters, as broadcast (shards_mpi.c) */
    unsigned char *piece;      /* rank 0: a piece of another rank's results, as received */
};

/* Message tags of index runs and searches (shards_mpi.c, steal.c; serve_internal.h has its own). */
enum {
    TAG_HASHED = 1, TAG_BATCH, TAG_PROGRESS, TAG_FINAL,
    TAG_STEAL, TAG_GIVEN, TAG_RESULT, TAG_DONE,
    TAG_SEARCHED              /* a rank's results of fs_mpi_search */
};

/* Work stealing of the embedding during one index run of this rank (steal.c). */
typedef struct mpi_steal {
    const fs_mpi *m;
    fs_engine *engine;
    int workers;               /* photos this rank embeds at once */
    volatile int *stop;        /* the run's stop flag (may be NULL) */
    void (*tick)(void *ctx);   /* called while waiting (rank 0: progress), may be NULL */
    void *tick_ctx;
    fs_worker **helpers;       /* made at the first photo stolen */
    int n_helpers;
    size_t given, embedded;    /* photos given to other ranks, embedded for them */
} mpi_steal;

/* The poll of fs_index_sharing (ctx: an mpi_steal): answers other ranks' requests for photos
 * and takes back the results of those given. */
fs_status mpi_steal_poll(fs_index_run *run, void *ctx, fs_error *err);
/* After this rank's run: embeds the photos other ranks give, until none has any left (or stop).
 * A failure still sends every photo taken back (not analysed). */
fs_status mpi_steal_help(mpi_steal *s, fs_error *err);
/* Then, on every rank: waits until every rank has stopped stealing, answering meanwhile; frees
 * the helpers. */
void mpi_steal_finish(mpi_steal *s);

/* The best top matches of the shards this rank holds (fs_index_search_within each, merged), with
 * the library's ids. */
fs_status mpi_search_shards(const fs_mpi_library *lib, const fs_face *query, size_t n_query,
                            const char *const *folders, size_t n_folders, float threshold,
                            size_t top, int min_face, fs_matches *out, fs_error *err);
/* The ids of matches found in shard k of count made the library's (fs_library_id). */
void mpi_library_ids(fs_matches *mt, int k, int count);
/* This rank's shards of the library at dir (of count shards) grouped into people
 * (fs_people_update, not waiting for a writer; opt->on_progress on rank 0 only), with an engine
 * of the library's pack opened for the run: their units appended to *units with the renames of
 * the n known units of the library's file (fs_people_units_follow), their summaries added to
 * *sum, the pack's search threshold into *search_threshold (people_mpi.c). */
fs_status mpi_people_group_shards(const fs_mpi *m, const char *dir, int count,
                                 const fs_people_options *opt, const fs_library_known *known,
                                 size_t n, fs_people_units *units, fs_people_summary *sum,
                                 float *search_threshold, fs_error *err);
/* The faces of the members (of a library person) that are in this rank's shards, with the
 * library's ids, into *out (people_mpi.c). */
fs_status mpi_member_faces(const fs_mpi_library *lib, const fs_library_member *members,
                           size_t n, fs_person_faces *out, fs_error *err);
/* The unsure faces of this rank's shards (fs_people_unsure), with the library's ids, into *out
 * (people_mpi.c). */
fs_status mpi_unsure_faces(const fs_mpi_library *lib, fs_person_faces *out, fs_error *err);

/* ---- Collectives (collective.c) ---- */

/* Makes a status collective: when any rank failed, every rank returns the failure (code and
 * message) of the lowest failing rank. */
fs_status mpi_agree(const fs_mpi *m, fs_status rc, fs_error *err);

typedef struct wbuf wbuf;
/* Broadcasts rank 0's bytes (w) to every rank (into w, allocated there); collective status (rc:
 * rank 0's status). */
fs_status mpi_bcast_bytes(const fs_mpi *m, wbuf *w, fs_status rc, fs_error *err);

/* What another rank sends rank 0 first: its status and the count of the bytes that follow, in
 * pieces of at most MPI_PIECE bytes (the first piece follows the report in its message). */
#define MPI_PIECE 65536
typedef struct mpi_report {
    fs_error err;
    uint64_t bytes;
} mpi_report;
#define MPI_REPORT_MAX (sizeof(mpi_report) + MPI_PIECE) /* rank 0's piece buffer */

/* A rank other than 0: reserves the report's room at the start of w (empty). */
void mpi_report_begin(wbuf *w);
/* ...then sends its status (rc, err) and, when rc is FS_OK, the bytes of w after the report to
 * rank 0 with tag, in pieces; w is freed. A w that ran out of memory is sent as that failure. */
void mpi_report_send(int tag, fs_status rc, const fs_error *err, wbuf *w);
/* Rank 0: rank r's report of tag: its bytes into *bytes (malloc'd; *len of them), or its failure
 * into err. piece: MPI_REPORT_MAX bytes of scratch. Every piece is received whatever happens, so
 * nothing is left to be taken for the next report's. */
fs_status mpi_report_receive(unsigned char *piece, int r, int tag, unsigned char **bytes,
                             size_t *len, fs_error *err);

/* Fills err (code and message) and returns code. */
fs_status mpi_fail(fs_error *err, fs_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Seconds of a monotonic clock. */
double mpi_now(void);

/* Bytes being written: a failed growth sets nomem and drops what follows (checked once, at the
 * end). data is owned (free). */
struct wbuf {
    unsigned char *data;
    size_t len, cap;
    int nomem;
};

/* Bytes being read: reading past the end sets bad (and yields zeros). */
typedef struct rbuf {
    const unsigned char *p;
    size_t left;
    int bad;
} rbuf;

void wire_put(wbuf *w, const void *p, size_t n);
void wire_get(rbuf *r, void *p, size_t n);
/* A NUL-terminated string of the buffer, malloc'd; NULL when malformed or out of memory. */
char *wire_get_string(rbuf *r);
/* Matches without their embeddings: counts, then each match's numbers and path. */
void wire_put_matches(wbuf *w, const fs_matches *mt);
/* The matches wire_put_matches wrote, into *mt (owned by the caller; emptied on error:
 * FS_ERR_INTERNAL when malformed, FS_ERR_NOMEM). */
fs_status wire_get_matches(rbuf *r, fs_matches *mt, fs_error *err);
/* A shard's people units (shard set in each) and their renames, and back: appended to *u,
 * whose dim they must share (FS_ERR_INTERNAL when malformed, FS_ERR_NOMEM; what was read before stays in *u). */
void wire_put_units(wbuf *w, const fs_people_units *u);
fs_status wire_get_units(rbuf *r, fs_people_units *u, fs_error *err);
/* The units of the library's file (fs_library_people_known), and back: into *known (malloc'd,
 * *n of them; errors as above). */
void wire_put_known(wbuf *w, const fs_library_known *known, size_t n);
fs_status wire_get_known(rbuf *r, fs_library_known **known, size_t *n, fs_error *err);
/* A person's faces, and back: appended to *f (errors as above). */
void wire_put_person_faces(wbuf *w, const fs_person_faces *f);
fs_status wire_get_person_faces(rbuf *r, fs_person_faces *f, fs_error *err);

#endif
