/*
 * serve_rank.c — the ranks other than 0 under serve --shards (include/facesearch_mpi.h
 * "Serving searches", fs_mpi_answer): each takes rank 0's requests in order and answers them
 * from its own shards: a search (its matches), a lookup (a photo or face), a person (the faces
 * of its members), the unsure faces, a grouping of people (run by a thread of its own, so that
 * the rank goes on answering searches meanwhile, beating twice a second until it answers with
 * its shards' units).
 *
 * A rank waits for requests with MPI_Iprobe and short sleeps, not in a blocking receive: Open
 * MPI's blocking calls spin a core, and an idle rank must leave the cores to the ranks that
 * search; the sleeps also let it see SIGINT and SIGTERM. Only the loop's thread calls MPI.
 */
#include "serve_internal.h"

#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Sends rank 0 the answer to message id: id, status, then payload (FS_OK; freed here) or the
 * message of err. */
static void send_answer(uint64_t id, fs_status rc, const fs_error *err, wbuf *payload)
{
    wbuf w = {0};
    int32_t status = rc != FS_OK || !payload->nomem ? rc : FS_ERR_NOMEM;
    wire_put(&w, &id, sizeof id);
    wire_put(&w, &status, sizeof status);
    if (status == FS_OK)
        wire_put(&w, payload->data, payload->len);
    else
        wire_put(&w, err->message, strlen(err->message) + 1);
    free(payload->data);
    if (w.nomem || status == FS_ERR_NOMEM || w.len > INT32_MAX) {
        /* the answer that always fits: the payload could not be written */
        const char *why = w.len > INT32_MAX ? "answer too large (2 GiB)" : "out of memory";
        status = w.len > INT32_MAX ? FS_ERR_LIMIT : FS_ERR_NOMEM;
        free(w.data);
        unsigned char small[sizeof id + sizeof status + 32];
        size_t n = strlen(why) + 1;
        memcpy(small, &id, sizeof id);
        memcpy(small + sizeof id, &status, sizeof status);
        memcpy(small + sizeof id + sizeof status, why, n);
        MPI_Send(small, (int)(sizeof id + sizeof status + n), MPI_BYTE, 0, TAG_ANSWER,
                 MPI_COMM_WORLD);
        return;
    }
    MPI_Send(w.data, (int)w.len, MPI_BYTE, 0, TAG_ANSWER, MPI_COMM_WORLD);
    free(w.data);
}

/* Answers one query (bytes of len): its matches, or the error it met. */
static void answer_query(const fs_mpi_library *lib, const unsigned char *bytes, size_t len)
{
    rbuf r = {.p = bytes, .left = len};
    uint64_t id = 0, top = 0, n_folders = 0;
    float threshold = 0;
    int32_t min_face = 0;
    fs_face *face = malloc(sizeof *face);
    fs_error err = {0};
    fs_status rc = face ? FS_OK : mpi_fail(&err, FS_ERR_NOMEM, "out of memory");
    wire_get(&r, &id, sizeof id);
    wire_get(&r, &threshold, sizeof threshold);
    wire_get(&r, &min_face, sizeof min_face);
    wire_get(&r, &top, sizeof top);
    if (face)
        wire_get(&r, face, sizeof *face);
    wire_get(&r, &n_folders, sizeof n_folders);
    char **folders = NULL;
    size_t got = 0;
    if (rc == FS_OK && (r.bad || n_folders > r.left))
        rc = mpi_fail(&err, FS_ERR_INTERNAL, "malformed query from rank 0");
    if (rc == FS_OK && n_folders && !(folders = calloc((size_t)n_folders, sizeof *folders)))
        rc = mpi_fail(&err, FS_ERR_NOMEM, "out of memory");
    for (; rc == FS_OK && got < n_folders; got++)
        if (!(folders[got] = wire_get_string(&r)))
            rc = r.bad ? mpi_fail(&err, FS_ERR_INTERNAL, "malformed query from rank 0")
                       : mpi_fail(&err, FS_ERR_NOMEM, "out of memory");
    fs_matches mt = {0};
    if (rc == FS_OK)
        rc = mpi_search_shards(lib, face, 1, (const char *const *)folders, (size_t)n_folders,
                               threshold, (size_t)top, min_face, &mt, &err);
    for (size_t i = 0; i < got; i++)
        free(folders[i]);
    free(folders);
    free(face);
    wbuf payload = {0};
    if (rc == FS_OK)
        wire_put_matches(&payload, &mt);
    fs_matches_free(&mt);
    send_answer(id, rc, &err, &payload);
}

/* Answers one lookup (bytes of len). */
static void answer_lookup(const fs_mpi_library *lib, const unsigned char *bytes, size_t len)
{
    rbuf r = {.p = bytes, .left = len};
    uint64_t id = 0;
    uint8_t kind = 0;
    int32_t k = -1;
    int64_t shard_id = 0;
    wire_get(&r, &id, sizeof id);
    wire_get(&r, &kind, sizeof kind);
    wire_get(&r, &k, sizeof k);
    wire_get(&r, &shard_id, sizeof shard_id);
    fs_error err = {0};
    fs_index *ix = r.bad ? NULL : serve_own_shard(lib, k);
    fs_status rc = ix && (kind == LOOK_PHOTO || kind == LOOK_FACE)
                       ? FS_OK
                       : mpi_fail(&err, FS_ERR_INTERNAL, "malformed lookup from rank 0");
    wbuf payload = {0};
    if (rc == FS_OK)
        rc = serve_look_up(ix, kind, shard_id, &payload, &err);
    send_answer(id, rc, &err, &payload);
}

/* Answers one person's request (bytes of len): the faces of its members in this rank's shards. */
static void answer_person(const fs_mpi_library *lib, const unsigned char *bytes, size_t len)
{
    rbuf r = {.p = bytes, .left = len};
    uint64_t id = 0, count = 0;
    wire_get(&r, &id, sizeof id);
    wire_get(&r, &count, sizeof count);
    fs_error err = {0};
    fs_status rc = FS_OK;
    if (r.bad || count != r.left / sizeof(fs_library_member) ||
        r.left % sizeof(fs_library_member))
        rc = mpi_fail(&err, FS_ERR_INTERNAL, "malformed person from rank 0");
    fs_person_faces mine = {0};
    if (rc == FS_OK)
        rc = mpi_member_faces(lib, (const fs_library_member *)r.p, (size_t)count, &mine, &err);
    wbuf payload = {0};
    if (rc == FS_OK)
        wire_put_person_faces(&payload, &mine);
    fs_person_faces_free(&mine);
    send_answer(id, rc, &err, &payload);
}

/* Answers a request for the unsure faces (bytes of len: the request's id): those of this
 * rank's shards. */
static void answer_unsure(const fs_mpi_library *lib, const unsigned char *bytes, size_t len)
{
    rbuf r = {.p = bytes, .left = len};
    uint64_t id = 0;
    wire_get(&r, &id, sizeof id);
    fs_error err = {0};
    fs_status rc = r.bad || r.left ? mpi_fail(&err, FS_ERR_INTERNAL,
                                              "malformed request for unsure faces from rank 0")
                                   : FS_OK;
    fs_person_faces mine = {0};
    if (rc == FS_OK)
        rc = mpi_unsure_faces(lib, &mine, &err);
    wbuf payload = {0};
    if (rc == FS_OK)
        wire_put_person_faces(&payload, &mine);
    fs_person_faces_free(&mine);
    send_answer(id, rc, &err, &payload);
}

/* A grouping of this rank's shards, run by a thread of its own (which calls no MPI) while the
 * rank goes on answering; its answer is the summary and the units of the shards. */
typedef struct grouping_job {
    const fs_mpi_library *lib;
    uint64_t id;
    fs_people_options opt;
    fs_library_known *known;    /* the units the library's file names (owned) */
    size_t n_known;
    pthread_t thread;
    pthread_mutex_t lock;
    int done;                   /* under lock: the fields below are set */
    fs_status rc;
    fs_error err;
    fs_people_units units;
    fs_people_summary sum;
} grouping_job;

static void *grouping_thread(void *arg)
{
    grouping_job *j = arg;
    fs_people_units units = {0};
    fs_people_summary sum = {0};
    fs_error err = {0};
    float search_threshold;
    fs_status rc = mpi_people_group_shards(j->lib->m, j->lib->dir, j->lib->count, &j->opt,
                                           j->known, j->n_known, &units, &sum,
                                           &search_threshold, &err);
    pthread_mutex_lock(&j->lock);
    j->rc = rc;
    j->err = err;
    j->units = units;
    j->sum = sum;
    j->done = 1;
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* Starts the grouping asked by bytes (of len) into *job, or answers why not: one runs already
 * (*job kept), or it cannot start (*job NULL). */
static void grouping_start(const fs_mpi_library *lib, const unsigned char *bytes, size_t len,
                           grouping_job **job)
{
    rbuf r = {.p = bytes, .left = len};
    uint64_t id = 0;
    int32_t n[2] = {0, 0};
    float t[2] = {0, 0};
    wire_get(&r, &id, sizeof id);
    wire_get(&r, n, sizeof n);
    wire_get(&r, t, sizeof t);
    fs_error err = {0};
    fs_library_known *known = NULL;
    size_t n_known = 0;
    fs_status rc = FS_OK;
    grouping_job *j = NULL;
    if (r.bad)
        rc = mpi_fail(&err, FS_ERR_INTERNAL, "malformed grouping from rank 0");
    else if (*job)
        rc = mpi_fail(&err, FS_ERR_BUSY, "rank %d is grouping people already", lib->m->rank);
    else
        rc = wire_get_known(&r, &known, &n_known, &err);
    if (rc == FS_OK && !(j = calloc(1, sizeof *j)))
        rc = mpi_fail(&err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK) {
        *j = (grouping_job){.lib = lib, .id = id, .known = known, .n_known = n_known};
        known = NULL;
        j->opt = (fs_people_options){.rebuild = n[0], .algorithm = (fs_people_algorithm)n[1],
                                     .threshold = t[0], .min_quality = t[1]};
        pthread_mutex_init(&j->lock, NULL);
        if (pthread_create(&j->thread, NULL, grouping_thread, j) != 0) {
            pthread_mutex_destroy(&j->lock);
            free(j->known);
            free(j);
            j = NULL;
            rc = mpi_fail(&err, FS_ERR_NOMEM, "rank %d: could not start a thread to group "
                          "people", lib->m->rank);
        }
    }
    if (rc == FS_OK) {
        *job = j;
        return;
    }
    free(known);
    wbuf none = {0};
    send_answer(id, rc, &err, &none);
}

static int grouping_done(grouping_job *j)
{
    pthread_mutex_lock(&j->lock);
    int done = j->done;
    pthread_mutex_unlock(&j->lock);
    return done;
}

/* Waits for the grouping's end, answers it when answer is set, frees it. */
static void grouping_end(grouping_job *j, int answer)
{
    if (!j)
        return;
    pthread_join(j->thread, NULL);
    if (answer) {
        wbuf payload = {0};
        if (j->rc == FS_OK) {
            wire_put(&payload, &j->sum, sizeof j->sum);
            wire_put_units(&payload, &j->units);
        }
        send_answer(j->id, j->rc, &j->err, &payload);
    }
    fs_people_units_free(&j->units);
    free(j->known);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static int stop_signal_pending(void)
{
    sigset_t pending;
    return sigpending(&pending) == 0 &&
           (sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1);
}

fs_status fs_mpi_answer(fs_mpi_library *lib, fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    if (lib->m->rank == 0)
        return mpi_fail(err, FS_ERR_ARG, "rank 0 is the front, it does not answer");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    double last = mpi_now(), beat = 0;
    grouping_job *job = NULL; /* a grouping of people under way */
    static const char none = 0;
    for (;;) {
        if (stop_signal_pending()) {
            grouping_end(job, 0); /* what it wrote is whole: each shard's in one transaction */
            MPI_Send(&none, 1, MPI_BYTE, 0, TAG_LEFT, MPI_COMM_WORLD);
            return FS_OK;
        }
        if (job && grouping_done(job)) {
            grouping_end(job, 1);
            job = NULL;
            last = mpi_now();
        } else if (job && mpi_now() - beat > BEAT_SECONDS) {
            MPI_Send(&none, 1, MPI_BYTE, 0, TAG_BEAT, MPI_COMM_WORLD);
            beat = mpi_now();
        }
        int flag = 0, len = 0;
        MPI_Status st;
        if (MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS) {
            grouping_end(job, 0);
            return mpi_fail(err, FS_ERR_IO, "rank %d: MPI failed while waiting for rank 0",
                            lib->m->rank);
        }
        if (!flag) {
            serve_sleep_ns(!job && mpi_now() - last > IDLE_SECONDS ? RANK_IDLE_POLL_NS
                                                                    : RANK_POLL_NS);
            continue;
        }
        MPI_Get_count(&st, MPI_BYTE, &len);
        unsigned char *bytes = malloc(len > 0 ? (size_t)len : 1);
        if (!bytes) { /* the query stays queued; rank 0 gives up on it in time */
            serve_sleep_ns(RANK_IDLE_POLL_NS);
            continue;
        }
        MPI_Recv(bytes, len, MPI_BYTE, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == TAG_STOP) {
            free(bytes);
            grouping_end(job, 0);
            MPI_Send(&none, 1, MPI_BYTE, 0, TAG_STOPPED, MPI_COMM_WORLD);
            return FS_OK;
        }
        if (st.MPI_TAG == TAG_GROUP)
            grouping_start(lib, bytes, (size_t)len, &job);
        else if (st.MPI_TAG == TAG_QUERY)
            answer_query(lib, bytes, (size_t)len);
        else if (st.MPI_TAG == TAG_LOOKUP)
            answer_lookup(lib, bytes, (size_t)len);
        else if (st.MPI_TAG == TAG_PERSON)
            answer_person(lib, bytes, (size_t)len);
        else if (st.MPI_TAG == TAG_UNSURE_FACES)
            answer_unsure(lib, bytes, (size_t)len);
        free(bytes);
        last = mpi_now();
    }
}
