/*
 * serve_mpi.c — searches of a sharded library served over MPI (serve --shards,
 * include/facesearch_mpi.h "Serving searches"): rank 0's front, called by the HTTP server's
 * request threads, and the loop of the other ranks that answer from their shards.
 *
 * A search: the front sends the query (one face, the folders, the parameters) to every rank with
 * a nonblocking send, searches rank 0's own shards meanwhile, and polls for the answers until
 * every rank has answered or answer_ms have passed. The collectives of search --shards cannot be
 * used: they wait for every rank without a bound, and rank 0 serves several requests at once.
 * Each search has an id, which its answers carry: whichever request thread holds the lock
 * receives every answer that has arrived and files it with the search it belongs to, so that the
 * threads never take each other's messages. An answer that arrives after its search gave up is
 * counted against the rank's debt; a rank with a debt is down (searches fail at once with
 * FS_ERR_UNAVAILABLE, no query is sent to it) until it has paid it, i.e. it answers again.
 * Two other requests go the same way: a lookup (a photo or face by library id, asked of the one
 * rank that holds its shard) and a person (the members of a library person, from
 * DIR/people.db on rank 0, sent to every rank, each answering with their faces in its shards).
 *
 * MPI is called under front.lock only (MPI_THREAD_SERIALIZED), with MPI_ERRORS_RETURN: a send to
 * a rank that has died fails that search, it does not end the process. A rank waits for queries
 * with MPI_Iprobe and short sleeps, not in a blocking receive: Open MPI's blocking calls spin a
 * core, and an idle rank must leave the cores to the ranks that search; the sleeps also let it
 * see SIGINT and SIGTERM.
 */
#include "mpi_internal.h"

#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* distinct from the tags of index runs (shards_mpi.c) */
enum {
    TAG_QUERY = 101, TAG_ANSWER, TAG_STOP, TAG_STOPPED, TAG_LEFT, TAG_LOOKUP, TAG_PERSON,
    TAG_GROUP, TAG_BEAT
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

/* A search in flight: the answers of the ranks (owned bytes, NULL until they arrive). */
typedef struct pending {
    uint64_t id;
    int only;                   /* the one rank asked (a lookup), or 0: every rank */
    unsigned char **answer;
    int *answer_len;
    struct pending *next;
} pending;

/* Sends that had not completed when their search ended (a rank that did not take its query):
 * their buffer lives until they complete. */
typedef struct orphan {
    MPI_Request *reqs;
    int n;
    unsigned char *data;
    struct orphan *next;
} orphan;

struct fs_mpi_front {
    fs_mpi_library *lib;
    int answer_ms;
    pthread_mutex_t lock;       /* every MPI call, and the fields below */
    uint64_t next_id;
    pending *inflight;
    orphan *orphans;
    uint64_t *owed;             /* per rank: answers due from searches that gave up on it */
    int *left;                  /* per rank: it said it leaves (a signal) */
    int *stopped;               /* per rank: it acknowledged the front's stop */
    double *heard;              /* per rank: when its last message arrived (mpi_now) */
    int grouping;               /* a people update is running */
    pthread_mutex_t own_lock;   /* rank 0's own shards: one search at a time */
};

static void sleep_ns(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

/* A query: id, threshold, min_face, top, the face, the folders (count, then each string). */
static void put_query(wbuf *w, uint64_t id, const fs_face *query, const char *const *folders,
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

/* ---- The answering ranks ----------------------------------------------------------------- */

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
        /* the answer that always fits: the matches could not be written */
        const char *why = w.len > INT32_MAX ? "search results too large" : "out of memory";
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

/* A lookup of a photo or face by its id in one shard (the front's fs_mpi_front_photo and
 * fs_mpi_front_face): id, kind, the shard, the id in it. */
enum { LOOK_PHOTO = 1, LOOK_FACE = 2 };

static void put_lookup(wbuf *w, int kind, int k, int64_t shard_id)
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
static fs_status look_up(fs_index *ix, int kind, int64_t shard_id, wbuf *w, fs_error *err)
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
static fs_index *own_shard(const fs_mpi_library *lib, int k)
{
    int rank = lib->m->rank, size = lib->m->size;
    if (k < rank || (k - rank) % size || (k - rank) / size >= lib->n_shards)
        return NULL;
    return lib->shards[(k - rank) / size];
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
    fs_index *ix = r.bad ? NULL : own_shard(lib, k);
    fs_status rc = ix && (kind == LOOK_PHOTO || kind == LOOK_FACE)
                       ? FS_OK
                       : mpi_fail(&err, FS_ERR_INTERNAL, "malformed lookup from rank 0");
    wbuf payload = {0};
    if (rc == FS_OK)
        rc = look_up(ix, kind, shard_id, &payload, &err);
    send_answer(id, rc, &err, &payload);
}

/* A person's faces (the front's fs_mpi_front_person): id, the count of its members, each. */
static void put_members(wbuf *w, const fs_library_member *members, size_t n)
{
    uint64_t id = 0, count = n;
    wire_put(w, &id, sizeof id);
    wire_put(w, &count, sizeof count);
    wire_put(w, members, n * sizeof *members);
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

/* A grouping of people (the front's fs_mpi_front_people_update): id, then the options
 * (rebuild, algorithm; threshold, min_quality). */
static void put_grouping(wbuf *w, const fs_people_options *opt)
{
    uint64_t id = 0;
    int32_t n[2] = {opt->rebuild, (int32_t)opt->algorithm};
    float t[2] = {opt->threshold, opt->min_quality};
    wire_put(w, &id, sizeof id);
    wire_put(w, n, sizeof n);
    wire_put(w, t, sizeof t);
}

/* A grouping of this rank's shards, run by a thread of its own (which calls no MPI) while the
 * rank goes on answering; its answer is the summary and the units of the shards. */
typedef struct grouping_job {
    const fs_mpi_library *lib;
    uint64_t id;
    fs_people_options opt;
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
                                           &units, &sum, &search_threshold, &err);
    pthread_mutex_lock(&j->lock);
    j->rc = rc;
    j->err = err;
    j->units = units;
    j->sum = sum;
    j->done = 1;
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* Starts the grouping asked by bytes (of len) into *job, or answers why not (*job NULL). */
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
    fs_status rc = FS_OK;
    grouping_job *j = NULL;
    if (r.bad)
        rc = mpi_fail(&err, FS_ERR_INTERNAL, "malformed grouping from rank 0");
    else if (!(j = calloc(1, sizeof *j)))
        rc = mpi_fail(&err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK) {
        *j = (grouping_job){.lib = lib, .id = id};
        j->opt = (fs_people_options){.rebuild = n[0], .algorithm = (fs_people_algorithm)n[1],
                                     .threshold = t[0], .min_quality = t[1]};
        pthread_mutex_init(&j->lock, NULL);
        if (pthread_create(&j->thread, NULL, grouping_thread, j) != 0) {
            pthread_mutex_destroy(&j->lock);
            free(j);
            j = NULL;
            rc = mpi_fail(&err, FS_ERR_NOMEM, "rank %d: could not start a thread to group "
                          "people", lib->m->rank);
        }
    }
    *job = j;
    if (rc != FS_OK) {
        wbuf none = {0};
        send_answer(id, rc, &err, &none);
    }
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
            sleep_ns(!job && mpi_now() - last > IDLE_SECONDS ? RANK_IDLE_POLL_NS
                                                              : RANK_POLL_NS);
            continue;
        }
        MPI_Get_count(&st, MPI_BYTE, &len);
        unsigned char *bytes = malloc(len > 0 ? (size_t)len : 1);
        if (!bytes) { /* the query stays queued; rank 0 gives up on it in time */
            sleep_ns(RANK_IDLE_POLL_NS);
            continue;
        }
        MPI_Recv(bytes, len, MPI_BYTE, 0, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == TAG_STOP) {
            free(bytes);
            grouping_end(job, 0);
            MPI_Send(&none, 1, MPI_BYTE, 0, TAG_STOPPED, MPI_COMM_WORLD);
            return FS_OK;
        }
        if (st.MPI_TAG == TAG_GROUP && job) {
            uint64_t id = 0;
            memcpy(&id, bytes, len >= (int)sizeof id ? sizeof id : 0);
            fs_error busy = {0};
            wbuf no_payload = {0};
            mpi_fail(&busy, FS_ERR_BUSY, "rank %d is grouping people already", lib->m->rank);
            send_answer(id, FS_ERR_BUSY, &busy, &no_payload);
        } else if (st.MPI_TAG == TAG_GROUP) {
            grouping_start(lib, bytes, (size_t)len, &job);
        } else if (st.MPI_TAG == TAG_QUERY)
            answer_query(lib, bytes, (size_t)len);
        else if (st.MPI_TAG == TAG_LOOKUP)
            answer_lookup(lib, bytes, (size_t)len);
        else if (st.MPI_TAG == TAG_PERSON)
            answer_person(lib, bytes, (size_t)len);
        free(bytes);
        last = mpi_now();
    }
}

/* ---- The front (rank 0) ------------------------------------------------------------------ */

fs_status fs_mpi_front_open(fs_mpi_library *lib, int answer_ms, fs_mpi_front **out,
                            fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    *out = NULL;
    const fs_mpi *m = lib->m;
    if (m->rank != 0 || answer_ms <= 0)
        return mpi_fail(err, FS_ERR_ARG, "the front is rank 0's, with a wait of at least 1 ms");
    if (!m->serialized)
        return mpi_fail(err, FS_ERR_UNSUPPORTED,
                        "this MPI cannot be called from several threads (MPI_THREAD_SERIALIZED)");
    fs_mpi_front *f = calloc(1, sizeof *f);
    if (f) {
        f->owed = calloc((size_t)m->size, sizeof *f->owed);
        f->left = calloc((size_t)m->size, sizeof *f->left);
        f->stopped = calloc((size_t)m->size, sizeof *f->stopped);
        f->heard = calloc((size_t)m->size, sizeof *f->heard);
    }
    if (!f || !f->owed || !f->left || !f->stopped || !f->heard) {
        if (f) {
            free(f->owed);
            free(f->left);
            free(f->stopped);
            free(f->heard);
        }
        free(f);
        return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    f->lib = lib;
    f->answer_ms = answer_ms;
    f->next_id = 1;
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_init(&f->own_lock, NULL);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    *out = f;
    return FS_OK;
}

static int rank_down(const fs_mpi_front *f, int r)
{
    return f->owed[r] > 0 || f->left[r];
}

static int any_down(const fs_mpi_front *f)
{
    for (int r = 1; r < f->lib->m->size; r++)
        if (rank_down(f, r))
            return 1;
    return 0;
}

/* Frees the orphaned sends that have completed (lock held). */
static void reap_orphans(fs_mpi_front *f)
{
    for (orphan **at = &f->orphans; *at;) {
        orphan *o = *at;
        int done = 0;
        if (MPI_Testall(o->n, o->reqs, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
            done = 0;
        if (!done) {
            at = &o->next;
            continue;
        }
        *at = o->next;
        free(o->reqs);
        free(o->data);
        free(o);
    }
}

/* Receives every message that has arrived and files it (lock held): an answer with its search
 * (or against its rank's debt when the search is over), a rank's leaving or stop. FS_ERR_NOMEM
 * leaves the message queued. */
static fs_status drain(fs_mpi_front *f, fs_error *err)
{
    reap_orphans(f);
    for (;;) {
        int flag = 0, len = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS ||
            !flag)
            return FS_OK;
        MPI_Get_count(&st, MPI_BYTE, &len);
        unsigned char *bytes = malloc(len > 0 ? (size_t)len : 1);
        if (!bytes)
            return mpi_fail(err, FS_ERR_NOMEM, "out of memory");
        int src = st.MPI_SOURCE;
        if (MPI_Recv(bytes, len, MPI_BYTE, src, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
            MPI_SUCCESS) {
            free(bytes);
            continue;
        }
        f->heard[src] = mpi_now(); /* an answer, a beat, anything: the rank is alive */
        if (st.MPI_TAG == TAG_LEFT)
            f->left[src] = 1;
        else if (st.MPI_TAG == TAG_STOPPED)
            f->stopped[src] = 1;
        if (st.MPI_TAG != TAG_ANSWER || len < (int)sizeof(uint64_t)) {
            free(bytes);
            continue;
        }
        uint64_t id;
        memcpy(&id, bytes, sizeof id);
        pending *p = f->inflight;
        while (p && p->id != id)
            p = p->next;
        if (p && !p->answer[src]) {
            p->answer[src] = bytes;
            p->answer_len[src] = len;
            continue;
        }
        free(bytes); /* the answer of a search that gave up on this rank: a debt paid */
        if (f->owed[src] > 0)
            f->owed[src]--;
    }
}

/* Why searches fail while rank r is down. */
static fs_status down_error(const fs_mpi_front *f, int r, fs_error *err)
{
    if (f->left[r])
        return mpi_fail(err, FS_ERR_UNAVAILABLE, "rank %d of the sharded library has left "
                        "(a signal): searches fail until the run is started again", r);
    return mpi_fail(err, FS_ERR_UNAVAILABLE, "rank %d of the sharded library has not answered a "
                    "search within %d ms: searches fail until it answers again", r, f->answer_ms);
}

/* The status of one rank's answer (bytes of len): FS_OK with *r at its payload, or the error it
 * reported. */
static fs_status read_status(const unsigned char *bytes, int len, int rank, rbuf *r,
                             fs_error *err)
{
    *r = (rbuf){.p = bytes + sizeof(uint64_t), .left = (size_t)len - sizeof(uint64_t)};
    int32_t status;
    wire_get(r, &status, sizeof status);
    if (r->bad)
        return mpi_fail(err, FS_ERR_INTERNAL, "rank %d: malformed answer", rank);
    if (status == FS_OK)
        return FS_OK;
    char *message = wire_get_string(r);
    fs_status code = status < 0 && status >= FS_ERR_UNAVAILABLE ? (fs_status)status
                                                                : FS_ERR_INTERNAL;
    mpi_fail(err, code, "rank %d: %s", rank, message ? message : "(no message)");
    free(message);
    return code;
}

/* The matches of one rank's answer, or the error it reported. */
static fs_status read_answer(const unsigned char *bytes, int len, int rank, fs_matches *mt,
                             fs_error *err)
{
    rbuf r;
    fs_status rc = read_status(bytes, len, rank, &r, err);
    return rc ? rc : wire_get_matches(&r, mt, err);
}

/* Takes search p out of the list (lock held): the ranks that did not answer owe it, the sends
 * that have not completed become orphans (reqs and data are taken over, or freed). */
static void finish(fs_mpi_front *f, pending *p, MPI_Request *reqs, unsigned char *data)
{
    int size = f->lib->m->size;
    for (pending **at = &f->inflight; *at; at = &(*at)->next)
        if (*at == p) {
            *at = p->next;
            break;
        }
    for (int r = 1; r < size; r++)
        if (reqs[r] != MPI_REQUEST_NULL && !p->answer[r])
            f->owed[r]++;
    int done = 0;
    if (MPI_Testall(size, reqs, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
        done = 0;
    orphan *o = done ? NULL : malloc(sizeof *o);
    if (o) {
        *o = (orphan){.reqs = reqs, .n = size, .data = data, .next = f->orphans};
        f->orphans = o;
        return;
    }
    if (!done) /* no memory to keep them: let MPI finish them, and keep the buffer for good */
        for (int r = 0; r < size; r++)
            if (reqs[r] != MPI_REQUEST_NULL)
                MPI_Request_free(&reqs[r]);
    free(reqs);
    if (done)
        free(data);
}

/* A search to be made: p's room for the answers of every rank, and *reqs for the sends to them
 * (all MPI_REQUEST_NULL; given to post, then conclude, which frees it). */
static fs_status pending_start(const fs_mpi_front *f, pending *p, MPI_Request **reqs,
                               fs_error *err)
{
    int size = f->lib->m->size;
    p->answer = calloc((size_t)size, sizeof *p->answer);
    p->answer_len = calloc((size_t)size, sizeof *p->answer_len);
    *reqs = malloc((size_t)size * sizeof **reqs);
    for (int r = 0; *reqs && r < size; r++)
        (*reqs)[r] = MPI_REQUEST_NULL;
    return p->answer && p->answer_len && *reqs ? FS_OK
                                               : mpi_fail(err, FS_ERR_NOMEM, "out of memory");
}

/* Frees the answers of p, once it is over. */
static void pending_free(const fs_mpi_front *f, pending *p)
{
    for (int r = 0; p->answer && r < f->lib->m->size; r++)
        free(p->answer[r]);
    free(p->answer);
    free(p->answer_len);
}

/* Sends w (a message whose first 8 bytes are its id, filled here) with tag to every rank but 0,
 * or to p->only, as search p (put in flight: *posted). Fails at once when a rank asked is down. */
static fs_status post(fs_mpi_front *f, pending *p, MPI_Request *reqs, wbuf *w, int tag,
                      int *posted, fs_error *err)
{
    int size = f->lib->m->size;
    *posted = 0;
    pthread_mutex_lock(&f->lock);
    fs_status rc = drain(f, err);
    /* a down rank's late answer may be on its way in: a few more looks give MPI's progress
     * engine the time to read it (a few ms on a failing search) */
    for (int look = 0; rc == FS_OK && look < DOWN_LOOKS &&
                       (p->only ? rank_down(f, p->only) : any_down(f));
         look++) {
        pthread_mutex_unlock(&f->lock);
        sleep_ns(RANK_IDLE_POLL_NS);
        pthread_mutex_lock(&f->lock);
        rc = drain(f, err);
    }
    for (int r = 1; rc == FS_OK && r < size; r++)
        if ((!p->only || r == p->only) && rank_down(f, r))
            rc = down_error(f, r, err);
    if (rc == FS_OK && (w->nomem || w->len > INT32_MAX || w->len < sizeof p->id))
        rc = mpi_fail(err, w->nomem ? FS_ERR_NOMEM : FS_ERR_LIMIT, "query too large");
    if (rc == FS_OK) {
        p->id = f->next_id++;
        memcpy(w->data, &p->id, sizeof p->id);
        p->next = f->inflight;
        f->inflight = p;
        *posted = 1;
        for (int r = 1; r < size && rc == FS_OK; r++) {
            if (p->only && r != p->only)
                continue;
            f->heard[r] = mpi_now(); /* silence is counted from the request on */
            if (MPI_Isend(w->data, (int)w->len, MPI_BYTE, r, tag, MPI_COMM_WORLD, &reqs[r]) !=
                MPI_SUCCESS) {
                reqs[r] = MPI_REQUEST_NULL;
                f->left[r] = 1; /* a send that fails at once: the rank is gone */
                rc = mpi_fail(err, FS_ERR_UNAVAILABLE, "rank %d of the sharded library cannot "
                              "be reached: searches fail until the run is started again", r);
            }
        }
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* Waits until every rank asked by p has answered or answer_ms have passed, then takes p out of
 * flight (finish; reqs and data are taken over). Returns the lowest rank that did not answer,
 * or 0; *rc receives a failure to receive. */
static int await_answers(fs_mpi_front *f, pending *p, MPI_Request *reqs, unsigned char *data,
                         fs_status *rc, fs_error *err)
{
    int size = f->lib->m->size, missing = 0;
    double deadline = mpi_now() + f->answer_ms / 1000.0;
    for (;;) {
        pthread_mutex_lock(&f->lock);
        fs_status drained = drain(f, err);
        missing = 0;
        for (int r = size - 1; r >= 1; r--)
            if ((!p->only || r == p->only) && !p->answer[r])
                missing = r;
        if (drained != FS_OK && *rc == FS_OK)
            *rc = drained;
        int over = *rc != FS_OK || !missing || mpi_now() > deadline;
        if (over)
            finish(f, p, reqs, data);
        pthread_mutex_unlock(&f->lock);
        if (over)
            return missing;
        sleep_ns(FRONT_POLL_NS);
    }
}

static fs_status not_answered(const fs_mpi_front *f, int r, fs_error *err)
{
    return mpi_fail(err, FS_ERR_UNAVAILABLE, "rank %d of the sharded library did not answer "
                    "within %d ms (stopped, overloaded or gone): searches fail until it answers "
                    "again", r, f->answer_ms);
}

/* Ends p: waits for its answers when it was posted (reqs and data are then taken over), else
 * frees them; a rank that did not answer in time is *rc's FS_ERR_UNAVAILABLE. */
static void conclude(fs_mpi_front *f, pending *p, int posted, MPI_Request *reqs,
                     unsigned char *data, fs_status *rc, fs_error *err)
{
    int missing = posted ? await_answers(f, p, reqs, data, rc, err) : 0;
    if (!posted) {
        free(reqs);
        free(data);
    }
    if (*rc == FS_OK && missing)
        *rc = not_answered(f, missing, err);
}

fs_status fs_mpi_front_search(fs_mpi_front *f, const fs_face *query,
                              const char *const *folders, size_t n_folders, float threshold,
                              size_t top, int min_face, fs_matches *out, fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    memset(out, 0, sizeof *out);
    int size = f->lib->m->size;
    pending p = {0};
    MPI_Request *reqs;
    fs_status rc = pending_start(f, &p, &reqs, err);
    fs_matches *parts = calloc((size_t)size, sizeof *parts);
    wbuf w = {0};
    if (rc == FS_OK && !parts)
        rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");

    /* the query to every rank, unless one is down */
    int posted = 0;
    if (rc == FS_OK) {
        put_query(&w, 0, query, folders, n_folders, threshold, top, min_face);
        rc = post(f, &p, reqs, &w, TAG_QUERY, &posted, err);
    }
    /* rank 0's own shards while the others search theirs */
    if (rc == FS_OK) {
        pthread_mutex_lock(&f->own_lock);
        rc = mpi_search_shards(f->lib, query, 1, folders, n_folders, threshold, top, min_face,
                               &parts[0], err);
        pthread_mutex_unlock(&f->own_lock);
    }
    conclude(f, &p, posted, reqs, w.data, &rc, err);
    for (int r = 1; rc == FS_OK && r < size; r++)
        rc = read_answer(p.answer[r], p.answer_len[r], r, &parts[r], err);
    if (rc == FS_OK)
        rc = fs_matches_merge(parts, (size_t)size, top, out, err);
    for (int r = 0; parts && r < size; r++)
        fs_matches_free(&parts[r]);
    free(parts);
    pending_free(f, &p);
    return rc;
}

/* ---- Photos and faces by library id ------------------------------------------------------ */

/* A photo as look_up wrote it, into *out (id left to the caller). */
static fs_status read_photo(rbuf *r, fs_photo *out, fs_error *err)
{
    int32_t failed = 0;
    memset(out, 0, sizeof *out);
    wire_get(r, &out->size, sizeof out->size);
    wire_get(r, &out->mtime_ns, sizeof out->mtime_ns);
    wire_get(r, &failed, sizeof failed);
    out->failed = failed;
    out->path = wire_get_string(r);
    if (!out->path)
        return mpi_fail(err, r->bad ? FS_ERR_INTERNAL : FS_ERR_NOMEM,
                        r->bad ? "malformed photo from a rank" : "out of memory");
    fs_status rc = wire_get_matches(r, &out->faces, err);
    if (rc)
        fs_photo_free(out);
    return rc;
}

/* A face as look_up wrote it (one match, its embedding) into *out. */
static fs_status read_face(rbuf *r, fs_matches *out, fs_error *err)
{
    fs_status rc = wire_get_matches(r, out, err);
    if (rc)
        return rc;
    if (out->count == 1)
        wire_get(r, out->items[0].face.embedding, sizeof out->items[0].face.embedding);
    if (out->count != 1 || r->bad) {
        fs_matches_free(out);
        return mpi_fail(err, FS_ERR_INTERNAL, "malformed face from a rank");
    }
    return FS_OK;
}

/* What the library holds under library id (kind): looked up in rank 0's own shard, or asked of
 * the rank that holds it; the payload read by the caller from *r, whose bytes are *owned. */
static fs_status look_up_anywhere(fs_mpi_front *f, int kind, int64_t id, int *k, rbuf *r,
                                  unsigned char **owned, fs_error *err)
{
    fs_mpi_library *lib = f->lib;
    int size = lib->m->size;
    int64_t shard_id;
    *owned = NULL;
    if (fs_library_id_split(id, lib->count, k, &shard_id) != 0)
        return mpi_fail(err, FS_ERR_NOT_FOUND, "%s %lld: not in the library",
                        kind == LOOK_PHOTO ? "photo" : "face", (long long)id);
    int rank = *k % size;
    if (rank == 0) {
        wbuf w = {0};
        pthread_mutex_lock(&f->own_lock);
        fs_status rc = look_up(own_shard(lib, *k), kind, shard_id, &w, err);
        pthread_mutex_unlock(&f->own_lock);
        if (rc == FS_OK && w.nomem)
            rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");
        *owned = w.data;
        *r = (rbuf){.p = w.data, .left = w.len};
        return rc;
    }
    pending p = {.only = rank};
    MPI_Request *reqs;
    fs_status rc = pending_start(f, &p, &reqs, err);
    wbuf w = {0};
    int posted = 0;
    if (rc == FS_OK) {
        put_lookup(&w, kind, *k, shard_id);
        rc = post(f, &p, reqs, &w, TAG_LOOKUP, &posted, err);
    }
    conclude(f, &p, posted, reqs, w.data, &rc, err);
    if (rc == FS_OK)
        rc = read_status(p.answer[rank], p.answer_len[rank], rank, r, err);
    if (p.answer) {
        *owned = p.answer[rank];
        p.answer[rank] = NULL;
    }
    pending_free(f, &p);
    return rc;
}

/* A photo (out: fs_photo) or a face (out: fs_matches) of the library by library id, its ids
 * the library's; a shard's "not in the index" said with the library's id. */
static fs_status front_look_up(fs_mpi_front *f, int kind, int64_t id, void *out, fs_error *err)
{
    const char *what = kind == LOOK_PHOTO ? "photo" : "face";
    rbuf r;
    unsigned char *owned;
    int k;
    fs_status rc = look_up_anywhere(f, kind, id, &k, &r, &owned, err);
    if (rc == FS_OK)
        rc = kind == LOOK_PHOTO ? read_photo(&r, out, err) : read_face(&r, out, err);
    free(owned);
    if (rc == FS_ERR_NOT_FOUND)
        mpi_fail(err, rc, "%s %lld: not in the library", what, (long long)id);
    if (rc)
        return rc;
    fs_matches *faces = out;
    if (kind == LOOK_PHOTO) {
        fs_photo *photo = out;
        photo->id = id;
        faces = &photo->faces;
    }
    mpi_library_ids(faces, k, f->lib->count);
    return FS_OK;
}

fs_status fs_mpi_front_photo(fs_mpi_front *f, int64_t id, fs_photo *out, fs_error *err)
{
    fs_error local = {0};
    memset(out, 0, sizeof *out);
    return front_look_up(f, LOOK_PHOTO, id, out, err ? err : &local);
}

fs_status fs_mpi_front_face(fs_mpi_front *f, int64_t id, fs_matches *out, fs_error *err)
{
    fs_error local = {0};
    memset(out, 0, sizeof *out);
    return front_look_up(f, LOOK_FACE, id, out, err ? err : &local);
}

/* ---- A person's faces ---------------------------------------------------------------------- */

fs_status fs_mpi_front_person(fs_mpi_front *f, int64_t id, fs_person *person,
                              fs_person_faces *out, fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    memset(out, 0, sizeof *out);
    fs_library_member *members = NULL;
    size_t n = 0;
    fs_status rc = fs_library_person_get(f->lib->dir, id, person, &members, &n, err);
    if (rc)
        return rc;
    int size = f->lib->m->size;
    pending p = {0};
    MPI_Request *reqs;
    wbuf w = {0};
    int posted = 0;
    rc = pending_start(f, &p, &reqs, err);
    if (rc == FS_OK) {
        put_members(&w, members, n);
        rc = post(f, &p, reqs, &w, TAG_PERSON, &posted, err);
    }
    /* rank 0's own shards while the others read theirs */
    if (rc == FS_OK) {
        pthread_mutex_lock(&f->own_lock);
        rc = mpi_member_faces(f->lib, members, n, out, err);
        pthread_mutex_unlock(&f->own_lock);
    }
    conclude(f, &p, posted, reqs, w.data, &rc, err);
    for (int r = 1; rc == FS_OK && r < size; r++) {
        rbuf in;
        rc = read_status(p.answer[r], p.answer_len[r], r, &in, err);
        if (rc == FS_OK)
            rc = wire_get_person_faces(&in, out, err);
    }
    pending_free(f, &p);
    free(members);
    if (rc == FS_OK) {
        fs_person_faces_sort(out);
        return FS_OK;
    }
    fs_person_faces_free(out);
    fs_person_clear(person);
    return rc;
}

/* ---- Grouping people ----------------------------------------------------------------------- */

/* Waits for the groupings of p without the answer_ms bound (a grouping takes as long as it
 * takes) but not for a rank that has left or been silent (no beat, no answer) for answer_ms plus
 * SILENCE_SECONDS, then takes p out of flight (finish). Returns that rank, or 0 when every rank
 * answered; *rc receives a failure to receive. Reports progress to opt: ranks done of ranks. */
static int await_groupings(fs_mpi_front *f, pending *p, MPI_Request *reqs, unsigned char *data,
                           const fs_people_options *opt, double t0, fs_status *rc, fs_error *err)
{
    int size = f->lib->m->size;
    double patience = f->answer_ms / 1000.0 + SILENCE_SECONDS;
    for (;;) {
        pthread_mutex_lock(&f->lock);
        fs_status drained = drain(f, err);
        int missing = 0, silent = 0;
        size_t answered = 0;
        double now = mpi_now();
        for (int r = size - 1; r >= 1; r--) {
            if (p->answer[r]) {
                answered++;
                continue;
            }
            missing = r;
            if (f->left[r] || now - f->heard[r] > patience)
                silent = r;
        }
        if (drained != FS_OK && *rc == FS_OK)
            *rc = drained;
        int over = *rc != FS_OK || !missing || silent;
        if (over)
            finish(f, p, reqs, data);
        pthread_mutex_unlock(&f->lock);
        if (over)
            return silent;
        if (opt->on_progress) {
            fs_people_progress pr = {.stage = "shards", .done = answered + 1,
                                     .total = (size_t)size, .seconds = now - t0};
            opt->on_progress(&pr, opt->ctx);
        }
        sleep_ns(RANK_IDLE_POLL_NS);
    }
}

/* Adds the summary and units of rank r's answer (bytes of len) to *sum and *units. */
static fs_status read_grouping(const unsigned char *bytes, int len, int r, fs_people_summary *sum,
                               fs_people_units *units, fs_error *err)
{
    rbuf in;
    fs_people_summary s;
    fs_status rc = read_status(bytes, len, r, &in, err);
    if (rc)
        return rc;
    wire_get(&in, &s, sizeof s);
    if (in.bad)
        return mpi_fail(err, FS_ERR_INTERNAL, "rank %d: malformed people units", r);
    rc = wire_get_units(&in, units, err);
    if (rc == FS_OK) {
        sum->faces += s.faces;
        sum->grouped += s.grouped;
        sum->unsure += s.unsure;
    }
    return rc;
}

fs_status fs_mpi_front_people_update(fs_mpi_front *f, const fs_people_options *opt,
                                     fs_people_summary *summary, fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    fs_people_options def = {0};
    if (!opt)
        opt = &def;
    if (summary)
        memset(summary, 0, sizeof *summary);
    double t0 = mpi_now();
    pthread_mutex_lock(&f->lock);
    int busy = f->grouping;
    f->grouping = 1;
    pthread_mutex_unlock(&f->lock);
    if (busy)
        return mpi_fail(err, FS_ERR_BUSY, "a people update of the library is running");

    int size = f->lib->m->size;
    pending p = {0};
    MPI_Request *reqs;
    wbuf w = {0};
    int posted = 0;
    fs_status rc = pending_start(f, &p, &reqs, err);
    if (rc == FS_OK) {
        put_grouping(&w, opt);
        rc = post(f, &p, reqs, &w, TAG_GROUP, &posted, err);
    }
    /* rank 0's own shards while the others group theirs */
    fs_people_units units = {0};
    fs_people_summary sum = {0};
    float search_threshold = 0;
    if (rc == FS_OK)
        rc = mpi_people_group_shards(f->lib->m, f->lib->dir, f->lib->count, opt, &units, &sum,
                                     &search_threshold, err);
    /* waited for even when rank 0 failed: a grouping left unanswered would mark its rank down */
    fs_status waited = FS_OK;
    fs_error wait_err = {0};
    int silent = 0;
    if (posted)
        silent = await_groupings(f, &p, reqs, w.data, opt, t0, &waited, &wait_err);
    else {
        free(reqs);
        free(w.data);
    }
    if (rc == FS_OK && waited != FS_OK) {
        rc = waited;
        *err = wait_err;
    }
    if (rc == FS_OK && silent)
        rc = mpi_fail(err, FS_ERR_UNAVAILABLE, f->left[silent]
                      ? "rank %d of the sharded library left while grouping people"
                      : "rank %d of the sharded library stopped answering while grouping people",
                      silent);
    for (int r = 1; rc == FS_OK && r < size; r++)
        rc = read_grouping(p.answer[r], p.answer_len[r], r, &sum, &units, err);
    pending_free(f, &p);
    fs_people_summary lib = {0};
    if (rc == FS_OK)
        rc = fs_library_people_update(f->lib->dir, &units, opt->threshold, search_threshold,
                                      &lib, err);
    fs_people_units_free(&units);
    pthread_mutex_lock(&f->lock);
    f->grouping = 0;
    pthread_mutex_unlock(&f->lock);
    if (rc != FS_OK)
        return rc;
    sum.people = lib.people;
    sum.new_people = lib.new_people;
    sum.seconds = mpi_now() - t0;
    if (summary)
        *summary = sum;
    return FS_OK;
}

fs_status fs_mpi_front_close(fs_mpi_front *f, fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    int size = f->lib->m->size;
    static const char none = 0;
    fs_status rc = FS_OK;
    MPI_Request *reqs = malloc((size_t)size * sizeof *reqs);
    pthread_mutex_lock(&f->lock);
    if (!reqs)
        rc = mpi_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK)
        rc = drain(f, err);
    for (int r = 0; reqs && r < size; r++) {
        reqs[r] = MPI_REQUEST_NULL;
        if (rc == FS_OK && r > 0 && !rank_down(f, r) &&
            MPI_Isend(&none, 1, MPI_BYTE, r, TAG_STOP, MPI_COMM_WORLD, &reqs[r]) != MPI_SUCCESS)
            reqs[r] = MPI_REQUEST_NULL;
    }
    double deadline = mpi_now() + f->answer_ms / 1000.0;
    int waiting = rc == FS_OK;
    while (waiting) {
        if (drain(f, err) != FS_OK) {
            rc = err->code;
            break;
        }
        waiting = 0;
        for (int r = 1; r < size; r++)
            if (!f->stopped[r] && !rank_down(f, r))
                waiting = r;
        if (waiting && mpi_now() > deadline) {
            rc = mpi_fail(err, FS_ERR_UNAVAILABLE, "rank %d did not acknowledge the stop within "
                          "%d ms", waiting, f->answer_ms);
            break;
        }
        if (waiting) {
            pthread_mutex_unlock(&f->lock);
            sleep_ns(FRONT_POLL_NS);
            pthread_mutex_lock(&f->lock);
        }
    }
    for (int r = 1; rc == FS_OK && r < size; r++)
        if (f->owed[r] > 0)
            rc = mpi_fail(err, FS_ERR_UNAVAILABLE, "rank %d is not answering", r);
    if (rc == FS_OK) {
        /* every rank took its messages in order, the stop last: every send has completed */
        MPI_Waitall(size, reqs, MPI_STATUSES_IGNORE);
        while (f->orphans) {
            orphan *o = f->orphans;
            f->orphans = o->next;
            MPI_Waitall(o->n, o->reqs, MPI_STATUSES_IGNORE);
            free(o->reqs);
            free(o->data);
            free(o);
        }
    }
    pthread_mutex_unlock(&f->lock);
    /* else the run ends with MPI_Abort: sends still pending keep their buffers */
    free(reqs);
    pthread_mutex_destroy(&f->lock);
    pthread_mutex_destroy(&f->own_lock);
    free(f->owed);
    free(f->left);
    free(f->stopped);
    free(f->heard);
    free(f);
    return rc;
}
