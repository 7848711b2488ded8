/*
 * shards_mpi.c — the MPI transport of sharded libraries (include/facesearch_mpi.h): the one file
 * of facesearch that speaks MPI. Everything about shards that needs no MPI (manifest, which
 * shard a photo belongs to, merging results, a shard's index run) is libfacesearch's
 * (src/shard/, src/index/); this file only moves lists, hashes, progress and results between the
 * ranks and makes every failure collective.
 *
 * An index run, rank 0 leading:
 *   1. rank 0 makes (or checks) the manifest for `size` shards; every rank opens its shard r for
 *      writing (its writer lock);
 *   2. rank 0 walks the roots and broadcasts the list (paths, sizes, mtimes);
 *   3. each rank marks the photos its shard holds unchanged (size and mtime): those keep their
 *      shard without being read (a re-run of an unchanged tree reads no photo);
 *   4. the other photos are hashed: ranks ask rank 0 for batches of BATCH_PHOTOS (work
 *      stealing: a slow rank takes fewer), rank 0 hashes between requests; owners broadcast;
 *   5. each rank runs an ordinary index run on its share (fs_index_options.photos), removing the
 *      photos of the walk owned by other shards (a changed photo whose content moved it) and
 *      sending its progress to rank 0 twice a second; rank 0 adds them up. A rank done with its
 *      share embeds photos of the others' that they have not started (steal.c: work stealing)
 *      and sends the results to their shard's rank, which writes them.
 * A rank killed at any point leaves its shard as a killed index run does (at most the open batch
 * lost); a re-run finds the photos done and does the rest.
 *
 * A search, in three steps: rank 0 broadcasts the query faces and parameters; each rank
 * searches its shards, keeps their best top and sends them to rank 0 with its status (one
 * message unless they are large: no collective is spent on agreeing on statuses); rank 0 merges
 * them (fs_matches_merge) and broadcasts the outcome, so that a failure anywhere is every rank's.
 */
#include "mpi_internal.h"

#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH_PHOTOS 8
#define PROGRESS_SECONDS 0.5

fs_status fs_mpi_open(fs_mpi **out, fs_error *err)
{
    fs_error local;
    if (!err)
        err = &local;
    *out = NULL;
    fs_mpi *m = calloc(1, sizeof *m);
    if (!m)
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    int provided;
    /* index and search runs call MPI from the calling thread only (the index's worker threads
     * never do); serve --shards calls it from the server's request threads, one at a time
     * (serve_front.c): serialized */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
        free(m);
        return mpi_fail(err, FS_ERR_INTERNAL, "MPI could not start");
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);
    m->serialized = provided >= MPI_THREAD_SERIALIZED;
    *out = m;
    return FS_OK;
}

void fs_mpi_abort(fs_mpi *m, int status)
{
    free(m);
    MPI_Abort(MPI_COMM_WORLD, status);
    exit(status); /* not reached: MPI_Abort ends the process */
}

void fs_mpi_close(fs_mpi *m)
{
    if (!m)
        return;
    MPI_Finalize();
    free(m);
}

int fs_mpi_rank(const fs_mpi *m)
{
    return m->rank;
}

int fs_mpi_size(const fs_mpi *m)
{
    return m->size;
}

/* ---- Index runs ------------------------------------------------------------------------- */

/* Step 2: rank 0's walk, on every rank. */
static fs_status share_walk(const fs_mpi *m, const char *const *roots, size_t n_roots,
                            const fs_index_options *opt, fs_photo_list *list, fs_error *err)
{
    memset(list, 0, sizeof *list);
    wbuf w = {0};
    fs_status rc = FS_OK;
    if (m->rank == 0) {
        rc = fs_walk_photos(roots, n_roots, opt->include_hidden, opt->skip, opt->on_problem,
                            opt->ctx, list, err);
        for (size_t i = 0; rc == FS_OK && i < list->count; i++) {
            wire_put(&w, &list->items[i].size, sizeof list->items[i].size);
            wire_put(&w, &list->items[i].mtime_ns, sizeof list->items[i].mtime_ns);
            wire_put(&w, list->items[i].path, strlen(list->items[i].path) + 1);
        }
    }
    int sent = mpi_bcast_bytes(m, &w, rc, err) == FS_OK; /* a failure here is every rank's */
    rc = sent ? FS_OK : err->code;
    if (sent && m->rank != 0) {
        rbuf r = {.p = w.data, .left = w.len};
        size_t cap = 0;
        while (rc == FS_OK && r.left) {
            fs_photo_entry e;
            wire_get(&r, &e.size, sizeof e.size);
            wire_get(&r, &e.mtime_ns, sizeof e.mtime_ns);
            e.path = wire_get_string(&r);
            if (r.bad || !e.path) {
                free(e.path);
                rc = mpi_fail(err, r.bad ? FS_ERR_INTERNAL : FS_ERR_NOMEM,
                          r.bad ? "malformed list of photos from rank 0" : "out of memory");
                break;
            }
            if (list->count == cap) {
                cap = cap ? 2 * cap : 1024;
                fs_photo_entry *grown = realloc(list->items, cap * sizeof *grown);
                if (!grown) {
                    free(e.path);
                    rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");
                    break;
                }
                list->items = grown;
            }
            list->items[list->count++] = e;
        }
    }
    if (sent)
        rc = mpi_agree(m, rc, err);
    free(w.data);
    if (rc != FS_OK)
        fs_photo_list_free(list);
    return rc;
}

/* Rank 0's side of step 4: hands out batches of pending photos on request, hashes photos itself
 * between requests, until every photo has its shard. */
static fs_status lead_hashing(const fs_mpi *m, const fs_photo_list *list, int *owner,
                              const int *pending, size_t n_pending, fs_error *err)
{
    size_t next = 0;
    int active = m->size - 1;
    int msg[2 * BATCH_PHOTOS];
    while (next < n_pending || active > 0) {
        int flag = 0;
        MPI_Status st;
        if (active > 0)
            MPI_Iprobe(MPI_ANY_SOURCE, TAG_HASHED, MPI_COMM_WORLD, &flag, &st);
        if (!flag && next < n_pending) {
            size_t i = (size_t)pending[next++];
            owner[i] = fs_photo_shard(list->items[i].path, m->size);
            continue;
        }
        if (!flag)
            MPI_Probe(MPI_ANY_SOURCE, TAG_HASHED, MPI_COMM_WORLD, &st);
        int count;
        MPI_Get_count(&st, MPI_INT, &count);
        if (count < 0 || count > 2 * BATCH_PHOTOS || count % 2)
            return mpi_fail(err, FS_ERR_INTERNAL, "malformed hashes from rank %d", st.MPI_SOURCE);
        MPI_Recv(msg, count, MPI_INT, st.MPI_SOURCE, TAG_HASHED, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        for (int k = 0; k < count; k += 2)
            if (msg[k] >= 0 && (size_t)msg[k] < list->count)
                owner[msg[k]] = msg[k + 1];
        int batch = 0;
        while (batch < BATCH_PHOTOS && next < n_pending)
            msg[batch++] = pending[next++];
        MPI_Send(msg, batch, MPI_INT, st.MPI_SOURCE, TAG_BATCH, MPI_COMM_WORLD);
        if (batch == 0)
            active--;
    }
    return FS_OK;
}

/* Another rank's side of step 4: asks for batches (sending the previous one's shards) until an
 * empty batch says all are handed out. */
static void help_hashing(const fs_mpi *m, const fs_photo_list *list)
{
    int done[2 * BATCH_PHOTOS], batch[BATCH_PHOTOS], n_done = 0;
    for (;;) {
        MPI_Send(done, n_done, MPI_INT, 0, TAG_HASHED, MPI_COMM_WORLD);
        MPI_Status st;
        int count;
        MPI_Recv(batch, BATCH_PHOTOS, MPI_INT, 0, TAG_BATCH, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_INT, &count);
        if (count <= 0)
            return;
        n_done = 0;
        for (int k = 0; k < count; k++) {
            if (batch[k] < 0 || (size_t)batch[k] >= list->count)
                continue;
            done[n_done++] = batch[k];
            done[n_done++] = fs_photo_shard(list->items[batch[k]].path, m->size);
        }
    }
}

/* Steps 3 and 4: owner[i] = the shard of photo i, on every rank. */
static fs_status find_owners(const fs_mpi *m, fs_index *ix, const fs_photo_list *list,
                             int *owner, fs_error *err)
{
    size_t n = list->count;
    unsigned char *unchanged = calloc(n ? n : 1, 1);
    int *mine = malloc((n ? n : 1) * sizeof *mine);
    fs_status rc = unchanged && mine ? FS_OK : mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK)
        rc = fs_index_unchanged(ix, list, unchanged, err);
    rc = mpi_agree(m, rc, err);
    if (rc == FS_OK && n > INT_MAX)
        rc = mpi_fail(err, FS_ERR_LIMIT, "%zu photos: too many for one run", n);
    if (rc == FS_OK) {
        for (size_t i = 0; i < n; i++)
            mine[i] = unchanged[i] ? m->rank : -1;
        /* a photo unchanged in two shards (a run killed between adding it to one and removing
         * it from the other) goes to the higher; the other drops it as foreign */
        MPI_Allreduce(mine, owner, (int)n, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    }
    free(unchanged);
    free(mine);
    if (rc != FS_OK)
        return rc;
    int *pending = NULL;
    size_t n_pending = 0;
    if (m->rank == 0) {
        pending = malloc((n ? n : 1) * sizeof *pending);
        if (!pending)
            rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");
        for (size_t i = 0; rc == FS_OK && i < n; i++)
            if (owner[i] < 0)
                pending[n_pending++] = (int)i;
    }
    if (mpi_agree(m, rc, err) != FS_OK) {
        free(pending);
        return err->code;
    }
    if (m->rank == 0)
        rc = lead_hashing(m, list, owner, pending, n_pending, err);
    else
        help_hashing(m, list);
    free(pending);
    if (mpi_agree(m, rc, err) != FS_OK)
        return err->code;
    MPI_Bcast(owner, (int)n, MPI_INT, 0, MPI_COMM_WORLD);
    return FS_OK;
}

/* The photos of the walk with owner == shard (mine) and the others (foreign): shallow copies,
 * in the walk's order (sorted). */
static fs_status split(const fs_photo_list *list, const int *owner, int shard, fs_photo_list *mine,
                       fs_photo_list *foreign, fs_error *err)
{
    size_t n = list->count ? list->count : 1;
    mine->items = malloc(n * sizeof *mine->items);
    foreign->items = malloc(n * sizeof *foreign->items);
    mine->count = foreign->count = 0;
    if (!mine->items || !foreign->items)
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < list->count; i++) {
        if (owner[i] == shard)
            mine->items[mine->count++] = list->items[i];
        else
            foreign->items[foreign->count++] = list->items[i];
    }
    return FS_OK;
}

/* Progress of every rank, summed on rank 0 for the caller's on_progress. */
typedef struct progress_sum {
    const fs_mpi *m;
    const fs_index_options *opt;
    fs_index_progress *ranks;  /* the latest of each rank */
    double last_sent;
} progress_sum;

static void add_progress(fs_index_progress *sum, const fs_index_progress *p)
{
    sum->total += p->total;
    sum->done += p->done;
    sum->added += p->added;
    sum->changed += p->changed;
    sum->unchanged += p->unchanged;
    sum->moved += p->moved;
    sum->removed += p->removed;
    sum->failed += p->failed;
    sum->faces += p->faces;
    sum->shared += p->shared;
    if (p->seconds > sum->seconds)
        sum->seconds = p->seconds;
}

static fs_index_progress summed(const progress_sum *s)
{
    fs_index_progress sum = {0};
    for (int r = 0; r < s->m->size; r++)
        add_progress(&sum, &s->ranks[r]);
    return sum;
}

/* Receives the progress messages that have arrived (rank 0). */
static void drain_progress(progress_sum *s)
{
    for (;;) {
        int flag;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_PROGRESS, MPI_COMM_WORLD, &flag, &st);
        if (!flag)
            return;
        MPI_Recv(&s->ranks[st.MPI_SOURCE], (int)sizeof *s->ranks, MPI_BYTE, st.MPI_SOURCE,
                 TAG_PROGRESS, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
}

static void on_rank_progress(const fs_index_progress *p, void *ctx)
{
    progress_sum *s = ctx;
    s->ranks[s->m->rank] = *p;
    if (s->m->rank == 0) {
        drain_progress(s);
        if (s->opt->on_progress) {
            fs_index_progress sum = summed(s);
            s->opt->on_progress(&sum, s->opt->ctx);
        }
        return;
    }
    double t = mpi_now();
    if (t - s->last_sent < PROGRESS_SECONDS)
        return;
    s->last_sent = t;
    MPI_Send(p, (int)sizeof *p, MPI_BYTE, 0, TAG_PROGRESS, MPI_COMM_WORLD);
}

/* Rank 0 while it steals or waits for the others: their progress, summed, to the caller. */
static void tick_progress(void *ctx)
{
    progress_sum *s = ctx;
    drain_progress(s);
    if (s->opt->on_progress) {
        fs_index_progress sum = summed(s);
        s->opt->on_progress(&sum, s->opt->ctx);
    }
}

/* A photo that failed on this rank: the caller's on_problem, with the caller's ctx. */
static void on_rank_problem(const char *message, void *ctx)
{
    progress_sum *s = ctx;
    s->opt->on_problem(message, s->opt->ctx);
}

/* Step 5's end: every rank's summary reaches rank 0 (which goes on showing progress). */
static void gather_finals(progress_sum *s, const fs_index_progress *own)
{
    const fs_mpi *m = s->m;
    s->ranks[m->rank] = *own;
    if (m->rank != 0) {
        MPI_Send(own, (int)sizeof *own, MPI_BYTE, 0, TAG_FINAL, MPI_COMM_WORLD);
        return;
    }
    for (int left = m->size - 1; left > 0;) {
        MPI_Status st;
        fs_index_progress p;
        MPI_Recv(&p, (int)sizeof p, MPI_BYTE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        s->ranks[st.MPI_SOURCE] = p;
        if (st.MPI_TAG == TAG_FINAL)
            left--;
        if (s->opt->on_progress) {
            fs_index_progress sum = summed(s);
            s->opt->on_progress(&sum, s->opt->ctx);
        }
    }
}

fs_status fs_mpi_index(fs_mpi *m, fs_engine *engine, const char *dir, const char *const *roots,
                       size_t n_roots, int wait, const fs_index_options *opt,
                       fs_index_progress *summary, fs_error *err)
{
    static const fs_index_options defaults = {0};
    fs_error local = {0};
    if (!err)
        err = &local;
    if (!opt)
        opt = &defaults;
    if (summary)
        memset(summary, 0, sizeof *summary);
    double started = mpi_now();
    /* step 1: the manifest, then each rank's shard */
    fs_status rc = engine ? FS_OK
                          : mpi_fail(err, FS_ERR_ARG, "rank %d: no model pack (see its error)",
                                     m->rank);
    if (mpi_agree(m, rc, err) != FS_OK)
        return err->code;
    if (m->rank == 0)
        rc = fs_shards_create(dir, fs_pack_name(fs_engine_pack(engine)), m->size, err);
    if (mpi_agree(m, rc, err) != FS_OK)
        return err->code;
    char shard[PATH_MAX];
    fs_index *ix = NULL;
    rc = fs_shard_dir(dir, m->rank, shard, sizeof shard, err);
    if (rc == FS_OK)
        rc = fs_index_open(shard, engine, FS_INDEX_WRITE | (wait ? FS_INDEX_WAIT : 0), &ix, err);
    if (mpi_agree(m, rc, err) != FS_OK) {
        fs_index_close(ix);
        return err->code;
    }
    /* steps 2 to 4 */
    fs_photo_list list, mine = {0}, foreign = {0};
    int *owner = NULL;
    rc = share_walk(m, roots, n_roots, opt, &list, err);
    if (rc == FS_OK) {
        owner = malloc((list.count ? list.count : 1) * sizeof *owner);
        rc = mpi_agree(m, owner ? FS_OK : mpi_fail(err, FS_ERR_NOMEM, "out of memory"), err);
    }
    if (rc == FS_OK)
        rc = find_owners(m, ix, &list, owner, err);
    if (rc == FS_OK)
        rc = mpi_agree(m, split(&list, owner, m->rank, &mine, &foreign, err), err);
    /* step 5 */
    progress_sum s = {.m = m, .opt = opt};
    if (rc == FS_OK) {
        s.ranks = calloc((size_t)m->size, sizeof *s.ranks);
        rc = mpi_agree(m, s.ranks ? FS_OK : mpi_fail(err, FS_ERR_NOMEM, "out of memory"), err);
    }
    if (rc == FS_OK) {
        fs_index_options run = *opt;
        run.photos = &mine;
        run.foreign = &foreign;
        run.on_progress = on_rank_progress;
        run.on_problem = opt->on_problem ? on_rank_problem : NULL;
        run.ctx = &s;
        mpi_steal steal = {.m = m, .engine = engine, .stop = opt->stop,
                           .tick = m->rank == 0 ? tick_progress : NULL, .tick_ctx = &s};
        steal.workers = opt->workers > 0 ? opt->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
        fs_index_sharing sharing = {.poll = mpi_steal_poll, .ctx = &steal};
        run.sharing = m->size > 1 ? &sharing : NULL;
        fs_index_progress own = {0};
        rc = fs_index_update(ix, roots, n_roots, &run, &own, err);
        if (rc == FS_OK && m->size > 1)
            rc = mpi_steal_help(&steal, err);
        if (m->size > 1)
            mpi_steal_finish(&steal);
        gather_finals(&s, &own);
        rc = mpi_agree(m, rc, err);
        if (summary && m->rank == 0) {
            *summary = summed(&s);
            summary->seconds = mpi_now() - started; /* the whole run, walk and hashing included */
        }
    }
    free(s.ranks);
    free(mine.items);
    free(foreign.items);
    free(owner);
    fs_photo_list_free(&list);
    fs_index_close(ix);
    return rc;
}

/* ---- Searches -------------------------------------------------------------------------- */

/* What rank 0 broadcasts to start a search: the parameters and the first SEARCH_INLINE query
 * faces (more go in a second broadcast). */
#define SEARCH_INLINE 4
struct mpi_search_head {
    float threshold;
    int min_face;
    uint64_t top, n_query;
    fs_face faces[SEARCH_INLINE];
};

fs_status fs_mpi_library_open(fs_mpi *m, const char *dir, fs_mpi_library **out, fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    *out = NULL;
    fs_shards_info info = {0};
    fs_status rc = m->rank == 0 ? fs_shards_open(dir, &info, err) : FS_OK;
    if (mpi_agree(m, rc, err) != FS_OK)
        return err->code;
    MPI_Bcast(&info.count, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(info.pack, (int)sizeof info.pack, MPI_CHAR, 0, MPI_COMM_WORLD);
    info.pack[sizeof info.pack - 1] = '\0';
    fs_mpi_library *lib = calloc(1, sizeof *lib);
    int mine = info.count > m->rank ? (info.count - m->rank + m->size - 1) / m->size : 0;
    if (lib) {
        lib->m = m;
        lib->dir = strdup(dir);
        lib->count = info.count;
        lib->head = malloc(sizeof *lib->head);
        lib->piece = m->rank == 0 ? malloc(MPI_REPORT_MAX) : NULL;
        lib->shards = mine ? calloc((size_t)mine, sizeof *lib->shards) : NULL;
    }
    rc = lib && lib->dir && lib->head && (lib->piece || m->rank != 0) && (lib->shards || !mine)
        ? FS_OK : mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    for (int k = m->rank; rc == FS_OK && k < info.count; k += m->size) {
        char shard[PATH_MAX];
        struct stat st;
        rc = fs_shard_dir(dir, k, shard, sizeof shard, err);
        if (rc == FS_OK && stat(shard, &st) != 0)
            rc = mpi_fail(err, FS_ERR_NOT_FOUND, "%s: shard %d of %d is missing (%s)", shard, k,
                      info.count, strerror(errno));
        /* a shard of another pack (copied in by hand) would give similarities that mean
         * nothing next to the others': refused */
        char pack[sizeof info.pack];
        if (rc == FS_OK && (rc = fs_index_pack(shard, pack, sizeof pack, err)) == FS_OK &&
            strcmp(pack, info.pack) != 0)
            rc = mpi_fail(err, FS_ERR_ARG, "%s: faces of model pack %s, but the library's are %s",
                          shard, pack, info.pack);
        if (rc == FS_OK)
            rc = fs_index_open(shard, NULL, FS_INDEX_READ, &lib->shards[lib->n_shards], err);
        if (rc == FS_OK)
            lib->n_shards++;
    }
    if (mpi_agree(m, rc, err) != FS_OK) {
        fs_mpi_library_close(lib);
        return err->code;
    }
    *out = lib;
    return FS_OK;
}

void fs_mpi_library_close(fs_mpi_library *lib)
{
    if (!lib)
        return;
    for (int i = 0; i < lib->n_shards; i++)
        fs_index_close(lib->shards[i]);
    free(lib->shards);
    free(lib->dir);
    free(lib->head);
    free(lib->piece);
    free(lib);
}

void mpi_library_ids(fs_matches *mt, int k, int count)
{
    for (size_t i = 0; i < mt->count; i++) {
        mt->items[i].photo_id = fs_library_id(mt->items[i].photo_id, k, count);
        mt->items[i].face_id = fs_library_id(mt->items[i].face_id, k, count);
    }
}

/* The best top of this rank's shards, merged (for searches and for serve --shards). */
fs_status mpi_search_shards(const fs_mpi_library *lib, const fs_face *query, size_t n_query,
                            const char *const *folders, size_t n_folders, float threshold,
                            size_t top, int min_face, fs_matches *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    fs_status rc = FS_OK;
    for (int i = 0; i < lib->n_shards && rc == FS_OK; i++) {
        fs_matches parts[2] = {*out, {0}};
        rc = fs_index_search_within(lib->shards[i], query, n_query, folders, n_folders,
                                    threshold, top, min_face, &parts[1], err);
        mpi_library_ids(&parts[1], lib->m->rank + i * lib->m->size, lib->count);
        if (rc == FS_OK)
            rc = fs_matches_merge(parts, 2, top, out, err);
        if (rc != FS_OK) { /* a failed search or merge leaves both parts whole */
            fs_matches_free(&parts[0]);
            fs_matches_free(&parts[1]);
            memset(out, 0, sizeof *out);
        }
    }
    return rc;
}

/* Every rank: rank 0's query faces and parameters (lib->head), the faces in *faces (rank 0's
 * own, the head's, or beyond SEARCH_INLINE in *owned, allocated). One broadcast unless there
 * are more faces than the head holds. */
static fs_status share_query(fs_mpi_library *lib, const fs_face *query, const fs_face **faces,
                             fs_face **owned, fs_error *err)
{
    const fs_mpi *m = lib->m;
    struct mpi_search_head *h = lib->head;
    *owned = NULL;
    if (m->rank == 0)
        memcpy(h->faces, query,
               (h->n_query < SEARCH_INLINE ? h->n_query : SEARCH_INLINE) * sizeof *query);
    MPI_Bcast(h, (int)sizeof *h, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (h->n_query == 0)
        return mpi_fail(err, FS_ERR_ARG, "no query face");
    if (h->n_query > INT_MAX / sizeof **faces)
        return mpi_fail(err, FS_ERR_LIMIT, "%llu query faces: too many for one search",
                        (unsigned long long)h->n_query);
    *faces = m->rank == 0 ? query : h->faces;
    if (h->n_query <= SEARCH_INLINE)
        return FS_OK;
    fs_status rc = FS_OK;
    if (m->rank != 0 && !(*owned = malloc(h->n_query * sizeof **owned)))
        rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    if (mpi_agree(m, rc, err) != FS_OK) {
        free(*owned);
        *owned = NULL;
        return err->code;
    }
    if (m->rank != 0)
        *faces = *owned;
    MPI_Bcast((void *)*faces, (int)(h->n_query * sizeof **faces), MPI_BYTE, 0, MPI_COMM_WORLD);
    return FS_OK;
}

/* A rank other than 0: its status and results to rank 0 (mpi_report_send). */
static void send_results(fs_status rc, const fs_error *err, const fs_matches *mine)
{
    wbuf w = {0};
    mpi_report_begin(&w);
    if (rc == FS_OK)
        wire_put_matches(&w, mine);
    mpi_report_send(TAG_SEARCHED, rc, err, &w);
}

/* Rank 0: rank r's results (send_results) into *part, or its failure into err. */
static fs_status receive_results(fs_mpi_library *lib, int r, fs_matches *part, fs_error *err)
{
    memset(part, 0, sizeof *part);
    unsigned char *bytes;
    size_t len;
    fs_status rc = mpi_report_receive(lib->piece, r, TAG_SEARCHED, &bytes, &len, err);
    if (rc != FS_OK)
        return rc;
    rbuf rb = {.p = bytes, .left = len};
    rc = wire_get_matches(&rb, part, err);
    free(bytes);
    return rc;
}

/* Rank 0: every rank's results merged into *out with its own (mine, consumed); the failure of
 * the lowest failing rank, if any. */
static fs_status gather_results(fs_mpi_library *lib, fs_status rc, fs_matches *mine, size_t top,
                                fs_matches *out, fs_error *err)
{
    const fs_mpi *m = lib->m;
    fs_matches *parts = calloc((size_t)m->size, sizeof *parts);
    if (rc == FS_OK && !parts)
        rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    if (parts)
        parts[0] = *mine;
    else
        fs_matches_free(mine);
    for (int r = 1; r < m->size; r++) {
        fs_matches part;
        fs_error theirs = {0};
        fs_status got = receive_results(lib, r, &part, &theirs);
        if (got != FS_OK && rc == FS_OK) {
            rc = got;
            *err = theirs;
        }
        if (parts)
            parts[r] = part;
        else
            fs_matches_free(&part);
    }
    if (rc == FS_OK)
        rc = fs_matches_merge(parts, (size_t)m->size, top, out, err);
    for (int r = 0; parts && r < m->size; r++)
        fs_matches_free(&parts[r]);
    free(parts);
    return rc;
}

/* Three steps: rank 0 broadcasts the query (share_query), every other rank sends its results
 * (send_results), rank 0 merges and broadcasts the outcome. */
fs_status fs_mpi_search(fs_mpi_library *lib, const fs_face *query, size_t n_query,
                        float threshold, size_t top, int min_face, fs_matches *out,
                        fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    memset(out, 0, sizeof *out);
    const fs_mpi *m = lib->m;
    struct mpi_search_head *h = lib->head;
    if (m->rank == 0) {
        h->threshold = threshold;
        h->min_face = min_face;
        h->top = top;
        h->n_query = n_query;
    }
    const fs_face *faces = NULL;
    fs_face *owned = NULL;
    fs_status rc = share_query(lib, query, &faces, &owned, err);
    if (rc != FS_OK)
        return rc; /* the same on every rank */

    fs_matches mine;
    rc = mpi_search_shards(lib, faces, (size_t)h->n_query, NULL, 0, h->threshold,
                           (size_t)h->top, h->min_face, &mine, err);
    free(owned);
    if (m->rank != 0) {
        send_results(rc, err, &mine);
        fs_matches_free(&mine);
    } else {
        rc = gather_results(lib, rc, &mine, (size_t)h->top, out, err);
    }
    /* the outcome, from rank 0 */
    fs_error outcome = {.code = rc};
    if (m->rank == 0 && rc != FS_OK)
        outcome = *err;
    MPI_Bcast(&outcome, (int)sizeof outcome, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (outcome.code != FS_OK)
        *err = outcome;
    return outcome.code;
}
