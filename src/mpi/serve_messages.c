/*
 * serve_messages.c — the requests of serve --shards as rank 0's front writes them (each begins
 * with its id, filled in when it is sent), and what both sides look up in shards of their own
 * (see serve_internal.h).
 */
#include "serve_internal.h"

#include <string.h>
#include <time.h>

void serve_sleep_ns(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

void serve_put_query(wbuf *w, uint64_t id, const fs_face *query, const char *const *folders,
                     size_t n_folders, float threshold, size_t top, int min_face)
{
    uint64_t top64 = top, n64 = n_folders;
    int32_t min32 = min_face;
    wire_put(w, &id, sizeof id);
    wire_put(w, &threshold, sizeof threshold);
    wire_put(w, &min32, sizeof min32);
    wire_put(w, &top64, sizeof top64);
    wire_put(w, query, sizeof *query);
    wire_put(w, &n64, sizeof n64);
    for (size_t i = 0; i < n_folders; i++)
        wire_put(w, folders[i], strlen(folders[i]) + 1);
}

void serve_put_lookup(wbuf *w, int kind, int k, int64_t shard_id)
{
    uint64_t id = 0;
    uint8_t kind8 = (uint8_t)kind;
    int32_t k32 = k;
    wire_put(w, &id, sizeof id);
    wire_put(w, &kind8, sizeof kind8);
    wire_put(w, &k32, sizeof k32);
    wire_put(w, &shard_id, sizeof shard_id);
}

/* What shard ix holds under shard_id, as a lookup's answer carries it: a photo (size, mtime,
 * failed, path, its faces) or a face (as one match, then its embedding). */
fs_status serve_look_up(fs_index *ix, int kind, int64_t shard_id, wbuf *w, fs_error *err)
{
    if (kind == LOOK_PHOTO) {
        fs_photo ph;
        fs_status rc = fs_index_photo(ix, shard_id, &ph, err);
        if (rc)
            return rc;
        int32_t failed = ph.failed;
        wire_put(w, &ph.size, sizeof ph.size);
        wire_put(w, &ph.mtime_ns, sizeof ph.mtime_ns);
        wire_put(w, &failed, sizeof failed);
        wire_put(w, ph.path, strlen(ph.path) + 1);
        wire_put_matches(w, &ph.faces);
        fs_photo_free(&ph);
        return FS_OK;
    }
    fs_matches one;
    fs_status rc = fs_index_face(ix, shard_id, &one, err);
    if (rc)
        return rc;
    wire_put_matches(w, &one);
    wire_put(w, one.items[0].face.embedding, sizeof one.items[0].face.embedding);
    fs_matches_free(&one);
    return FS_OK;
}

/* The shard of this rank's library that is shard k, or NULL. */
fs_index *serve_own_shard(const fs_mpi_library *lib, int k)
{
    int rank = lib->m->rank, size = lib->m->size;
    if (k < rank || (k - rank) % size || (k - rank) / size >= lib->n_shards)
        return NULL;
    return lib->shards[(k - rank) / size];
}

void serve_put_members(wbuf *w, const fs_library_member *members, size_t n)
{
    uint64_t id = 0, count = n;
    wire_put(w, &id, sizeof id);
    wire_put(w, &count, sizeof count);
    wire_put(w, members, n * sizeof *members);
}

void serve_put_unsure(wbuf *w)
{
    uint64_t id = 0;
    wire_put(w, &id, sizeof id);
}

void serve_put_grouping(wbuf *w, const fs_people_options *opt, const fs_library_known *known,
                        size_t n_known)
{
    uint64_t id = 0;
    int32_t n[2] = {opt->rebuild, (int32_t)opt->algorithm};
    float t[2] = {opt->threshold, opt->min_quality};
    wire_put(w, &id, sizeof id);
    wire_put(w, n, sizeof n);
    wire_put(w, t, sizeof t);
    wire_put_known(w, known, n_known);
}
