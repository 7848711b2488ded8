/*
 * update.c — fs_people_update: groups the faces of the index into persons.
 *
 * A face first meets the user's decisions, found by its photo's content hash and its box (the
 * decision's box overlapping it with IoU >= 0.5: a moved photo, a re-indexed one, a re-detected
 * face): a pin fixes its person, a reject forbids one. Faces of low quality (quality.c) that no
 * pin places are "unsure" and stay out. The rest are grouped (cluster.c) on their similarity
 * graph (knn.c):
 *   - rebuild: every face; a group holding pinned faces is their person, another group of two or
 *     more faces keeps the person most of its faces had (so ids stay put), else is a new person;
 *   - incremental: only the faces no update has seen, with their nearest faces in the index
 *     (found by the vector index) and the other faces of their photos; faces already in a person
 *     are fixed to it, so a new face joins an existing person or forms a new one with other new
 *     or ungrouped faces, and nothing else moves. The first update of a library (no face seen
 *     yet) is a rebuild: the same result, without one vector-index search per face (a 200k-face
 *     library took 527 s that way, bench/people_update_scale.sh).
 * Everything is written in one transaction (a kill leaves the index as before the run).
 */
#include <assert.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_internal.h"
#include "people/people.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/grow.h"

#define NEIGHBOURS 24          /* k of the similarity graph */
#define LINKAGE_FLOOR 0.12f    /* linkage sees edges down to threshold - this */

/* The grouping threshold of a pack, above its search threshold by a margin per algorithm,
 * measured with bench/people.sh for the default pack (search threshold 0.34) on the labelled
 * development set (bbt) and on 100k synthetic faces (subspace64), pairwise precision / recall:
 *   graph   0.42: bbt 0.961/1.00   synthetic 0.993/0.992
 *           0.46: bbt 1.00/1.00    synthetic 0.9997/0.992
 *           0.50: bbt 1.00/0.964   synthetic 1.00/0.992    (the default: precision first)
 *   linkage 0.38: bbt 1.00/1.00    synthetic 0.919/0.996   (identities merged at scale)
 *           0.42: bbt 1.00/0.964   synthetic 0.996/0.996   (its default)
 *           0.46: bbt 1.00/0.892   synthetic 1.00/0.996
 * At a million synthetic faces graph 0.50 keeps precision 1.00 (recall 0.969, 0.83 GB), linkage
 * 0.42 falls to 0.948 (recall 0.985, 1.4 GB): the graph is the default. The same margins apply
 * to the other packs. */
#define GRAPH_MARGIN 0.16f
#define LINKAGE_MARGIN 0.08f

typedef struct node {
    store_people_face f;       /* path not kept */
    int64_t fixed;             /* pinned person, 0 if none */
} node;

typedef struct decisions {
    store_decision *items;
    size_t count, cap;
} decisions;

static int collect_decision(const store_decision *d, void *ctx)
{
    decisions *ds = ctx;
    store_decision *grown = util_grow(ds->items, &ds->cap, ds->count + 1, sizeof *grown, 64);
    if (!grown)
        return 1;
    ds->items = grown;
    ds->items[ds->count++] = *d;
    return 0;
}

static int cmp_decision(const void *a, const void *b)
{
    const store_decision *x = a, *y = b;
    return strcmp(x->sha256, y->sha256);
}

static float iou(const float a[4], const float b[4])
{
    float x1 = a[0] > b[0] ? a[0] : b[0], y1 = a[1] > b[1] ? a[1] : b[1];
    float x2 = a[2] < b[2] ? a[2] : b[2], y2 = a[3] < b[3] ? a[3] : b[3];
    if (x2 <= x1 || y2 <= y1)
        return 0.0f;
    float inter = (x2 - x1) * (y2 - y1);
    float ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return ua > 0 ? inter / ua : 0.0f;
}

/* The decisions about a face: its pinned person (0: none) and the persons it is rejected from
 * (appended to rej, *nrej). Decisions are sorted by sha256 (stable: later ones win). */
static int64_t decisions_of(const decisions *ds, const store_people_face *f, int64_t *rej,
                            size_t *nrej, size_t rej_cap)
{
    *nrej = 0;
    if (!f->sha256[0] || !ds->count)
        return 0;
    store_decision key;
    memset(&key, 0, sizeof key);
    memcpy(key.sha256, f->sha256, sizeof key.sha256);
    size_t lo = 0, hi = ds->count;
    while (lo < hi) { /* first decision with this sha256 */
        size_t mid = (lo + hi) / 2;
        if (strcmp(ds->items[mid].sha256, f->sha256) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int64_t pin = 0;
    float pin_iou = 0.0f;
    for (size_t i = lo; i < ds->count && !strcmp(ds->items[i].sha256, f->sha256); i++) {
        float o = iou(ds->items[i].box, f->box);
        if (o < 0.5f)
            continue;
        if (ds->items[i].kind == STORE_PIN && o >= pin_iou)
            pin = ds->items[i].person_id, pin_iou = o;
        else if (ds->items[i].kind == STORE_REJECT && *nrej < rej_cap)
            rej[(*nrej)++] = ds->items[i].person_id;
    }
    return pin;
}

typedef struct nodes {
    node *items;
    size_t count, cap;
    int failed;
} nodes;

static int collect_node(const store_people_face *f, void *ctx)
{
    nodes *ns = ctx;
    node *grown = util_grow(ns->items, &ns->cap, ns->count + 1, sizeof *grown, 256);
    if (!grown) {
        ns->failed = 1;
        return 1;
    }
    ns->items = grown;
    node *n = &ns->items[ns->count++];
    memset(n, 0, sizeof *n);
    n->f = *f;
    n->f.path = NULL;
    return 0;
}

/* The problem handed to cluster.c: faces (indices into a node array), their vectors, photos,
 * fixed ids and rejects. */
typedef struct problem {
    size_t n;
    size_t *node;              /* node index of each face */
    int64_t *photo, *fixed;
    size_t node_cap, photo_cap, fixed_cap;
    int64_t *reject_face, *reject_id;
    size_t n_reject, face_cap, id_cap;
} problem;

static void problem_free(problem *p)
{
    free(p->node);
    free(p->photo);
    free(p->fixed);
    free(p->reject_face);
    free(p->reject_id);
}

/* Adds node i (not yet in the problem) as the problem's face p->n. */
static fs_status problem_add(problem *p, node *nodes, size_t i, int64_t fixed, fs_error *err)
{
    size_t *nd = util_grow(p->node, &p->node_cap, p->n + 1, sizeof *nd, 1024);
    if (nd)
        p->node = nd;
    int64_t *ph = nd ? util_grow(p->photo, &p->photo_cap, p->n + 1, sizeof *ph, 1024) : NULL;
    if (ph)
        p->photo = ph;
    int64_t *fx = ph ? util_grow(p->fixed, &p->fixed_cap, p->n + 1, sizeof *fx, 1024) : NULL;
    if (!fx)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    p->fixed = fx;
    p->node[p->n] = i;
    p->photo[p->n] = nodes[i].f.file_id;
    p->fixed[p->n] = fixed;
    p->n++;
    return FS_OK;
}

static fs_status problem_reject(problem *p, size_t face, int64_t person, fs_error *err)
{
    int64_t *a = util_grow(p->reject_face, &p->face_cap, p->n_reject + 1, sizeof *a, 64);
    if (a)
        p->reject_face = a;
    int64_t *b = a ? util_grow(p->reject_id, &p->id_cap, p->n_reject + 1, sizeof *b, 64) : NULL;
    if (!b)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    p->reject_id = b;
    p->reject_face[p->n_reject] = (int64_t)face;
    p->reject_id[p->n_reject++] = person;
    return FS_OK;
}

typedef struct run {
    store_db *store;
    float threshold;
    float min_quality;          /* faces below are unsure */
    people_algorithm algo;
    decisions ds;
    nodes ns;
    problem pb;
    int8_t *codes;              /* the problem's vectors (load_vectors) */
    float *scales;
    size_t *slot;               /* node index -> problem index + 1 (0: not in it) */
    fs_people_summary sum;
    void (*on_progress)(const fs_people_progress *p, void *ctx);
    void *ctx;
    double t0;
} run;

/* Reports the run's progress (see fs_people_progress), if anyone listens. */
static void report(const run *r, const char *stage, size_t done, size_t total)
{
    if (!r->on_progress)
        return;
    fs_people_progress p = {stage, done, total, util_now() - r->t0};
    r->on_progress(&p, r->ctx);
}

/* Judges node i: its decisions (n->fixed, and rejects into the problem) and its quality; adds it
 * to the problem when it is to be grouped (good quality, or pinned). */
static fs_status judge(run *r, size_t i, fs_error *err)
{
    node *n = &r->ns.items[i];
    int64_t rej[32];
    size_t nrej;
    n->fixed = decisions_of(&r->ds, &n->f, rej, &nrej, 32);
    n->f.quality = people_quality(&n->f);
    if (!n->fixed && n->f.quality < r->min_quality)
        return FS_OK;
    if (r->slot[i])
        return FS_OK;
    fs_status rc = problem_add(&r->pb, r->ns.items, i, n->fixed, err);
    if (rc != FS_OK)
        return rc;
    r->slot[i] = r->pb.n;
    for (size_t k = 0; k < nrej && rc == FS_OK; k++)
        rc = problem_reject(&r->pb, r->pb.n - 1, rej[k], err);
    return rc;
}

static fs_status grow_slots(run *r, fs_error *err)
{
    size_t *s = realloc(r->slot, (r->ns.count ? r->ns.count : 1) * sizeof *s);
    if (!s)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    r->slot = s;
    return FS_OK;
}

typedef struct id_index {
    int64_t id;
    size_t node;
} id_index;

static int cmp_id_index(const void *a, const void *b)
{
    const id_index *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Loads the vectors of the problem's faces as int8 codes and scales (a quarter of the memory of
 * floats: a million faces take 512 MB). */
static fs_status load_vectors(run *r, fs_error *err)
{
    size_t n = r->pb.n, dim = (size_t)store_dim(r->store), chunk = 1024;
    int64_t *ids = malloc(chunk * sizeof *ids);
    float *tmp = malloc(chunk * dim * sizeof *tmp);
    r->codes = malloc((n ? n : 1) * dim);
    r->scales = malloc((n ? n : 1) * sizeof *r->scales);
    fs_status rc = ids && tmp && r->codes && r->scales
                       ? FS_OK
                       : util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t at = 0; rc == FS_OK && at < n; at += chunk) {
        size_t k = n - at < chunk ? n - at : chunk;
        for (size_t i = 0; i < k; i++)
            ids[i] = r->ns.items[r->pb.node[at + i]].f.face_id;
        rc = store_embeddings(r->store, ids, k, tmp, err);
        for (size_t i = 0; rc == FS_OK && i < k; i++)
            people_quantise(tmp + i * dim, (int)dim, r->codes + (at + i) * dim,
                            &r->scales[at + i]);
    }
    free(ids);
    free(tmp);
    return rc;
}

typedef struct vote {
    int64_t person;
    size_t count;
} vote;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_pair64(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0])
        return (x[0] > y[0]) - (x[0] < y[0]);
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Turns groups into persons and writes every judged node. used[] marks old person ids taken. */
static fs_status write_groups(run *r, const uint32_t *label, size_t groups, int rebuild,
                              fs_error *err)
{
    size_t n = r->pb.n;
    int64_t *person = calloc(groups ? groups : 1, sizeof *person);
    size_t *size = calloc(groups ? groups : 1, sizeof *size);
    int64_t *taken = malloc((groups ? groups : 1) * sizeof *taken);
    size_t ntaken = 0;
    fs_status rc = person && size && taken ? FS_OK
                                           : util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == FS_OK && i < n; i++) {
        size[label[i]]++;
        if (r->pb.fixed[i] > 0) {
            assert(!person[label[i]] || person[label[i]] == r->pb.fixed[i]);
            person[label[i]] = r->pb.fixed[i];
        }
    }
    for (size_t g = 0; rc == FS_OK && g < groups; g++)
        if (person[g])
            taken[ntaken++] = person[g];
    if (rc == FS_OK && rebuild) {
        /* groups without pins keep the old person most of their faces had, if free */
        int64_t *old = malloc((n ? n : 1) * sizeof *old);
        size_t *start = calloc(groups + 1, sizeof *start);
        size_t *at = malloc((groups + 1) * sizeof *at);
        /* (group, person) pairs a member rejects: that person is not the group's */
        int64_t *rej = malloc((r->pb.n_reject ? r->pb.n_reject : 1) * 2 * sizeof *rej);
        if (!old || !start || !at || !rej) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        } else {
            for (size_t k = 0; k < r->pb.n_reject; k++) {
                rej[2 * k] = (int64_t)label[r->pb.reject_face[k]];
                rej[2 * k + 1] = r->pb.reject_id[k];
            }
            qsort(rej, r->pb.n_reject, 2 * sizeof *rej, cmp_pair64);
            for (size_t i = 0; i < n; i++)
                start[label[i] + 1]++;
            for (size_t g = 0; g < groups; g++)
                start[g + 1] += start[g];
            memcpy(at, start, (groups + 1) * sizeof *at);
            for (size_t i = 0; i < n; i++)
                old[at[label[i]]++] = r->ns.items[r->pb.node[i]].f.person_id;
            qsort(taken, ntaken, sizeof *taken, cmp_i64);
            for (size_t g = 0; g < groups; g++) {
                if (person[g] || size[g] < 2)
                    continue;
                int64_t *o = old + start[g];
                size_t len = start[g + 1] - start[g];
                qsort(o, len, sizeof *o, cmp_i64);
                int64_t best = 0;
                size_t best_n = 0;
                for (size_t a = 0, b; a < len; a = b) {
                    for (b = a; b < len && o[b] == o[a]; b++)
                        ;
                    int64_t key[2] = {(int64_t)g, o[a]};
                    if (o[a] > 0 && b - a > best_n &&
                        !bsearch(&o[a], taken, ntaken, sizeof *taken, cmp_i64) &&
                        !bsearch(key, rej, r->pb.n_reject, 2 * sizeof *rej, cmp_pair64))
                        best = o[a], best_n = b - a;
                }
                if (best && 2 * best_n > len) {
                    person[g] = best;
                    /* keep taken sorted: insert */
                    size_t k = ntaken++;
                    while (k > 0 && taken[k - 1] > best) {
                        taken[k] = taken[k - 1];
                        k--;
                    }
                    taken[k] = best;
                }
            }
        }
        free(old);
        free(start);
        free(at);
        free(rej);
    }
    for (size_t g = 0; rc == FS_OK && g < groups; g++)
        if (!person[g] && size[g] >= 2) {
            rc = store_person_new(r->store, NULL, &person[g], err);
            r->sum.new_people += rc == FS_OK;
        }
    /* every judged node: its person (or none) */
    report(r, "writing", 0, r->ns.count);
    for (size_t i = 0; rc == FS_OK && i < r->ns.count; i++) {
        node *nd = &r->ns.items[i];
        if (i % 4096 == 4095)
            report(r, "writing", i, r->ns.count);
        if (!r->slot[i] && nd->f.seen && !rebuild)
            continue; /* a neighbour looked at, not touched */
        int64_t p = 0;
        if (r->slot[i]) {
            size_t g = label[r->slot[i] - 1];
            if (size[g] >= 2 || person[g])
                p = person[g];
        }
        if (nd->f.seen && nd->f.person_id == p && nd->f.pinned == (nd->fixed > 0) && !rebuild)
            continue; /* unchanged rows are not rewritten */
        rc = store_people_set(r->store, nd->f.face_id, p, nd->f.quality, nd->fixed > 0, err);
        r->sum.faces++;
        r->sum.grouped += p > 0;
        r->sum.unsure += !r->slot[i];
    }
    free(person);
    free(size);
    free(taken);
    return rc;
}

static fs_status group_problem(run *r, int rebuild, fs_error *err)
{
    size_t n = r->pb.n;
    report(r, "grouping", 0, 0);
    fs_status rc = load_vectors(r, err);
    people_graph g;
    memset(&g, 0, sizeof g);
    uint32_t *label = malloc((n ? n : 1) * sizeof *label);
    if (rc == FS_OK && !label)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    float floor = r->algo == PEOPLE_LINKAGE ? r->threshold - LINKAGE_FLOOR : r->threshold;
    /* incremental: only faces that may move need their neighbours (fixed ones get reverse
     * edges) */
    uint8_t *query = rebuild ? NULL : malloc(n ? n : 1);
    if (rc == FS_OK && !rebuild && !query)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; query && i < n; i++)
        query[i] = r->pb.fixed[i] <= 0;
    people_vecs v = {n, store_dim(r->store), NULL, r->codes, r->scales};
    if (rc == FS_OK)
        rc = people_knn(&v, NEIGHBOURS, floor, query, &g, err);
    free(query);
    size_t groups = 0;
    if (rc == FS_OK) {
        people_problem p = {n, &g, r->pb.photo, r->pb.fixed, r->pb.reject_face,
                            r->pb.reject_id, r->pb.n_reject, r->threshold};
        rc = people_cluster(&p, r->algo, label, &groups, err);
    }
    if (rc == FS_OK)
        rc = write_groups(r, label, groups, rebuild, err);
    people_graph_free(&g);
    free(label);
    return rc;
}

#define SEARCH_CHUNK 256 /* queries searched at once (their vectors and hits held together) */

/* The ids of the nearest faces of the problem's first nq faces (NEIGHBOURS + 1 each, above the
 * graph's floor), in no order, with repeats: *ids malloc'd (NULL when *nid is 0). The searches
 * run on every core, SEARCH_CHUNK at a time. */
static fs_status search_neighbours(run *r, size_t nq, int64_t **ids, size_t *nid, fs_error *err)
{
    size_t dim = (size_t)store_dim(r->store), idcap = 0;
    float floor = r->algo == PEOPLE_LINKAGE ? r->threshold - LINKAGE_FLOOR : r->threshold;
    int64_t *qid = malloc(SEARCH_CHUNK * sizeof *qid);
    float *vec = malloc(SEARCH_CHUNK * dim * sizeof *vec);
    store_hit **hits = calloc(SEARCH_CHUNK, sizeof *hits);
    size_t *nh = calloc(SEARCH_CHUNK, sizeof *nh);
    fs_status rc = qid && vec && hits && nh ? FS_OK
                                             : util_fail(err, FS_ERR_NOMEM, "out of memory");
    *ids = NULL;
    *nid = 0;
    report(r, "neighbours", 0, nq);
    for (size_t at = 0; rc == FS_OK && at < nq; at += SEARCH_CHUNK) {
        size_t k = nq - at < SEARCH_CHUNK ? nq - at : SEARCH_CHUNK;
        for (size_t i = 0; i < k; i++)
            qid[i] = r->ns.items[r->pb.node[at + i]].f.face_id;
        store_query sq = {NULL, NEIGHBOURS + 1, floor, NULL, 0, 0, omp_get_max_threads()};
        rc = store_embeddings(r->store, qid, k, vec, err);
        if (rc == FS_OK)
            rc = store_search_batch(r->store, &sq, vec, k, hits, nh, err);
        for (size_t i = 0; i < k; i++) {
            int64_t *grown = rc == FS_OK ? util_grow(*ids, &idcap, *nid + nh[i] + 1,
                                                     sizeof *grown, 1024)
                                         : NULL;
            if (rc == FS_OK && !grown)
                rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
            if (grown)
                *ids = grown;
            for (size_t h = 0; rc == FS_OK && h < nh[i]; h++)
                (*ids)[(*nid)++] = hits[i][h].face_id;
            free(hits[i]);
            hits[i] = NULL;
        }
        report(r, "neighbours", at + k, nq);
    }
    free(qid);
    free(vec);
    free(hits);
    free(nh);
    return rc;
}

/* Incremental: the unseen faces, their neighbours and the other faces of their photos. */
static fs_status gather_neighbourhoods(run *r, fs_error *err)
{
    size_t unseen = r->ns.count;
    fs_status rc = FS_OK;
    /* the other faces of their photos (cannot-links with persons already there) */
    for (size_t i = 0; i < unseen && rc == FS_OK; i++) {
        if (i > 0 && r->ns.items[i].f.file_id == r->ns.items[i - 1].f.file_id)
            continue;
        size_t before = r->ns.count;
        rc = store_people_faces_of_file(r->store, r->ns.items[i].f.file_id, collect_node, &r->ns,
                                        err);
        if (rc == FS_OK && r->ns.failed)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        /* drop the ones already present (the unseen faces of this photo) */
        size_t out = before;
        for (size_t k = before; k < r->ns.count; k++) {
            int dup = !r->ns.items[k].f.seen;
            if (!dup)
                r->ns.items[out++] = r->ns.items[k];
        }
        r->ns.count = out;
    }
    if (rc == FS_OK)
        rc = grow_slots(r, err);
    for (size_t i = unseen; rc == FS_OK && i < r->ns.count; i++)
        r->slot[i] = 0;
    /* the new faces to group, and their nearest faces */
    for (size_t i = 0; i < unseen && rc == FS_OK; i++)
        rc = judge(r, i, err);
    /* their nearest faces, each looked up once */
    size_t new_in_problem = r->pb.n, nid = 0;
    int64_t *ids = NULL;
    if (rc == FS_OK)
        rc = search_neighbours(r, new_in_problem, &ids, &nid, err);
    id_index *known = malloc((r->ns.count ? r->ns.count : 1) * sizeof *known);
    if (rc == FS_OK && !known)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    size_t nknown = rc == FS_OK ? r->ns.count : 0;
    for (size_t i = 0; i < nknown; i++)
        known[i] = (id_index){r->ns.items[i].f.face_id, i};
    if (rc == FS_OK) {
        qsort(known, nknown, sizeof *known, cmp_id_index);
        if (nid) /* ids is NULL when no search found anything */
            qsort(ids, nid, sizeof *ids, cmp_i64);
    }
    size_t fresh = 0; /* the ids not known yet, each once */
    for (size_t h = 0; rc == FS_OK && h < nid; h++) {
        id_index key = {ids[h], 0};
        if ((h > 0 && ids[h] == ids[h - 1]) ||
            bsearch(&key, known, nknown, sizeof key, cmp_id_index))
            continue; /* a new face, or a face of their photos */
        ids[fresh++] = ids[h];
    }
    size_t before = r->ns.count;
    if (rc == FS_OK)
        rc = store_people_faces_by_ids(r->store, ids, fresh, collect_node, &r->ns, err);
    if (rc == FS_OK && r->ns.failed)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK)
        rc = grow_slots(r, err);
    for (size_t k = before; rc == FS_OK && k < r->ns.count; k++) {
        store_people_face *f = &r->ns.items[k].f;
        r->slot[k] = 0;
        if (!f->seen || (f->person_id <= 0 && f->quality < r->min_quality))
            continue; /* unseen ones are all in the run; unsure ones stay out */
        if (f->person_id > 0) { /* in a person: fixed to it */
            rc = problem_add(&r->pb, r->ns.items, k, f->person_id, err);
            if (rc == FS_OK)
                r->slot[k] = r->pb.n;
        } else { /* ungrouped: free, with its decisions */
            rc = judge(r, k, err);
        }
    }
    free(known);
    free(ids);
    /* the faces of the same photos already in a person join as fixed nodes */
    for (size_t i = unseen; rc == FS_OK && i < r->ns.count; i++) {
        node *nd = &r->ns.items[i];
        if (r->slot[i] || nd->f.person_id <= 0)
            continue;
        rc = problem_add(&r->pb, r->ns.items, i, nd->f.person_id, err);
        if (rc == FS_OK)
            r->slot[i] = r->pb.n;
    }
    return rc;
}

fs_status people_update(store_db *store, people_algorithm algo, float threshold,
                        float min_quality, int rebuild, fs_people_summary *summary,
                        fs_error *err)
{
    return people_update_reporting(store, algo, threshold, min_quality, rebuild, NULL, NULL,
                                   summary, err);
}

fs_status people_update_reporting(store_db *store, people_algorithm algo, float threshold,
                                  float min_quality, int rebuild,
                                  void (*on_progress)(const fs_people_progress *p, void *ctx),
                                  void *ctx, fs_people_summary *summary, fs_error *err)
{
    double t0 = util_now();
    if (summary)
        memset(summary, 0, sizeof *summary);
    if (!(threshold > 0 && threshold <= 1))
        return util_fail(err, FS_ERR_ARG, "people: the threshold must be in (0, 1]");
    run r;
    memset(&r, 0, sizeof r);
    r.store = store;
    r.algo = algo;
    r.threshold = threshold;
    r.min_quality = min_quality;
    r.on_progress = on_progress;
    r.ctx = ctx;
    r.t0 = t0;
    report(&r, "loading", 0, 0);
    fs_status rc = store_begin(r.store, err);
    if (rc != FS_OK)
        return rc;
    int any_seen = 1;
    if (!rebuild && (rc = store_people_any_seen(r.store, &any_seen, err)) != FS_OK) {
        store_rollback(r.store);
        return rc;
    }
    rebuild = rebuild || !any_seen;
    rc = store_decisions(r.store, NULL, collect_decision, &r.ds, err);
    if (rc == FS_OK && r.ds.count && !r.ds.items)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK) /* stable: decisions of one photo stay in the order made */
        for (size_t i = 1; i < r.ds.count; i++)
            for (size_t j = i; j > 0 && cmp_decision(&r.ds.items[j - 1], &r.ds.items[j]) > 0;
                 j--) {
                store_decision t = r.ds.items[j];
                r.ds.items[j] = r.ds.items[j - 1];
                r.ds.items[j - 1] = t;
            }
    if (rc == FS_OK)
        rc = store_people_faces(r.store, !rebuild, collect_node, &r.ns, err);
    if (rc == FS_OK && r.ns.failed)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    report(&r, "loading", r.ns.count, r.ns.count);
    if (rc == FS_OK)
        rc = grow_slots(&r, err);
    if (rc == FS_OK)
        memset(r.slot, 0, (r.ns.count ? r.ns.count : 1) * sizeof *r.slot);
    if (rc == FS_OK && rebuild) {
        for (size_t i = 0; i < r.ns.count && rc == FS_OK; i++)
            rc = judge(&r, i, err);
    } else if (rc == FS_OK) {
        rc = gather_neighbourhoods(&r, err);
    }
    if (rc == FS_OK && r.ns.count)
        rc = group_problem(&r, rebuild, err);
    if (rc == FS_OK)
        rc = store_people_prune(r.store, NULL, err);
    if (rc == FS_OK)
        rc = store_commit(r.store, err);
    if (rc != FS_OK)
        store_rollback(r.store);
    if (rc == FS_OK && summary) {
        r.sum.seconds = util_now() - t0;
        int64_t people = 0;
        rc = store_people_count(r.store, &people, err);
        r.sum.people = (size_t)people;
        *summary = r.sum;
    }
    free(r.ds.items);
    free(r.ns.items);
    problem_free(&r.pb);
    free(r.codes);
    free(r.scales);
    free(r.slot);
    return rc;
}

fs_status fs_people_update(fs_index *ix, const fs_people_options *opt,
                           fs_people_summary *summary, fs_error *err)
{
    fs_people_options def = {0, FS_PEOPLE_GRAPH, 0.0f, 0.0f, NULL, NULL};
    if (!opt)
        opt = &def;
    if (summary)
        memset(summary, 0, sizeof *summary);
    if (!ix->engine)
        return util_fail(err, FS_ERR_ARG, "grouping people needs the index's model pack");
    if (!(opt->threshold >= 0 && opt->threshold <= 1) || !(opt->min_quality <= 1) ||
        (opt->algorithm != FS_PEOPLE_GRAPH && opt->algorithm != FS_PEOPLE_LINKAGE))
        return util_fail(err, FS_ERR_ARG,
                         "people: bad options (threshold in [0, 1], min quality at most 1)");
    people_algorithm algo = opt->algorithm == FS_PEOPLE_LINKAGE ? PEOPLE_LINKAGE : PEOPLE_GRAPH;
    float threshold = opt->threshold > 0 ? opt->threshold
                                         : people_default_threshold(
                                               fs_pack_threshold(fs_engine_pack(ix->engine)),
                                               algo);
    float min_quality = opt->min_quality == 0 ? PEOPLE_MIN_QUALITY
                        : opt->min_quality < 0 ? 0.0f
                                               : opt->min_quality;
    return people_update_reporting(ix->store, algo, threshold, min_quality, opt->rebuild,
                                   opt->on_progress, opt->ctx, summary, err);
}

float people_default_threshold(float search_threshold, people_algorithm algo)
{
    return search_threshold + (algo == PEOPLE_LINKAGE ? LINKAGE_MARGIN : GRAPH_MARGIN);
}
