/*
 * run.h — an index run in progress (fs_index_update), shared by the files that make it: run.c
 * drives the run (walk, jobs, workers, writer); share.c gives some of its photos to other
 * processes and takes their results back (fs_index_run_give / fs_index_run_put).
 */
#ifndef FS_INDEX_RUN_H
#define FS_INDEX_RUN_H

#include <pthread.h>
#include <stdint.h>

#include "index/digest_set.h"
#include "index/index_internal.h"

typedef struct entry {
    char *path;
    int64_t size, mtime_ns;
    int existed;            /* the index had this path (changed, not new) */
    int unchanged;          /* the index has it with this size and mtime */
    char sha256[65];        /* content hash, set by the worker that read it ("" if unreadable) */
} entry;

/* What a worker (or another process) made of a job. */
typedef enum outcome {
    OUT_FACES,              /* embedded: faces (maybe none) to write */
    OUT_FAILED,             /* unreadable, not an image, ...: message */
    OUT_KNOWN,              /* its content is already indexed: copy it (triage_known) */
    OUT_LATER               /* an identical photo of this run is being embedded: copy it after */
} outcome;

typedef struct result {
    size_t job;             /* index into run.jobs */
    outcome kind;
    fs_status status;       /* OUT_FAILED: the error */
    int shared;             /* made by another process (fs_index_run_put) */
    fs_faces faces;
    char message[sizeof ((fs_error *)0)->message];
} result;

struct fs_index_run {
    fs_index *ix;
    const fs_index_options *opt;
    entry *walked;          /* every photo found, sorted by path after the walk */
    size_t n_walked, cap_walked;
    int walk_nomem;
    entry **jobs;           /* new and changed photos, for the workers */
    size_t n_jobs;
    entry **later;          /* same content as a job: copied from it once it is written */
    size_t n_later;
    index_digest_set known;    /* content of the files indexed before this run (read-only) */
    index_digest_set seen;     /* content claimed by a worker in this run (under lock) */
    int dedup;              /* check `seen` (not in the second round, see copy_deferred) */
    int threads_each;       /* inference threads of each worker (set before they start) */
    /* sharing (opt->sharing), on the run's thread only: jobs given away, not yet put back */
    unsigned char *given;   /* per job: 1 while given away */
    size_t given_out;
    /* shared between workers and the writer, under lock */
    pthread_mutex_t lock;
    pthread_cond_t ready;
    size_t next_job, end_job; /* the workers' jobs: [next_job, end_job); the rest were given */
    result *results;        /* finished, not yet written */
    size_t n_results, cap_results;
    int workers_left;
    int stopping;
    fs_index_progress progress;
    double started, last_progress;
};

/* Reads the file at path into *data (malloc'd, *size bytes) and hashes it (digest, and hex into
 * sha256). On failure sha256 is "" except for an empty file (FS_ERR_FORMAT: read, its content
 * known), and *data is NULL. */
fs_status index_read_hashed(const char *path, uint8_t **data, size_t *size, uint8_t digest[32],
                            char sha256[65], fs_error *err);

/* What the run does with content digest, read for one of its jobs: known (already indexed),
 * later (an identical photo of this run was claimed first) or faces (embed it: claimed now). */
outcome index_run_triage(struct fs_index_run *r, const uint8_t digest[32]);

/* Hands a finished result to the run's writer (under the run's lock); FS_ERR_NOMEM when it cannot
 * be kept (its faces are then freed and the run stops). */
fs_status index_run_push(struct fs_index_run *r, result *res);

#endif
