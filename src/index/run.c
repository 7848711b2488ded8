/*
 * run.c — index runs (fs_index_update): walk → change detection → the pipeline on a pool of
 * workers → one writer batching transactions → removal of vanished photos → vector file sync.
 *
 * Index run, in order:
 *   1. walk the roots; for each photo look up its path: same size and mtime → unchanged (unless it
 *      could not be read last time), the rest (new or changed) become jobs;
 *   2. workers take the jobs: each reads its photo once, hashes those bytes and, unless that
 *      content is already indexed (a moved, copied or only touched photo: copied, not
 *      re-embedded) or is being embedded for an identical photo of this run (deferred, then
 *      copied from it), decodes them and runs the pipeline. This thread writes each result,
 *      committing a batch every BATCH_FILES results or BATCH_SECONDS, so a kill loses at most the
 *      open batch. A photo is thus read from disk once, and progress moves from the first photo;
 *   3. entries under the roots whose photo no longer exists are removed (a photo that exists but
 *      could not be walked, e.g. in an unreadable folder, is kept);
 *   4. the vector file is brought up to date.
 * A shard of a sharded library runs the same steps on the photos its caller gives (the share of
 * one walk whose content belongs to it) instead of walking, and step 3 also removes the photos of
 * that walk which now belong to another shard. Its caller may also give some of the jobs of
 * step 2 to other processes and put their results back (share.c): the writer then also waits
 * for those, polling the caller between results.
 */
#include "index/run.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "face/face.h"
#include "image/image.h"
#include "index/walk.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/paths.h"
#include "util/sha256.h"

#define BATCH_FILES 64
#define BATCH_SECONDS 2.0
#define PROGRESS_SECONDS 0.2
#define SHARING_POLL_MS 10

/* ---- Index runs ---------------------------------------------------------------------------- */

typedef struct fs_index_run run;

static int collect(const char *path, const struct stat *st, void *ctx)
{
    run *r = ctx;
    entry *grown = util_grow(r->walked, &r->cap_walked, r->n_walked + 1, sizeof *grown, 1024);
    if (!grown)
        return r->walk_nomem = 1;
    r->walked = grown;
    entry *e = &r->walked[r->n_walked];
    memset(e, 0, sizeof *e);
    if (!(e->path = strdup(path)))
        return r->walk_nomem = 1;
    e->size = (int64_t)st->st_size;
    e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    r->n_walked++;
    return 0;
}

static void problem(run *r, const char *message)
{
    if (r->opt->on_problem)
        r->opt->on_problem(message, r->opt->ctx);
}

static void walk_problem(const char *message, void *ctx)
{
    problem(ctx, message);
}

static void report_progress(run *r, int force)
{
    double t = util_now();
    if (!r->opt->on_progress || (!force && t - r->last_progress < PROGRESS_SECONDS))
        return;
    r->last_progress = t;
    r->progress.seconds = t - r->started;
    r->opt->on_progress(&r->progress, r->opt->ctx);
}

static int stop_requested(const run *r)
{
    return r->opt->stop && *r->opt->stop;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

static int by_photo_path(const void *a, const void *b)
{
    return strcmp(((const fs_photo_entry *)a)->path, ((const fs_photo_entry *)b)->path);
}

/* A shard's run (fs_index_options.photos): the photos given stand for the walk. */
static fs_status take_photos(run *r, const fs_photo_list *photos, fs_error *err)
{
    if (photos->count && !(r->walked = calloc(photos->count, sizeof *r->walked)))
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    r->cap_walked = photos->count;
    for (size_t i = 0; i < photos->count; i++) {
        entry *e = &r->walked[r->n_walked];
        if (!(e->path = strdup(photos->items[i].path)))
            return util_fail(err, FS_ERR_NOMEM, "out of memory");
        e->size = photos->items[i].size;
        e->mtime_ns = photos->items[i].mtime_ns;
        r->n_walked++;
    }
    return FS_OK;
}

/* ---- Content hashes ---------------------------------------------------------------------- */

typedef struct known_ctx {
    index_digest_set *set;
    size_t n, cap;
    uint8_t (*list)[32];
    int nomem;
} known_ctx;

static int collect_hash(const char *sha256, void *ctx)
{
    known_ctx *k = ctx;
    uint8_t d[32];
    if (util_sha256_from_hex(sha256, d) != 0)
        return 0;
    uint8_t(*grown)[32] = util_grow(k->list, &k->cap, k->n + 1, sizeof *grown, 1024);
    if (!grown)
        return k->nomem = 1;
    k->list = grown;
    memcpy(k->list[k->n++], d, 32);
    return 0;
}

/* The content hashes of every file indexed before this run, into r->known. */
static fs_status load_known(run *r, fs_error *err)
{
    known_ctx k = {0};
    fs_status rc = store_each_hash(r->ix->store, collect_hash, &k, err);
    if (rc == FS_OK && k.nomem)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK && index_digest_set_init(&r->known, k.n) != 0)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == FS_OK && i < k.n; i++)
        index_digest_set_add(&r->known, k.list[i]);
    free(k.list);
    return rc;
}

/* ---- Jobs ----------------------------------------------------------------------------------- */

/* Step 1 for one walked photo: unchanged (same size and mtime as indexed) or a job. */
static fs_status classify(run *r, entry *e, fs_error *err)
{
    store_file f;
    int found;
    fs_status rc = store_file_by_path(r->ix->store, e->path, &f, &found, err);
    if (rc)
        return rc;
    /* A photo that could not even be read last time (no content hash: permissions, I/O) is
     * tried again, since fixing that (chmod) leaves its size and mtime as they were; one that was
     * read but could not be decoded is not, until it changes. */
    e->unchanged = found && f.size == e->size && f.mtime_ns == e->mtime_ns &&
                   !(f.status == FS_FILE_FAILED && f.sha256[0] == '\0');
    e->existed = found;
    if (e->unchanged && f.status == FS_FILE_FAILED) {
        /* not tried again until it changes, but reported and counted on every run, so that a
         * run over a damaged photo never looks clean */
        char reason[sizeof ((fs_error *)0)->message];
        rc = store_file_error(r->ix->store, f.id, reason, sizeof reason, err);
        if (rc)
            return rc;
        problem(r, reason[0] ? reason : e->path);
        r->progress.failed++;
        r->progress.done++;
    } else if (e->unchanged) {
        r->progress.unchanged++;
        r->progress.done++;
    } else {
        r->jobs[r->n_jobs++] = e;
    }
    return FS_OK;
}

/* A job whose content is already indexed: touched but not changed (same path), or moved, renamed
 * or copied (another path). Returns with *embed = 1 when there is nothing to copy from after all
 * (the indexed twin went away meanwhile): the photo then needs the pipeline. */
static fs_status triage_known(run *r, entry *e, int *embed, fs_error *err)
{
    store_db *store = r->ix->store;
    store_file f;
    int found;
    *embed = 0;
    fs_status rc = store_file_by_path(store, e->path, &f, &found, err);
    if (rc)
        return rc;
    if (found && strcmp(f.sha256, e->sha256) == 0 && f.status == FS_FILE_OK) {
        /* touched but not changed: keep the faces, record the new mtime */
        r->progress.unchanged++;
        r->progress.done++;
        return store_copy_file(store, f.id, e->path, e->size, e->mtime_ns, e->sha256, err);
    }
    store_file same;
    char *same_path = NULL;
    rc = store_file_by_hash(store, e->sha256, &same, &same_path, &found, err);
    if (rc)
        return rc;
    if (!found || strcmp(same_path, e->path) == 0) {
        free(same_path);
        *embed = 1;
        return FS_OK;
    }
    /* The content is indexed under another path: copy its faces, do not re-embed. If that path
     * is gone the photo was moved or renamed, and its old entry goes now, so that the move is not
     * also counted as a removal; if it still exists this is a new duplicate. */
    struct stat sb;
    int gone = lstat(same_path, &sb) != 0 && errno == ENOENT;
    r->progress.done++;
    rc = store_copy_file(store, same.id, e->path, e->size, e->mtime_ns, e->sha256, err);
    if (rc == FS_OK && gone) {
        int64_t removed = 0;
        rc = store_remove_path(store, same_path, &removed, err);
        r->progress.moved++;
    } else if (rc == FS_OK) {
        r->progress.added++;
    }
    free(same_path);
    return rc;
}

fs_status index_read_hashed(const char *path, uint8_t **data, size_t *size, uint8_t digest[32],
                            char sha256[65], fs_error *err)
{
    util_sha256 h;
    sha256[0] = '\0';
    fs_status rc = img_read_file(path, data, size, err);
    if (rc && rc != FS_ERR_FORMAT)
        return rc;
    util_sha256_init(&h); /* an empty file (FS_ERR_FORMAT) is read: its content is known */
    if (rc == FS_OK)
        util_sha256_update(&h, *data, *size);
    util_sha256_final(&h, digest);
    util_sha256_hex(digest, sha256);
    return rc;
}

outcome index_run_triage(run *r, const uint8_t digest[32])
{
    /* the second round's jobs (dedup off) have no indexed twin any more: their content's entry
     * was replaced during the run (a changed photo that now holds other known content), or their
     * twin of this run failed; they get the pipeline, else they would be dropped */
    if (r->dedup && index_digest_set_has(&r->known, digest))
        return OUT_KNOWN;
    pthread_mutex_lock(&r->lock);
    int twin = r->dedup && index_digest_set_add(&r->seen, digest);
    pthread_mutex_unlock(&r->lock);
    return twin ? OUT_LATER : OUT_FACES;
}

/* What a worker does with job e: read it once, hash it, then copy, defer or embed (see the top
 * of the file). */
static void run_job(run *r, fs_worker *w, entry *e, result *res)
{
    uint8_t *data = NULL, digest[32];
    size_t size = 0;
    fs_error err;
    res->status = index_read_hashed(e->path, &data, &size, digest, e->sha256, &err);
    if (res->status) {
        res->kind = OUT_FAILED;
        snprintf(res->message, sizeof res->message, "%s", err.message);
        return;
    }
    res->kind = index_run_triage(r, digest);
    if (res->kind == OUT_FACES) {
        res->status = fs_detect_buffer(w, data, size, e->path, 1, &res->faces, &err);
        if (res->status) {
            res->kind = OUT_FAILED;
            snprintf(res->message, sizeof res->message, "%s", err.message);
        }
    }
    free(data);
}

fs_status index_run_push(run *r, result *res)
{
    pthread_mutex_lock(&r->lock);
    result *grown = util_grow(r->results, &r->cap_results, r->n_results + 1, sizeof *grown, 64);
    if (!grown) {
        r->stopping = 1;
        pthread_mutex_unlock(&r->lock);
        fs_faces_free(&res->faces);
        return FS_ERR_NOMEM;
    }
    r->results = grown;
    r->results[r->n_results++] = *res;
    pthread_cond_signal(&r->ready);
    pthread_mutex_unlock(&r->lock);
    return FS_OK;
}

static void *worker_main(void *arg)
{
    run *r = arg;
    fs_worker *w = NULL;
    fs_error err;
    fs_status rc = fs_worker_new(r->ix->engine, r->threads_each, &w, &err);
    for (;;) {
        pthread_mutex_lock(&r->lock);
        int more = !r->stopping && !stop_requested(r) && r->next_job < r->end_job;
        size_t j = more ? r->next_job++ : 0;
        pthread_mutex_unlock(&r->lock);
        if (!more)
            break;
        result res = {.job = j};
        if (rc) {
            res.kind = OUT_FAILED;
            res.status = rc;
            snprintf(res.message, sizeof res.message, "%s", err.message);
        } else {
            run_job(r, w, r->jobs[j], &res);
        }
        if (index_run_push(r, &res) != FS_OK)
            break;
    }
    fs_worker_free(w);
    pthread_mutex_lock(&r->lock);
    r->workers_left--;
    pthread_cond_signal(&r->ready);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Writes one pipeline result into the open batch. */
static fs_status write_result(run *r, result *res, fs_error *err)
{
    entry *e = r->jobs[res->job];
    store_db *store = r->ix->store;
    if (res->kind == OUT_FAILED && res->status == FS_ERR_NOMEM)
        return util_fail(err, FS_ERR_NOMEM, "%s", res->message);
    if (res->kind == OUT_LATER) {
        r->later[r->n_later++] = e;
        return FS_OK;
    }
    if (res->kind == OUT_KNOWN) {
        int embed;
        fs_status rc = triage_known(r, e, &embed, err);
        if (rc == FS_OK && embed)
            r->later[r->n_later++] = e; /* copy_deferred finds no twin: a job of the next round */
        return rc;
    }
    r->progress.done++;
    r->progress.shared += (size_t)res->shared;
    if (res->kind == OUT_FAILED) {
        problem(r, res->message);
        r->progress.failed++;
        return store_put_failed(store, e->path, e->size, e->mtime_ns, e->sha256, res->message, err);
    }
    if (res->faces.warnings & FS_WARN_JPEG_NO_END) {
        char msg[sizeof ((fs_error *)0)->message];
        snprintf(msg, sizeof msg, "%s: warning: JPEG end marker missing, decoded what is present",
                 e->path);
        problem(r, msg);
    }
    size_t n = res->faces.count;
    store_face *faces = n ? calloc(n, sizeof *faces) : NULL;
    if (n && !faces)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        fs_face *f = &res->faces.faces[i];
        faces[i].face_index = (int)i;
        memcpy(faces[i].box, f->box, sizeof f->box);
        memcpy(faces[i].landmarks, f->landmarks, sizeof f->landmarks);
        faces[i].score = f->score;
        faces[i].quality = f->quality;
        faces[i].embedding = f->embedding;
    }
    fs_status rc =
        store_put_file(store, e->path, e->size, e->mtime_ns, e->sha256, faces, n, NULL, err);
    free(faces);
    if (rc == FS_OK) {
        r->progress.faces += n;
        if (e->existed)
            r->progress.changed++;
        else
            r->progress.added++;
    }
    return rc;
}

/* After the jobs: a deferred photo whose twin was indexed gets the twin's faces; the others (the
 * twin failed or was not reached) become the jobs of another round. */
static fs_status copy_deferred(run *r, fs_error *err)
{
    store_db *store = r->ix->store;
    r->n_jobs = 0;
    r->next_job = 0;
    for (size_t i = 0; i < r->n_later; i++) {
        entry *e = r->later[i];
        store_file same;
        int found;
        fs_status rc = store_file_by_hash(store, e->sha256, &same, NULL, &found, err);
        if (rc == FS_OK && found)
            rc = store_copy_file(store, same.id, e->path, e->size, e->mtime_ns, e->sha256, err);
        if (rc)
            return rc;
        if (!found) {
            r->jobs[r->n_jobs++] = e;
            continue;
        }
        r->progress.done++;
        if (e->existed)
            r->progress.changed++;
        else
            r->progress.added++;
    }
    r->n_later = 0;
    r->dedup = 0; /* the jobs left are photos whose twin failed: each gets the pipeline */
    return FS_OK;
}

/* Waits (r->lock held) until a result arrives or SHARING_POLL_MS pass. */
static void wait_a_little(run *r)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += SHARING_POLL_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&r->ready, &r->lock, &until);
}

/* Step 2: runs the workers and writes their results as they come (and, when sharing, the
 * results of the jobs given away, polling the caller between them). */
static fs_status process_jobs(run *r, fs_error *err)
{
    r->end_job = r->n_jobs;
    int wanted = r->opt->workers > 0 ? r->opt->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (wanted < 1)
        wanted = 1;
    int n = wanted;
    if ((size_t)n > r->n_jobs)
        n = (int)r->n_jobs;
    if (n > 64)
        n = 64;
    /* a photo per worker, one thread each; fewer photos than threads: the rest inside each */
    r->threads_each = n > 0 ? wanted / n : 1;
    pthread_t threads[64];
    int started = 0;
    /* counted up before each start (a worker may finish before the next one starts) */
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&r->lock);
        r->workers_left++;
        pthread_mutex_unlock(&r->lock);
        if (pthread_create(&threads[started], NULL, worker_main, r) != 0) {
            pthread_mutex_lock(&r->lock);
            r->workers_left--;
            pthread_mutex_unlock(&r->lock);
            break;
        }
        started++;
    }
    if (started == 0 && n > 0)
        return util_fail(err, FS_ERR_INTERNAL, "cannot start worker threads");

    fs_status rc = FS_OK;
    size_t in_batch = 0;
    double batch_start = util_now();
    result *mine = NULL;
    size_t cap = 0;
    const fs_index_sharing *sharing = r->opt->sharing;
    for (;;) {
        if (sharing && rc == FS_OK && (rc = sharing->poll(r, sharing->ctx, err)) != FS_OK) {
            pthread_mutex_lock(&r->lock);
            r->stopping = 1;
            pthread_mutex_unlock(&r->lock);
        }
        /* photos given away are waited for, unless the run failed (their results are then
         * not wanted: the caller drops them) */
        int remote = sharing && rc == FS_OK && r->given_out > 0;
        pthread_mutex_lock(&r->lock);
        if (sharing && r->n_results == 0 && (r->workers_left > 0 || remote))
            wait_a_little(r);
        while (!sharing && r->n_results == 0 && r->workers_left > 0)
            pthread_cond_wait(&r->ready, &r->lock);
        size_t count = r->n_results;
        int done = r->n_results == 0 && r->workers_left == 0 && !remote;
        if (count == 0 && !done) {
            pthread_mutex_unlock(&r->lock);
            continue; /* back to the caller's poll */
        }
        if (count > cap) {
            result *grown = realloc(mine, count * sizeof *grown);
            if (!grown) {
                r->stopping = 1;
                pthread_mutex_unlock(&r->lock);
                rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
                break;
            }
            mine = grown;
            cap = count;
        }
        if (count)
            memcpy(mine, r->results, count * sizeof *mine);
        r->n_results = 0;
        if (rc != FS_OK)
            r->stopping = 1;
        pthread_mutex_unlock(&r->lock);
        if (done)
            break;
        for (size_t i = 0; i < count; i++) {
            if (rc == FS_OK)
                rc = write_result(r, &mine[i], err);
            fs_faces_free(&mine[i].faces);
        }
        in_batch += count;
        if (rc == FS_OK && (in_batch >= BATCH_FILES || util_now() - batch_start >= BATCH_SECONDS)) {
            rc = store_commit(r->ix->store, err);
            if (rc == FS_OK)
                rc = store_begin(r->ix->store, err);
            in_batch = 0;
            batch_start = util_now();
        }
        if (rc != FS_OK) {
            pthread_mutex_lock(&r->lock);
            r->stopping = 1;
            pthread_mutex_unlock(&r->lock);
        }
        report_progress(r, 0);
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    /* results that arrived after a failure are dropped */
    for (size_t i = 0; i < r->n_results; i++)
        fs_faces_free(&r->results[i].faces);
    r->n_results = 0;
    free(mine);
    return rc;
}

typedef struct vanish_ctx {
    run *r;
    char **gone;
    size_t n, cap;
    int nomem;
} vanish_ctx;

static int find_vanished(const char *path, const store_file *f, void *ctx)
{
    (void)f;
    vanish_ctx *v = ctx;
    entry key = {.path = (char *)path};
    if (v->r->n_walked && bsearch(&key, v->r->walked, v->r->n_walked, sizeof key, by_path))
        return 0;
    const fs_photo_list *foreign = v->r->opt->foreign;
    fs_photo_entry fkey = {.path = (char *)path};
    struct stat st;
    int elsewhere = foreign && foreign->count &&
                    bsearch(&fkey, foreign->items, foreign->count, sizeof fkey, by_photo_path);
    if (!elsewhere && (lstat(path, &st) == 0 || errno != ENOENT))
        return 0; /* still there, only not walked (unreadable folder, hidden, not a photo name) */
    char **grown = util_grow(v->gone, &v->cap, v->n + 1, sizeof *grown, 64);
    if (!grown)
        return v->nomem = 1;
    v->gone = grown;
    if (!(v->gone[v->n] = strdup(path)))
        return v->nomem = 1;
    v->n++;
    return 0;
}

/* Step 3: removes entries under the folder roots whose photo no longer exists. */
static fs_status remove_vanished(run *r, const char *const *roots, size_t n_roots, fs_error *err)
{
    fs_status rc = FS_OK;
    for (size_t i = 0; i < n_roots && rc == FS_OK; i++) {
        struct stat sb;
        if (stat(roots[i], &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        vanish_ctx v = {.r = r};
        rc = store_list_folder(r->ix->store, roots[i], find_vanished, &v, err);
        if (rc == FS_OK && v.nomem)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < v.n; k++) {
            int64_t removed = 0;
            if (rc == FS_OK)
                rc = store_remove_path(r->ix->store, v.gone[k], &removed, err);
            r->progress.removed += (size_t)removed;
            free(v.gone[k]);
        }
        free(v.gone);
    }
    return rc;
}

static void free_run(run *r)
{
    for (size_t i = 0; i < r->n_walked; i++)
        free(r->walked[i].path);
    free(r->walked);
    free(r->jobs);
    free(r->later);
    free(r->results);
    free(r->given);
    index_digest_set_free(&r->known);
    index_digest_set_free(&r->seen);
}

fs_status fs_index_update(fs_index *ix, const char *const *roots, size_t n_roots,
                          const fs_index_options *opt, fs_index_progress *summary, fs_error *err)
{
    static const fs_index_options defaults = {0};
    if (!opt)
        opt = &defaults;
    if (!ix->engine)
        return util_fail(err, FS_ERR_ARG, "index opened without a model pack");
    run r = {.ix = ix, .opt = opt, .started = util_now()};
    /* one canonical path per photo (SPEC.md §5): the roots' real paths, and a photo reached
     * twice (links, bind mounts, two roots) walked once */
    char **canon = calloc(n_roots ? n_roots : 1, sizeof *canon);
    index_walk_seen seen = {0};
    char *skip = NULL;
    fs_status rc = canon ? FS_OK : util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK && opt->skip)
        rc = fs_path_canonical(opt->skip, &skip, err);
    index_walk_callbacks cb = {.file = collect, .problem = walk_problem, .ctx = &r, .seen = &seen,
                            .skip = skip};
    for (size_t i = 0; i < n_roots && rc == FS_OK; i++)
        rc = fs_path_canonical(roots[i], &canon[i], err);
    if (rc == FS_OK && opt->photos)
        rc = take_photos(&r, opt->photos, err);
    for (size_t i = 0; i < n_roots && rc == FS_OK && !opt->photos; i++) {
        rc = index_walk(canon[i], opt->include_hidden, &cb, err);
        if (rc == FS_OK && r.walk_nomem)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory listing %s", roots[i]);
    }
    index_walk_seen_free(&seen);
    free(skip);
    if (rc == FS_OK) {
        if (r.n_walked > 1)
            qsort(r.walked, r.n_walked, sizeof *r.walked, by_path);
        /* the same photo reached through two roots counts once */
        size_t kept = 0;
        for (size_t i = 0; i < r.n_walked; i++) {
            if (kept && strcmp(r.walked[kept - 1].path, r.walked[i].path) == 0)
                free(r.walked[i].path);
            else
                r.walked[kept++] = r.walked[i];
        }
        r.n_walked = kept;
        r.progress.total = kept;
        r.jobs = calloc(kept ? kept : 1, sizeof *r.jobs);
        r.later = calloc(kept ? kept : 1, sizeof *r.later);
        if (!r.jobs || !r.later)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    if (rc == FS_OK && (pthread_mutex_init(&r.lock, NULL) || pthread_cond_init(&r.ready, NULL)))
        rc = util_fail(err, FS_ERR_INTERNAL, "cannot create a lock");

    for (size_t i = 0; rc == FS_OK && i < r.n_walked && !stop_requested(&r); i++) {
        rc = classify(&r, &r.walked[i], err);
        report_progress(&r, 0);
    }
    if (rc == FS_OK && r.n_jobs) {
        rc = load_known(&r, err);
        if (rc == FS_OK && index_digest_set_init(&r.seen, r.n_jobs) != 0)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        r.dedup = 1;
    }
    if (rc == FS_OK)
        rc = store_begin(ix->store, err);
    if (rc == FS_OK && r.n_jobs && !stop_requested(&r))
        rc = process_jobs(&r, err);
    if (rc == FS_OK && r.n_later && !stop_requested(&r)) {
        rc = copy_deferred(&r, err); /* leaves the photos whose twin failed as new jobs */
        if (rc == FS_OK && r.n_jobs && !stop_requested(&r))
            rc = process_jobs(&r, err);
    }
    if (rc == FS_OK && !stop_requested(&r))
        rc = remove_vanished(&r, (const char *const *)canon, n_roots, err);
    if (rc == FS_OK)
        rc = store_commit(ix->store, err);
    else
        store_rollback(ix->store);
    if (rc == FS_OK)
        rc = store_sync_vectors(ix->store, err);
    report_progress(&r, 1);
    if (summary)
        *summary = r.progress;
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.ready);
    free_run(&r);
    for (size_t i = 0; canon && i < n_roots; i++)
        free(canon[i]);
    free(canon);
    return rc;
}
