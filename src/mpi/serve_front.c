/*
 * serve_front.c — rank 0's side of serve --shards (include/facesearch_mpi.h "Serving
 * searches"): the front that the HTTP server's request threads call, several at once, to search
 * the library, look up photos, faces and persons, and group people.
 *
 * A search: the front sends the query (one face, the folders, the parameters) to every rank with
 * a nonblocking send, searches rank 0's own shards meanwhile, and polls for the answers until
 * every rank has answered or answer_ms have passed. The collectives of search --shards cannot be
 * used: they wait for every rank without a bound, and rank 0 serves several requests at once.
 * Each request has an id, which its answers carry: whichever request thread holds the lock
 * receives every answer that has arrived and files it with the request it belongs to, so that
 * the threads never take each other's messages. An answer that arrives after its request gave up
 * is counted against the rank's debt; a rank with a debt is down (requests fail at once with
 * FS_ERR_UNAVAILABLE, nothing is sent to it) until it has paid it, i.e. it answers again.
 * Lookups (a photo or face by library id) go to the one rank that holds its shard; a person's
 * members (from DIR/people.db) and requests for the unsure faces to every rank. A grouping of
 * people is waited for without the answer_ms bound, as long as every rank is heard from.
 *
 * MPI is called under front.lock only (MPI_THREAD_SERIALIZED), with MPI_ERRORS_RETURN: a send to
 * a rank that has died fails that request, it does not end the process.
 */
#include "serve_internal.h"

#include <mpi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* Files what has arrived (lock held; released while it waits) and fails, as down_error, when
 * rank only (0: any rank) is down. A down rank's late answer may be on its way in: a few more
 * looks give MPI's progress engine the time to read it (a few ms on a failing request). */
static fs_status settle(fs_mpi_front *f, int only, fs_error *err)
{
    fs_status rc = drain(f, err);
    for (int look = 0;
         rc == FS_OK && look < DOWN_LOOKS && (only ? rank_down(f, only) : any_down(f)); look++) {
        pthread_mutex_unlock(&f->lock);
        serve_sleep_ns(RANK_IDLE_POLL_NS);
        pthread_mutex_lock(&f->lock);
        rc = drain(f, err);
    }
    for (int r = 1; rc == FS_OK && r < f->lib->m->size; r++)
        if ((!only || r == only) && rank_down(f, r))
            rc = down_error(f, r, err);
    return rc;
}

fs_status fs_mpi_front_ready(fs_mpi_front *f, fs_error *err)
{
    fs_error local = {0};
    pthread_mutex_lock(&f->lock);
    fs_status rc = settle(f, 0, err ? err : &local);
    pthread_mutex_unlock(&f->lock);
    return rc;
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
    fs_status rc = settle(f, p->only, err);
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
        serve_sleep_ns(FRONT_POLL_NS);
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
        serve_put_query(&w, 0, query, folders, n_folders, threshold, top, min_face);
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

/* A photo as serve_look_up wrote it, into *out (id left to the caller). */
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

/* A face as serve_look_up wrote it (one match, its embedding) into *out. */
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
        fs_status rc = serve_look_up(serve_own_shard(lib, *k), kind, shard_id, &w, err);
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
        serve_put_lookup(&w, kind, *k, shard_id);
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

/* ---- Faces from every rank: a person's, the unsure ones ---------------------------------- */

/* Asks every rank for faces with tag: a person's (members, n) or, for TAG_UNSURE_FACES, the
 * unsure faces, reads rank 0's own shards meanwhile, and gathers them all into *out, best
 * quality first (emptied on failure). */
static fs_status faces_of_every_rank(fs_mpi_front *f, int tag, const fs_library_member *members,
                                     size_t n, fs_person_faces *out, fs_error *err)
{
    pending p = {0};
    MPI_Request *reqs;
    wbuf w = {0};
    int posted = 0;
    fs_status rc = pending_start(f, &p, &reqs, err);
    if (rc == FS_OK) {
        if (tag == TAG_UNSURE_FACES)
            serve_put_unsure(&w);
        else
            serve_put_members(&w, members, n);
        rc = post(f, &p, reqs, &w, tag, &posted, err);
    }
    /* rank 0's own shards while the others read theirs */
    if (rc == FS_OK) {
        pthread_mutex_lock(&f->own_lock);
        rc = tag == TAG_UNSURE_FACES ? mpi_unsure_faces(f->lib, out, err)
                                     : mpi_member_faces(f->lib, members, n, out, err);
        pthread_mutex_unlock(&f->own_lock);
    }
    conclude(f, &p, posted, reqs, w.data, &rc, err);
    for (int r = 1; rc == FS_OK && r < f->lib->m->size; r++) {
        rbuf in;
        rc = read_status(p.answer[r], p.answer_len[r], r, &in, err);
        if (rc == FS_OK)
            rc = wire_get_person_faces(&in, out, err);
    }
    pending_free(f, &p);
    if (rc == FS_OK)
        fs_person_faces_sort(out);
    else
        fs_person_faces_free(out);
    return rc;
}

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
    rc = faces_of_every_rank(f, TAG_PERSON, members, n, out, err);
    free(members);
    if (rc != FS_OK)
        fs_person_clear(person);
    return rc;
}

fs_status fs_mpi_front_unsure(fs_mpi_front *f, fs_person_faces *out, fs_error *err)
{
    fs_error local = {0};
    if (!err)
        err = &local;
    memset(out, 0, sizeof *out);
    fs_status rc = faces_of_every_rank(f, TAG_UNSURE_FACES, NULL, 0, out, err);
    if (rc == FS_OK)
        rc = fs_library_people_unplaced(f->lib->dir, out, err);
    if (rc != FS_OK)
        fs_person_faces_free(out);
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
        serve_sleep_ns(RANK_IDLE_POLL_NS);
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
    MPI_Request *reqs = NULL;
    wbuf w = {0};
    int posted = 0;
    /* the units the library's file names go with the request: the ranks follow them */
    fs_library_known *known = NULL;
    size_t n_known = 0;
    fs_status rc = fs_library_people_known(f->lib->dir, &known, &n_known, err);
    if (rc == FS_OK)
        rc = pending_start(f, &p, &reqs, err);
    if (rc == FS_OK) {
        serve_put_grouping(&w, opt, known, n_known);
        rc = post(f, &p, reqs, &w, TAG_GROUP, &posted, err);
    }
    /* rank 0's own shards while the others group theirs */
    fs_people_units units = {0};
    fs_people_summary sum = {0};
    float search_threshold = 0;
    if (rc == FS_OK)
        rc = mpi_people_group_shards(f->lib->m, f->lib->dir, f->lib->count, opt, known, n_known,
                                     &units, &sum, &search_threshold, err);
    free(known);
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
    sum.edits_dropped = lib.edits_dropped;
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
            serve_sleep_ns(FRONT_POLL_NS);
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
