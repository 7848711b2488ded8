/*
 * share.c — an index run's photos embedded by other processes (facesearch.h, "Sharing an index
 * run's photos"): the ranks of a sharded library steal work from each other this way (src/mpi).
 * The run gives away jobs no worker has started, from the end of its queue (its workers take
 * them from the front), and takes the results back into its writer as if a worker had made
 * them: the same triage of the content (already indexed, or claimed by another job of this run)
 * decides whether the faces are written or copied. Both calls are made on the run's thread, from
 * its caller's poll (run.c), so the bookkeeping of given jobs needs no lock; only the queue's end
 * and the results, which the workers share, are taken under the run's lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/run.h"
#include "util/error.h"
#include "util/sha256.h"

size_t fs_index_run_give(fs_index_run *r, size_t max, uint64_t *ids, const char **paths)
{
    if (!r->dedup || max == 0)
        return 0; /* the second round (photos whose twin failed) is short: kept */
    if (!r->given && !(r->given = calloc(r->n_jobs ? r->n_jobs : 1, 1)))
        return 0;
    pthread_mutex_lock(&r->lock);
    int stopped = r->stopping || (r->opt->stop && *r->opt->stop);
    size_t left = stopped ? 0 : r->end_job - r->next_job, n = left / 2;
    if (n > max)
        n = max;
    r->end_job -= n;
    size_t first = r->end_job;
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < n; i++) {
        ids[i] = first + i;
        paths[i] = r->jobs[first + i]->path;
        r->given[first + i] = 1;
    }
    r->given_out += n;
    return n;
}

fs_status fs_index_run_put(fs_index_run *r, uint64_t id, fs_photo_result *res, fs_error *err)
{
    if (!r->given || id >= r->n_jobs || !r->given[id])
        return util_fail(err, FS_ERR_ARG, "photo %llu of the run was not given away",
                         (unsigned long long)id);
    r->given[id] = 0;
    r->given_out--;
    if (!res)
        return FS_OK; /* not analysed: left for the next run */
    entry *e = r->jobs[id];
    result out = {.job = (size_t)id, .shared = 1, .status = res->status};
    uint8_t digest[32];
    snprintf(e->sha256, sizeof e->sha256, "%s", res->sha256);
    if (res->status != FS_OK) {
        out.kind = OUT_FAILED;
        snprintf(out.message, sizeof out.message, "%s", res->message);
    } else if (util_sha256_from_hex(res->sha256, digest) != 0) {
        return util_fail(err, FS_ERR_INTERNAL, "%s: malformed content hash from another process",
                         e->path);
    } else {
        out.kind = index_run_triage(r, digest);
        if (out.kind == OUT_FACES) {
            out.faces = res->faces;
            memset(&res->faces, 0, sizeof res->faces);
        }
    }
    if (index_run_push(r, &out) != FS_OK)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    return FS_OK;
}

void fs_photo_analyse(fs_worker *w, const char *path, fs_photo_result *out)
{
    memset(out, 0, sizeof *out);
    uint8_t *data = NULL, digest[32];
    size_t size = 0;
    fs_error err;
    out->status = index_read_hashed(path, &data, &size, digest, out->sha256, &err);
    if (out->status == FS_OK)
        out->status = fs_detect_buffer(w, data, size, path, 1, &out->faces, &err);
    if (out->status)
        snprintf(out->message, sizeof out->message, "%s", err.message);
    free(data);
}
