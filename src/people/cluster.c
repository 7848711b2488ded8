/*
 * cluster.c — the two groupings of faces into persons that bench/people.sh compares, over the
 * similarity graph of knn.c, both under the same constraints:
 *   - two faces of one photo never share a group (cannot-link);
 *   - faces fixed to one id (the user's pins, or faces already grouped in an incremental update)
 *     start together and stay together; groups of two different fixed ids never merge;
 *   - a rejected (face, fixed id) pair never ends in one group.
 *
 * PEOPLE_GRAPH: the graph's edges at or above the threshold, labels refined by Chinese whispers
 * (each free face in turn takes the label of greatest summed similarity among its neighbours,
 * among the labels the constraints allow, until nothing changes).
 * PEOPLE_LINKAGE: average-linkage agglomeration over the graph's edges (the average of the
 * similarities observed between two groups), merged by rounds of reciprocal nearest pairs (a
 * pair of groups each other's best partner merges; for average linkage this gives the same
 * result as merging the best pair one at a time), while that average reaches the threshold;
 * cannot-links travel with the groups as edges that forbid their merge.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "people/people.h"
#include "util/error.h"

/* ---- Shared set-up ------------------------------------------------------------------------ */

typedef struct pair64 {
    int64_t a, b;
} pair64;

static int cmp_pair(const void *x, const void *y)
{
    const pair64 *p = x, *q = y;
    if (p->a != q->a)
        return (p->a > q->a) - (p->a < q->a);
    return (p->b > q->b) - (p->b < q->b);
}

typedef struct setup {
    size_t n;
    uint32_t *label;       /* initial label per face */
    int64_t *label_fixed;  /* per label: the fixed id, 0 if free */
    size_t labels;
    uint32_t *photo;       /* dense photo index per face */
    size_t photos;
    pair64 *rejects;       /* (face, fixed id), sorted */
    size_t n_reject;
} setup;

static void setup_free(setup *s)
{
    free(s->label);
    free(s->label_fixed);
    free(s->photo);
    free(s->rejects);
}

static int rejected(const setup *s, size_t face, int64_t fixed)
{
    if (!fixed || !s->n_reject)
        return 0;
    pair64 key = {(int64_t)face, fixed};
    return bsearch(&key, s->rejects, s->n_reject, sizeof key, cmp_pair) != NULL;
}

static fs_status make_setup(const people_problem *p, setup *s, fs_error *err)
{
    memset(s, 0, sizeof *s);
    size_t n = p->n;
    s->n = n;
    pair64 *tmp = malloc((n ? n : 1) * sizeof *tmp);
    s->label = malloc((n ? n : 1) * sizeof *s->label);
    s->label_fixed = calloc(n ? n : 1, sizeof *s->label_fixed);
    s->photo = malloc((n ? n : 1) * sizeof *s->photo);
    s->rejects = malloc((p->n_reject ? p->n_reject : 1) * sizeof *s->rejects);
    if (!tmp || !s->label || !s->label_fixed || !s->photo || !s->rejects) {
        free(tmp);
        setup_free(s);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    /* dense photo numbers */
    for (size_t i = 0; i < n; i++)
        tmp[i] = (pair64){p->photo[i], (int64_t)i};
    qsort(tmp, n, sizeof *tmp, cmp_pair);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && tmp[i].a != tmp[i - 1].a)
            s->photos++;
        s->photo[tmp[i].b] = (uint32_t)s->photos;
    }
    s->photos += n > 0;
    /* labels: one per fixed id, then one per free face */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (p->fixed && p->fixed[i] > 0)
            tmp[m++] = (pair64){p->fixed[i], (int64_t)i};
    qsort(tmp, m, sizeof *tmp, cmp_pair);
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || tmp[i].a != tmp[i - 1].a)
            s->label_fixed[s->labels++] = tmp[i].a;
        s->label[tmp[i].b] = (uint32_t)(s->labels - 1);
    }
    for (size_t i = 0; i < n; i++)
        if (!p->fixed || p->fixed[i] <= 0)
            s->label[i] = (uint32_t)s->labels++;
    free(tmp);
    for (size_t r = 0; r < p->n_reject; r++)
        s->rejects[r] = (pair64){p->reject_face[r], p->reject_id[r]};
    qsort(s->rejects, p->n_reject, sizeof *s->rejects, cmp_pair);
    s->n_reject = p->n_reject;
    return FS_OK;
}

/* ---- (label, photo) counts: an open-addressing hash map -------------------------------------- */

typedef struct lp_map {
    uint64_t *key;   /* label << 32 | photo, + 1 (0 = empty) */
    uint32_t *count;
    size_t cap;      /* a power of two */
} lp_map;

static fs_status lp_init(lp_map *m, size_t n, fs_error *err)
{
    m->cap = 16;
    while (m->cap < 2 * n + 16)
        m->cap *= 2;
    m->key = calloc(m->cap, sizeof *m->key);
    m->count = calloc(m->cap, sizeof *m->count);
    if (!m->key || !m->count) {
        free(m->key);
        free(m->count);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    return FS_OK;
}

/* The slot of (label, photo); with insert, an empty slot is claimed (the map never fills: it
 * holds at most one key per face, and has twice as many slots). */
static size_t lp_slot(lp_map *m, uint32_t label, uint32_t photo, int insert, int *found)
{
    uint64_t k = ((uint64_t)label << 32 | photo) + 1;
    uint64_t h = k * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 17) & (m->cap - 1);
    while (m->key[i] && m->key[i] != k)
        i = (i + 1) & (m->cap - 1);
    *found = m->key[i] == k;
    if (!*found && insert)
        m->key[i] = k;
    return i;
}

static uint32_t lp_get(lp_map *m, uint32_t label, uint32_t photo)
{
    int found;
    size_t i = lp_slot(m, label, photo, 0, &found);
    return found ? m->count[i] : 0;
}

/* Adds delta to the count (a zero count keeps its slot: removal would break probing). */
static void lp_add(lp_map *m, uint32_t label, uint32_t photo, int delta)
{
    int found;
    size_t i = lp_slot(m, label, photo, 1, &found);
    m->count[i] = (uint32_t)((int64_t)m->count[i] + delta);
}

/* ---- Chinese whispers ------------------------------------------------------------------------ */

typedef struct vote {
    uint32_t label;
    float weight;
} vote;

static fs_status whispers(const people_problem *p, setup *s, uint32_t *label, fs_error *err)
{
    size_t n = p->n;
    const people_graph *g = p->graph;
    lp_map m;
    fs_status rc = lp_init(&m, n, err);
    if (rc != FS_OK)
        return rc;
    size_t max_deg = 0;
    for (size_t i = 0; i < n; i++)
        if (g->start[i + 1] - g->start[i] > max_deg)
            max_deg = g->start[i + 1] - g->start[i];
    vote *votes = malloc((max_deg + 1) * sizeof *votes);
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!votes || !order) {
        free(votes);
        free(order);
        free(m.key);
        free(m.count);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        label[i] = s->label[i];
        lp_add(&m, label[i], s->photo[i], 1);
        order[i] = (uint32_t)i;
    }
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 40; round++) {
        for (size_t i = n; i > 1; i--) { /* a fixed-seed shuffle: the same result every run */
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t j = (size_t)(rng % i);
            uint32_t t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        size_t changed = 0;
        for (size_t o = 0; o < n; o++) {
            uint32_t i = order[o];
            if (p->fixed && p->fixed[i] > 0)
                continue;
            size_t nv = 0;
            for (size_t e = g->start[i]; e < g->start[i + 1]; e++) {
                if (g->sim[e] < p->threshold)
                    continue;
                uint32_t l = label[g->nbr[e]];
                size_t v = 0;
                while (v < nv && votes[v].label != l)
                    v++;
                if (v == nv)
                    votes[nv++] = (vote){l, 0.0f};
                votes[v].weight += g->sim[e];
            }
            uint32_t best = label[i];
            float best_w = 0.0f;
            for (size_t v = 0; v < nv; v++) {
                uint32_t l = votes[v].label;
                if (l != label[i] && (lp_get(&m, l, s->photo[i]) > 0 ||
                                      rejected(s, i, s->label_fixed[l])))
                    continue;
                if (votes[v].weight > best_w ||
                    (votes[v].weight == best_w && best_w > 0 && l < best)) {
                    best = l;
                    best_w = votes[v].weight;
                }
            }
            if (best != label[i]) {
                lp_add(&m, label[i], s->photo[i], -1);
                lp_add(&m, best, s->photo[i], 1);
                label[i] = best;
                changed++;
            }
        }
        if (!changed)
            break;
    }
    free(votes);
    free(order);
    free(m.key);
    free(m.count);
    return FS_OK;
}

/* ---- Average linkage ---------------------------------------------------------------------- */

typedef struct link {
    uint32_t a, b;      /* groups, a < b */
    float sum;          /* similarities observed between them */
    uint32_t count;
    uint32_t cannot;    /* cannot-links between them */
} link;

static int cmp_link(const void *x, const void *y)
{
    const link *p = x, *q = y;
    if (p->a != q->a)
        return (p->a > q->a) - (p->a < q->a);
    return (p->b > q->b) - (p->b < q->b);
}

static void add_link(link *l, size_t *n, uint32_t a, uint32_t b, float s, int cannot)
{
    if (a == b)
        return;
    if (a > b) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    l[(*n)++] = (link){a, b, cannot ? 0.0f : s, cannot ? 0u : 1u, cannot ? 1u : 0u};
}

static fs_status linkage(const people_problem *p, setup *s, uint32_t *label, fs_error *err)
{
    size_t n = p->n;
    const people_graph *g = p->graph;
    /* cannot-links: the faces of each photo pairwise, and each reject with the fixed group */
    uint32_t *by_photo = malloc((n ? n : 1) * sizeof *by_photo);
    size_t *photo_start = calloc(s->photos + 1, sizeof *photo_start);
    if (!by_photo || !photo_start) {
        free(by_photo);
        free(photo_start);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        photo_start[s->photo[i] + 1]++;
    for (size_t q = 0; q < s->photos; q++)
        photo_start[q + 1] += photo_start[q];
    size_t pairs = 0;
    for (size_t q = 0; q < s->photos; q++) {
        size_t k = photo_start[q + 1] - photo_start[q];
        pairs += k * (k - 1) / 2;
    }
    {
        size_t *at = malloc((s->photos + 1) * sizeof *at);
        if (!at) {
            free(by_photo);
            free(photo_start);
            return util_fail(err, FS_ERR_NOMEM, "out of memory");
        }
        memcpy(at, photo_start, (s->photos + 1) * sizeof *at);
        for (size_t i = 0; i < n; i++)
            by_photo[at[s->photo[i]]++] = (uint32_t)i;
        free(at);
    }
    size_t cap = g->start[n] / 2 + pairs + s->n_reject + 1, nl = 0;
    link *l = malloc(cap * sizeof *l);
    uint32_t *fixed_label = NULL;
    int64_t *fixed_of = malloc((s->labels ? s->labels : 1) * sizeof *fixed_of);
    uint32_t *best = malloc((s->labels ? s->labels : 1) * sizeof *best);
    float *best_s = malloc((s->labels ? s->labels : 1) * sizeof *best_s);
    uint32_t *merged_to = malloc((s->labels ? s->labels : 1) * sizeof *merged_to);
    fs_status rc = l && fixed_of && best && best_s && merged_to
                       ? FS_OK
                       : util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc != FS_OK)
        goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t e = g->start[i]; e < g->start[i + 1]; e++)
            if (g->nbr[e] > i)
                add_link(l, &nl, s->label[i], s->label[g->nbr[e]], g->sim[e], 0);
    for (size_t q = 0; q < s->photos; q++)
        for (size_t x = photo_start[q]; x < photo_start[q + 1]; x++)
            for (size_t y = x + 1; y < photo_start[q + 1]; y++)
                add_link(l, &nl, s->label[by_photo[x]], s->label[by_photo[y]], 0, 1);
    for (size_t r = 0; r < s->n_reject; r++) {
        /* the fixed id's label, if it has faces in this problem */
        int64_t id = s->rejects[r].b;
        for (size_t q = 0; q < s->labels; q++)
            if (s->label_fixed[q] == id) {
                add_link(l, &nl, s->label[s->rejects[r].a], (uint32_t)q, 0, 1);
                break;
            }
    }
    (void)fixed_label;
    memcpy(fixed_of, s->label_fixed, s->labels * sizeof *fixed_of);
    for (int round = 0; round < 100000; round++) {
        /* aggregate the links of each pair of groups */
        qsort(l, nl, sizeof *l, cmp_link);
        size_t out = 0;
        for (size_t e = 0; e < nl; e++) {
            if (out > 0 && l[out - 1].a == l[e].a && l[out - 1].b == l[e].b) {
                l[out - 1].sum += l[e].sum;
                l[out - 1].count += l[e].count;
                l[out - 1].cannot += l[e].cannot;
            } else {
                l[out++] = l[e];
            }
        }
        nl = out;
        /* each group's best partner */
        for (size_t q = 0; q < s->labels; q++) {
            best[q] = UINT32_MAX;
            best_s[q] = -2.0f;
        }
        for (size_t e = 0; e < nl; e++) {
            const link *k = &l[e];
            if (k->cannot || !k->count)
                continue;
            if (fixed_of[k->a] && fixed_of[k->b] && fixed_of[k->a] != fixed_of[k->b])
                continue;
            float avg = k->sum / (float)k->count;
            if (avg < p->threshold)
                continue;
            if (avg > best_s[k->a] || (avg == best_s[k->a] && k->b < best[k->a]))
                best[k->a] = k->b, best_s[k->a] = avg;
            if (avg > best_s[k->b] || (avg == best_s[k->b] && k->a < best[k->b]))
                best[k->b] = k->a, best_s[k->b] = avg;
        }
        /* merge reciprocal pairs into the smaller label */
        size_t merges = 0;
        for (size_t q = 0; q < s->labels; q++)
            merged_to[q] = (uint32_t)q;
        for (size_t q = 0; q < s->labels; q++) {
            uint32_t b = best[q];
            if (b != UINT32_MAX && b > q && best[b] == q) {
                merged_to[b] = (uint32_t)q;
                if (!fixed_of[q])
                    fixed_of[q] = fixed_of[b];
                merges++;
            }
        }
        if (!merges)
            break;
        for (size_t i = 0; i < n; i++)
            s->label[i] = merged_to[s->label[i]];
        for (size_t e = 0; e < nl; e++) {
            uint32_t a = merged_to[l[e].a], b = merged_to[l[e].b];
            l[e].a = a < b ? a : b;
            l[e].b = a < b ? b : a;
        }
        /* links inside a merged group are spent; a merged pair had no cannot-link */
        out = 0;
        for (size_t e = 0; e < nl; e++)
            if (l[e].a != l[e].b)
                l[out++] = l[e];
            else
                assert(!l[e].cannot);
        nl = out;
    }
    memcpy(label, s->label, n * sizeof *label);
done:
    free(l);
    free(fixed_of);
    free(best);
    free(best_s);
    free(merged_to);
    free(by_photo);
    free(photo_start);
    return rc;
}

/* ---- Entry ------------------------------------------------------------------------------- */

fs_status people_cluster(const people_problem *p, people_algorithm algo, uint32_t *label,
                         size_t *groups, fs_error *err)
{
    *groups = 0;
    if (!p->graph || p->graph->n != p->n)
        return util_fail(err, FS_ERR_ARG, "people: the graph does not match the faces");
    setup s;
    fs_status rc = make_setup(p, &s, err);
    if (rc != FS_OK)
        return rc;
    rc = algo == PEOPLE_GRAPH ? whispers(p, &s, label, err) : linkage(p, &s, label, err);
    if (rc == FS_OK) { /* compact labels to 0 .. groups-1, in order of first face */
        uint32_t *map = malloc((s.labels ? s.labels : 1) * sizeof *map);
        if (!map) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        } else {
            for (size_t q = 0; q < s.labels; q++)
                map[q] = UINT32_MAX;
            size_t next = 0;
            for (size_t i = 0; i < p->n; i++) {
                if (map[label[i]] == UINT32_MAX)
                    map[label[i]] = (uint32_t)next++;
                label[i] = map[label[i]];
            }
            *groups = next;
            free(map);
        }
    }
    setup_free(&s);
    return rc;
}
