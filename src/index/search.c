/*
 * search.c — indexed search (fs_index_search): every query face against the index's vectors
 * (exact scan or graph, store/), the folders restricted to their canonical paths and the folders
 * their links lead to, one row per face (its best similarity over the query faces), then ranked.
 */
#include "index/index_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/matches.h"
#include "index/walk.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/paths.h"

/* ---- Search, removal, stats ---------------------------------------------------------------- */

typedef struct link_targets {
    char **folders;         /* the search's folders, then the link targets added */
    size_t count, capacity;
    int nomem;
} link_targets;

/* A folder a link leads to, unless already covered by one of the folders. */
static void add_link_target(const char *real, void *ctx)
{
    link_targets *t = ctx;
    size_t len = strlen(real);
    for (size_t i = 0; i < t->count; i++) {
        size_t n = strlen(t->folders[i]);
        if (strncmp(real, t->folders[i], n) == 0 && (real[n] == '\0' || real[n] == '/' ||
                                                      (n == 1 && t->folders[i][0] == '/')))
            return;
    }
    if (t->nomem)
        return;
    char **grown = util_grow(t->folders, &t->capacity, t->count + 1, sizeof *grown, 8);
    if (!grown) {
        t->nomem = 1;
        return;
    }
    t->folders = grown;
    if (!(t->folders[t->count] = malloc(len + 1))) {
        t->nomem = 1;
        return;
    }
    memcpy(t->folders[t->count++], real, len + 1);
}

/* Hits by face id, then best similarity first. */
static int by_face_then_similarity(const void *pa, const void *pb)
{
    const store_hit *a = pa, *b = pb;
    if (a->face_id != b->face_id)
        return a->face_id < b->face_id ? -1 : 1;
    return (a->similarity < b->similarity) - (a->similarity > b->similarity);
}

typedef struct fill_ctx {
    const store_hit *hits; /* one per face, by face id */
    size_t n_hits;
    int min_face;
    size_t dim;               /* floats of an embedding in this index */
    fs_matches *out;
    int nomem;
} fill_ctx;

/* A face row fetched for a hit: becomes a match unless smaller than the size filter. */
static int fill_match(const store_face *f, const char *path, void *ctx)
{
    fill_ctx *fc = ctx;
    size_t lo = 0, hi = fc->n_hits;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fc->hits[mid].face_id < f->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == fc->n_hits || fc->hits[lo].face_id != f->id)
        return 0;
    if (f->box[2] - f->box[0] < (float)fc->min_face || f->box[3] - f->box[1] < (float)fc->min_face)
        return 0;
    fs_match *m = &fc->out->items[fc->out->count];
    if (!(m->path = strdup(path))) {
        fc->nomem = 1;
        return 1;
    }
    memcpy(m->face.box, f->box, sizeof f->box);
    memcpy(m->face.landmarks, f->landmarks, sizeof f->landmarks);
    memcpy(m->face.embedding, f->embedding, fc->dim * sizeof *f->embedding);
    m->face.score = f->score;
    m->face.quality = index_face_quality(f->quality, f->score, f->box, f->landmarks);
    m->face_number = f->face_index + 1;
    m->similarity = fc->hits[lo].similarity;
    m->photo_id = f->file_id;
    m->face_id = f->id;
    fc->out->count++;
    return 0;
}

/* One pass of a search: the hits of every query face (at most k each; 0 = all), one row per
 * face with its best similarity, the rows fetched into out (faces under min_face dropped).
 * *raw gets the number of faces hit before the size filter. */
static fs_status search_pass(fs_index *ix, const fs_face *query, size_t n_query, char **canon,
                             size_t n_folders, float threshold, size_t k, int min_face,
                             fs_matches *out, size_t *raw, fs_error *err)
{
    fs_status rc = FS_OK;
    store_hit *all = NULL;
    size_t n_all = 0;
    for (size_t q = 0; q < n_query && rc == FS_OK; q++) {
        store_query sq = {.embedding = query[q].embedding, .top_k = k, .threshold = threshold,
                          .folders = (const char *const *)canon, .folder_count = n_folders,
                          .exact = 0}; /* the graph of a large library, if it has one */
        store_hit *hits;
        size_t n;
        rc = store_search(ix->store, &sq, &hits, &n, err);
        if (rc)
            break;
        store_hit *grown = n ? realloc(all, (n_all + n) * sizeof *grown) : all;
        if (n && !grown) {
            free(hits);
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            break;
        }
        all = grown;
        if (n)
            memcpy(all + n_all, hits, n * sizeof *hits);
        n_all += n;
        free(hits);
    }
    /* one row per face, with its best similarity over the query faces: sorted by face id (best
     * first within a face), the first of each run kept */
    size_t n_faces = 0;
    if (n_all > 1)
        qsort(all, n_all, sizeof *all, by_face_then_similarity);
    for (size_t i = 0; i < n_all; i++)
        if (n_faces == 0 || all[n_faces - 1].face_id != all[i].face_id)
            all[n_faces++] = all[i];
    *raw = n_faces;
    int64_t *ids = n_faces ? malloc(n_faces * sizeof *ids) : NULL;
    if (rc == FS_OK && n_faces) {
        out->items = calloc(n_faces, sizeof *out->items);
        if (!out->items || !ids)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    if (rc == FS_OK && n_faces) {
        for (size_t i = 0; i < n_faces; i++)
            ids[i] = all[i].face_id;
        fill_ctx fc = {.hits = all, .n_hits = n_faces, .min_face = min_face,
                       .dim = (size_t)store_dim(ix->store), .out = out};
        rc = store_faces_by_ids(ix->store, ids, n_faces, 1, fill_match, &fc, err);
        if (rc == FS_OK && fc.nomem)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    free(ids);
    free(all);
    return rc;
}

static fs_status search(fs_index *ix, const fs_face *query, size_t n_query,
                        const char *const *folders, size_t n_folders, int follow_links,
                        float threshold, size_t top, int min_face, fs_matches *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    if (n_query == 0)
        return util_fail(err, FS_ERR_ARG, "no query face");
    /* the folders as the index spells its paths (SPEC.md §5) */
    char **canon = n_folders ? calloc(n_folders, sizeof *canon) : NULL;
    if (n_folders && !canon)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    fs_status rc = FS_OK;
    for (size_t i = 0; i < n_folders && rc == FS_OK; i++)
        rc = fs_path_canonical(folders[i], &canon[i], err);
    /* a folder's photos include those reached through its links, known by real paths that may
     * lie outside it: the folders those links lead to are searched too */
    link_targets targets = {.folders = canon, .count = n_folders, .capacity = n_folders};
    index_walk_seen seen = {0};
    index_walk_callbacks cb = {.link_dir = add_link_target, .ctx = &targets, .seen = &seen};
    for (size_t i = 0; i < n_folders && rc == FS_OK && follow_links; i++) {
        struct stat sb;
        if (stat(canon[i], &sb) == 0 && S_ISDIR(sb.st_mode))
            rc = index_walk(canon[i], 1, &cb, err);
        if (rc == FS_OK && targets.nomem)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    index_walk_seen_free(&seen);
    canon = targets.folders;
    n_folders = targets.count;
    /* One query face and a top: its top faces only (the graph of a large library). With a size
     * filter, a few times more are asked for and filtered (at least 50: the graph's breadth for
     * 50 is that of a top 10); only if too few are left is every hit read (an exact scan), so
     * that the top faces are those the filter keeps. */
    size_t raw = 0;
    if (rc == FS_OK && n_query == 1 && top > 0) {
        size_t k = min_face > 0 ? (top < 13 ? 50 : top * 4) : top;
        rc = search_pass(ix, query, n_query, canon, n_folders, threshold, k, min_face, out, &raw,
                         err);
        if (rc == FS_OK && min_face > 0 && out->count < top && raw == k) {
            fs_matches_free(out);
            rc = search_pass(ix, query, n_query, canon, n_folders, threshold, 0, min_face, out,
                             &raw, err);
        }
    } else if (rc == FS_OK) {
        rc = search_pass(ix, query, n_query, canon, n_folders, threshold, 0, min_face, out, &raw,
                         err);
    }
    for (size_t i = 0; i < n_folders; i++)
        free(canon[i]);
    free(canon);
    if (rc) {
        fs_matches_free(out);
        return rc;
    }
    index_matches_rank(out, top);
    return FS_OK;
}

fs_status fs_index_search(fs_index *ix, const fs_face *query, size_t n_query,
                          const char *const *folders, size_t n_folders, float threshold, size_t top,
                          int min_face, fs_matches *out, fs_error *err)
{
    return search(ix, query, n_query, folders, n_folders, 1, threshold, top, min_face, out, err);
}

fs_status fs_index_search_within(fs_index *ix, const fs_face *query, size_t n_query,
                                 const char *const *folders, size_t n_folders, float threshold,
                                 size_t top, int min_face, fs_matches *out, fs_error *err)
{
    return search(ix, query, n_query, folders, n_folders, 0, threshold, top, min_face, out, err);
}
