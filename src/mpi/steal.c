/*
 * steal.c — work stealing of the embedding in an index run over shards (shards_mpi.c, step 5):
 * a rank that has done its own shard's photos takes photos that another rank's workers have not
 * started, embeds them and sends each result back to that rank, which writes it into its shard
 * (fs_index_run_give / fs_index_run_put: only a shard's rank writes it). So a slow rank, or one
 * whose shard got more photos, does not hold the run back, and a photo still lives in the shard
 * of its content.
 *
 * Messages (tags of mpi_internal.h), between any two ranks:
 *   STEAL  thief -> victim: how many photos it wants (an int);
 *   GIVEN  victim -> thief: the photos given (id and path each); none means none ever again;
 *   RESULT thief -> victim: one photo's result (or "not analysed": the thief was stopped);
 *   DONE   to every other rank once a rank steals no more.
 * A victim answers STEAL from its run's poll (mpi_steal_poll); outside its run (before, after,
 * while it steals itself) it answers "none" in every wait of this file, so no two ranks wait on
 * each other. A run waits for the results of the photos it gave away; results that arrive after
 * a run failed are received and dropped. Once a rank has sent DONE and received DONE from every
 * other, no message of this file is in flight to it. A rank killed mid-run ends the whole run
 * (mpirun), as without stealing: the photos given away and not yet written are done next run.
 */
#include "mpi_internal.h"

#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEAL_MAX 16      /* photos per request, at most */
#define WAIT_NS 1000000L  /* between two looks at the messages while waiting */

/* ---- Results on the wire ----------------------------------------------------------------- */

static void put_result(wbuf *w, uint64_t id, const fs_photo_result *res)
{
    unsigned char analysed = res != NULL;
    wire_put(w, &id, sizeof id);
    wire_put(w, &analysed, 1);
    if (!res)
        return;
    int32_t status = res->status, width = res->faces.width, height = res->faces.height;
    uint32_t warnings = res->faces.warnings;
    uint64_t count = res->faces.count;
    wire_put(w, &status, sizeof status);
    wire_put(w, res->sha256, sizeof res->sha256);
    wire_put(w, res->message, strlen(res->message) + 1);
    wire_put(w, &width, sizeof width);
    wire_put(w, &height, sizeof height);
    wire_put(w, &warnings, sizeof warnings);
    wire_put(w, &count, sizeof count);
    if (count)
        wire_put(w, res->faces.faces, count * sizeof *res->faces.faces);
}

/* The result put_result wrote: *analysed 0 or 1 (then *res filled, faces owned). */
static fs_status get_result(rbuf *r, uint64_t *id, int *analysed, fs_photo_result *res,
                            fs_error *err)
{
    unsigned char a = 0;
    memset(res, 0, sizeof *res);
    wire_get(r, id, sizeof *id);
    wire_get(r, &a, 1);
    *analysed = a;
    if (!r->bad && !a && r->left == 0)
        return FS_OK;
    int32_t status = 0, width = 0, height = 0;
    uint32_t warnings = 0;
    uint64_t count = 0;
    wire_get(r, &status, sizeof status);
    wire_get(r, res->sha256, sizeof res->sha256);
    char *message = wire_get_string(r);
    wire_get(r, &width, sizeof width);
    wire_get(r, &height, sizeof height);
    wire_get(r, &warnings, sizeof warnings);
    wire_get(r, &count, sizeof count);
    if (!message && !r->bad)
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    if (message)
        snprintf(res->message, sizeof res->message, "%s", message);
    free(message);
    if (r->bad || a != 1 || res->sha256[sizeof res->sha256 - 1] != '\0' ||
        count != r->left / sizeof(fs_face) || r->left % sizeof(fs_face))
        return mpi_fail(err, FS_ERR_INTERNAL, "malformed photo result from another rank");
    res->status = status;
    res->faces.width = width;
    res->faces.height = height;
    res->faces.warnings = warnings;
    if (count && !(res->faces.faces = malloc(count * sizeof(fs_face))))
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    res->faces.count = count;
    wire_get(r, res->faces.faces, count * sizeof(fs_face));
    return FS_OK;
}

/* ---- The victim's side -------------------------------------------------------------------- */

/* Answers the STEAL request from source: photos of run (none when run is NULL: not in a run). */
static fs_status give(mpi_steal *s, fs_index_run *run, int source, fs_error *err)
{
    int want = 0;
    MPI_Recv(&want, 1, MPI_INT, source, TAG_STEAL, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    uint64_t ids[STEAL_MAX];
    const char *paths[STEAL_MAX];
    size_t n = 0;
    if (run && want > 0)
        n = fs_index_run_give(run, want < STEAL_MAX ? (size_t)want : STEAL_MAX, ids, paths);
    wbuf w = {0};
    for (size_t i = 0; i < n; i++) {
        wire_put(&w, &ids[i], sizeof ids[i]);
        wire_put(&w, paths[i], strlen(paths[i]) + 1);
    }
    fs_status rc = FS_OK;
    if (w.nomem) { /* the run takes them back, and fails */
        for (size_t i = 0; i < n; i++)
            fs_index_run_put(run, ids[i], NULL, err);
        rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");
        w.len = 0;
    }
    MPI_Send(w.data, (int)w.len, MPI_BYTE, source, TAG_GIVEN, MPI_COMM_WORLD);
    free(w.data);
    s->given += n;
    return rc;
}

/* Receives a RESULT from source and puts it into run (dropped when run is NULL). A result that
 * cannot be received for want of memory ends the MPI run (see the top of the file). */
static fs_status take_result(fs_index_run *run, const MPI_Status *st, fs_error *err)
{
    int len = 0;
    MPI_Get_count(st, MPI_BYTE, &len);
    unsigned char *data = malloc(len > 0 ? (size_t)len : 1);
    if (!data) {
        if (run)
            return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
        MPI_Abort(MPI_COMM_WORLD, 1); /* cannot be dropped otherwise; shards stay consistent */
    }
    MPI_Recv(data, len, MPI_BYTE, st->MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    fs_status rc = FS_OK;
    if (run) {
        rbuf r = {.p = data, .left = (size_t)len};
        uint64_t id;
        int analysed;
        fs_photo_result res;
        rc = get_result(&r, &id, &analysed, &res, err);
        if (rc == FS_OK)
            rc = fs_index_run_put(run, id, analysed ? &res : NULL, err);
        fs_faces_free(&res.faces);
    }
    free(data);
    return rc;
}

/* Answers every STEAL and takes every RESULT that has arrived. */
static fs_status answer(mpi_steal *s, fs_index_run *run, fs_error *err)
{
    fs_status rc = FS_OK;
    for (;;) {
        int steal = 0, result = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_STEAL, MPI_COMM_WORLD, &steal, &st);
        if (steal) {
            fs_status r = give(s, rc == FS_OK ? run : NULL, st.MPI_SOURCE, err);
            rc = rc ? rc : r;
            continue;
        }
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &result, &st);
        if (!result)
            return rc;
        fs_status r = take_result(rc == FS_OK ? run : NULL, &st, err);
        rc = rc ? rc : r;
    }
}

fs_status mpi_steal_poll(fs_index_run *run, void *ctx, fs_error *err)
{
    return answer(ctx, run, err);
}

/* Outside a run: answers "none", drops stray results, shows progress (rank 0), then sleeps a
 * little. */
static void idle(mpi_steal *s)
{
    fs_error ignored;
    answer(s, NULL, &ignored);
    if (s->tick)
        s->tick(s->tick_ctx);
    struct timespec ts = {0, WAIT_NS};
    nanosleep(&ts, NULL);
}

/* ---- The thief's side --------------------------------------------------------------------- */

/* A batch of photos being embedded by the thief's workers. */
typedef struct batch {
    mpi_steal *s;
    size_t n, next, finished;
    uint64_t ids[STEAL_MAX];
    char *paths[STEAL_MAX];
    fs_photo_result results[STEAL_MAX];
    int analysed[STEAL_MAX];
    pthread_mutex_t lock;
} batch;

typedef struct helper {
    batch *b;
    fs_worker *worker;
} helper;

static void *embed_main(void *arg)
{
    helper *h = arg;
    batch *b = h->b;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next < b->n ? b->next++ : b->n;
        pthread_mutex_unlock(&b->lock);
        if (i >= b->n)
            return NULL;
        if (b->paths[i] && !(b->s->stop && *b->s->stop)) {
            fs_photo_analyse(h->worker, b->paths[i], &b->results[i]);
            b->analysed[i] = 1;
        }
        pthread_mutex_lock(&b->lock);
        b->finished++;
        pthread_mutex_unlock(&b->lock);
    }
}

static int batch_finished(batch *b)
{
    pthread_mutex_lock(&b->lock);
    int all = b->finished == b->n;
    pthread_mutex_unlock(&b->lock);
    return all;
}

/* Embeds the batch on the thief's workers (made at the first batch), answering others meanwhile. */
static fs_status embed_batch(mpi_steal *s, batch *b, fs_error *err)
{
    int n_workers = s->workers < 1 ? 1 : s->workers > STEAL_MAX ? STEAL_MAX : s->workers;
    if (!s->helpers) {
        if (!(s->helpers = calloc((size_t)n_workers, sizeof *s->helpers)))
            return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
        for (int i = 0; i < n_workers; i++) {
            fs_status rc = fs_worker_new(s->engine, 1, &s->helpers[i], err);
            if (rc)
                return rc;
            s->n_helpers++;
        }
    }
    helper h[STEAL_MAX];
    pthread_t threads[STEAL_MAX];
    int started = 0;
    for (int i = 0; i < s->n_helpers && (size_t)i < b->n; i++) {
        h[i] = (helper){b, s->helpers[i]};
        if (pthread_create(&threads[started], NULL, embed_main, &h[i]) != 0)
            break;
        started++;
    }
    if (started == 0) {
        h[0] = (helper){b, s->helpers[0]};
        embed_main(&h[0]); /* no thread to be had: here, without answering meanwhile */
    }
    while (!batch_finished(b))
        idle(s);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    return FS_OK;
}

/* Sends bytes to rank to, answering others until they have gone: two ranks may send each other
 * large results at once (one of them has failed its run and drops what it gets). */
static void send_answering(mpi_steal *s, const void *data, size_t len, int to)
{
    MPI_Request req;
    MPI_Isend(data, (int)len, MPI_BYTE, to, TAG_RESULT, MPI_COMM_WORLD, &req);
    for (int sent = 0;;) {
        MPI_Test(&req, &sent, MPI_STATUS_IGNORE);
        if (sent)
            return;
        idle(s);
    }
}

/* Sends the batch's results to the victim, a message per photo. */
static fs_status send_results(mpi_steal *s, batch *b, int victim, fs_error *err)
{
    fs_status rc = FS_OK;
    for (size_t i = 0; i < b->n; i++) {
        wbuf w = {0};
        put_result(&w, b->ids[i], b->analysed[i] ? &b->results[i] : NULL);
        if (w.nomem) { /* the victim must hear of every photo: at least "not analysed" */
            unsigned char none[sizeof(uint64_t) + 1] = {0};
            memcpy(none, &b->ids[i], sizeof b->ids[i]);
            send_answering(s, none, sizeof none, victim);
            rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");
        } else {
            send_answering(s, w.data, w.len, victim);
        }
        free(w.data);
    }
    return rc;
}

/* Asks victim for photos; the answer into b (n 0: it has none left). A photo whose path cannot
 * be kept (out of memory) is sent back not analysed. An answer that cannot be received at all
 * ends the MPI run: the victim would wait for its photos forever. */
static fs_status steal_from(mpi_steal *s, int victim, batch *b, fs_error *err)
{
    int want = 2 * (s->workers < 1 ? 1 : s->workers);
    if (want > STEAL_MAX)
        want = STEAL_MAX;
    MPI_Send(&want, 1, MPI_INT, victim, TAG_STEAL, MPI_COMM_WORLD);
    int flag = 0;
    MPI_Status st;
    for (;;) {
        MPI_Iprobe(victim, TAG_GIVEN, MPI_COMM_WORLD, &flag, &st);
        if (flag)
            break;
        idle(s);
    }
    int len = 0;
    MPI_Get_count(&st, MPI_BYTE, &len);
    unsigned char *data = malloc(len > 0 ? (size_t)len : 1);
    if (!data)
        MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Recv(data, len, MPI_BYTE, victim, TAG_GIVEN, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    rbuf r = {.p = data, .left = (size_t)len};
    fs_status rc = FS_OK;
    b->n = 0;
    while (r.left && b->n < STEAL_MAX) {
        wire_get(&r, &b->ids[b->n], sizeof b->ids[b->n]);
        char *path = wire_get_string(&r);
        if (r.bad)
            MPI_Abort(MPI_COMM_WORLD, 1); /* a bug: the ranks disagree on the protocol */
        if (!path)
            rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");
        b->paths[b->n++] = path;
    }
    free(data);
    return rc;
}

fs_status mpi_steal_help(mpi_steal *s, fs_error *err)
{
    const fs_mpi *m = s->m;
    unsigned char *open = calloc((size_t)m->size, 1);
    batch *b = calloc(1, sizeof *b);
    if (!open || !b || pthread_mutex_init(&b->lock, NULL) != 0) {
        free(open);
        free(b);
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    int n_open = m->size - 1;
    for (int r = 0; r < m->size; r++)
        open[r] = r != m->rank;
    fs_status rc = FS_OK;
    int victim = m->rank;
    while (rc == FS_OK && n_open > 0 && !(s->stop && *s->stop)) {
        do
            victim = (victim + 1) % m->size;
        while (!open[victim]);
        memset(b->results, 0, sizeof b->results);
        memset(b->analysed, 0, sizeof b->analysed);
        b->next = b->finished = 0;
        b->s = s;
        rc = steal_from(s, victim, b, err);
        if (b->n == 0) {
            open[victim] = 0;
            n_open--;
            continue;
        }
        fs_status embedded = rc ? FS_OK : embed_batch(s, b, err);
        /* every photo taken goes back, analysed or not, even when this rank failed */
        fs_status sent = send_results(s, b, victim, err);
        rc = rc ? rc : embedded ? embedded : sent;
        for (size_t i = 0; i < b->n; i++) {
            fs_faces_free(&b->results[i].faces);
            free(b->paths[i]);
        }
        s->embedded += b->n;
    }
    pthread_mutex_destroy(&b->lock);
    free(b);
    free(open);
    return rc;
}

void mpi_steal_finish(mpi_steal *s)
{
    const fs_mpi *m = s->m;
    for (int r = 0; r < m->size; r++)
        if (r != m->rank)
            MPI_Send(NULL, 0, MPI_BYTE, r, TAG_DONE, MPI_COMM_WORLD);
    for (int left = m->size - 1; left > 0;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_DONE, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            idle(s);
            continue;
        }
        MPI_Recv(NULL, 0, MPI_BYTE, st.MPI_SOURCE, TAG_DONE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        left--;
    }
    fs_error ignored;
    answer(s, NULL, &ignored); /* anything sent before a DONE has arrived with it */
    for (int i = 0; i < s->n_helpers; i++)
        fs_worker_free(s->helpers[i]);
    free(s->helpers);
    s->helpers = NULL;
    s->n_helpers = 0;
}
