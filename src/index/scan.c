/*
 * scan.c — searching folders on the fly (search --no-index): walk, then a pool of workers runs
 * the pipeline on the photos and keeps the faces similar to the query. Nothing is written.
 *
 * The walk comes first (a list of paths), so that workers share a simple cursor; each worker has
 * its own fs_worker (planned networks) and appends matches under one mutex.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/matches.h"
#include "index/walk.h"
#include "util/error.h"
#include "util/grow.h"

typedef struct path_list {
    char **paths;
    size_t count, capacity;
    int out_of_memory;
} path_list;

typedef struct scan {
    fs_engine *engine;
    const fs_face *query;
    size_t n_query;
    const fs_scan_options *opt;
    path_list list;
    size_t next;                /* cursor into list, under lock */
    int threads_each;           /* inference threads of each worker */
    pthread_mutex_t lock;
    fs_matches *out;
    size_t capacity;
    fs_status failure;          /* first fatal error (out of memory), under lock */
    fs_error failure_err;
} scan;

static int collect(const char *path, const struct stat *st, void *ctx)
{
    (void)st;
    path_list *l = &((scan *)ctx)->list;
    char **grown = util_grow(l->paths, &l->capacity, l->count + 1, sizeof *grown, 256);
    if (!grown) {
        l->out_of_memory = 1;
        return 1;
    }
    l->paths = grown;
    if (!(l->paths[l->count] = strdup(path))) {
        l->out_of_memory = 1;
        return 1;
    }
    l->count++;
    return 0;
}

static void report(scan *s, const char *message)
{
    if (s->opt->on_problem)
        s->opt->on_problem(message, s->opt->ctx);
}

static void walk_problem(const char *message, void *ctx)
{
    scan *s = ctx;
    report(s, message);
}

/* --min-size, applied after detection so that indexed and on-the-fly searches agree. */
static int too_small(const fs_face *f, int min_face)
{
    return f->box[2] - f->box[0] < (float)min_face || f->box[3] - f->box[1] < (float)min_face;
}

static size_t count_kept(const fs_faces *faces, int min_face)
{
    size_t n = 0;
    for (size_t i = 0; i < faces->count; i++)
        n += !too_small(&faces->faces[i], min_face);
    return n;
}

/* Appends the matching faces of one photo; called under the lock. */
static fs_status keep_matches(scan *s, const char *path, const fs_faces *faces)
{
    for (size_t i = 0; i < faces->count; i++) {
        if (too_small(&faces->faces[i], s->opt->min_face))
            continue;
        float best = -2;
        for (size_t q = 0; q < s->n_query; q++) {
            float sim = fs_similarity(&faces->faces[i], &s->query[q]);
            if (sim > best)
                best = sim;
        }
        if (best < s->opt->threshold)
            continue;
        fs_match *grown = util_grow(s->out->items, &s->capacity, s->out->count + 1, sizeof *grown, 64);
        if (!grown)
            return util_fail(&s->failure_err, FS_ERR_NOMEM, "out of memory for matches");
        s->out->items = grown;
        fs_match *m = &s->out->items[s->out->count];
        if (!(m->path = strdup(path)))
            return util_fail(&s->failure_err, FS_ERR_NOMEM, "out of memory for matches");
        m->face_number = (int)i + 1;
        m->face = faces->faces[i];
        m->similarity = best;
        s->out->count++;
    }
    return FS_OK;
}

static void *work(void *arg)
{
    scan *s = arg;
    fs_worker *w;
    fs_error err;
    if (fs_worker_new(s->engine, s->threads_each, &w, &err) != FS_OK) {
        pthread_mutex_lock(&s->lock);
        if (!s->failure) {
            s->failure = err.code;
            s->failure_err = err;
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&s->lock);
        size_t i = s->failure ? s->list.count : s->next++;
        pthread_mutex_unlock(&s->lock);
        if (i >= s->list.count)
            break;
        const char *path = s->list.paths[i];
        fs_faces faces;
        fs_status st = fs_detect_file(w, path, 1, &faces, &err);
        pthread_mutex_lock(&s->lock);
        if (st == FS_ERR_NOMEM && !s->failure) {
            s->failure = st;
            s->failure_err = err;
        } else if (st != FS_OK) {
            s->out->files_failed++;
            report(s, err.message);
        } else {
            if (faces.warnings & FS_WARN_JPEG_NO_END) {
                char msg[sizeof err.message];
                snprintf(msg, sizeof msg,
                         "%s: warning: JPEG end marker missing, decoded what is present", path);
                report(s, msg);
            }
            s->out->files++;
            s->out->faces += count_kept(&faces, s->opt->min_face);
            fs_status kept = keep_matches(s, path, &faces);
            if (kept && !s->failure)
                s->failure = kept;
        }
        pthread_mutex_unlock(&s->lock);
        if (st == FS_OK)
            fs_faces_free(&faces);
    }
    fs_worker_free(w);
    return NULL;
}

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

fs_status fs_search_folders(fs_engine *engine, const fs_face *query, size_t n_query,
                            const char *const *roots, size_t n_roots, const fs_scan_options *opt,
                            fs_matches *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    if (n_query == 0)
        return util_fail(err, FS_ERR_ARG, "no query face");
    scan s = {.engine = engine, .query = query, .n_query = n_query, .opt = opt, .out = out};
    /* each photo once, by its canonical path, however many roots or links lead to it */
    index_walk_seen seen = {0};
    char *skip = NULL;
    fs_status rc = opt->skip ? fs_path_canonical(opt->skip, &skip, err) : FS_OK;
    if (rc != FS_OK)
        return rc;
    const index_walk_callbacks cb = {.file = collect, .problem = walk_problem, .ctx = &s,
                                  .seen = &seen, .skip = skip};
    for (size_t r = 0; r < n_roots && rc == FS_OK; r++) {
        rc = index_walk(roots[r], opt->include_hidden, &cb, err);
        if (rc == FS_OK && s.list.out_of_memory)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory listing %s", roots[r]);
    }
    index_walk_seen_free(&seen);
    free(skip);
    int wanted = opt->workers > 0 ? opt->workers : default_workers();
    int n = wanted;
    if ((size_t)n > s.list.count)
        n = s.list.count ? (int)s.list.count : 1;
    pthread_t threads[64];
    if (n > 64)
        n = 64;
    /* a photo per worker, one thread each; fewer photos than threads: the rest inside each */
    s.threads_each = wanted / n;
    if (rc == FS_OK && pthread_mutex_init(&s.lock, NULL) != 0)
        rc = util_fail(err, FS_ERR_INTERNAL, "cannot create a lock");
    if (rc == FS_OK) {
        int started = 0;
        for (int i = 1; i < n; i++) {
            if (pthread_create(&threads[started], NULL, work, &s) != 0)
                break;
            started++;
        }
        work(&s); /* this thread works too */
        for (int i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
        pthread_mutex_destroy(&s.lock);
        if (s.failure)
            rc = util_fail(err, s.failure, "%s", s.failure_err.message);
    }
    for (size_t i = 0; i < s.list.count; i++)
        free(s.list.paths[i]);
    free(s.list.paths);
    if (rc != FS_OK) {
        fs_matches_free(out);
        return rc;
    }
    index_matches_rank(out, opt->top);
    return FS_OK;
}
