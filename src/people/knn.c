/*
 * knn.c — the similarity graph the groupings work on: for each face, its k most similar faces
 * with similarity >= floor, made symmetric.
 *
 * Similarities are computed block by block as matrix products (oneDNN's sgemm, threaded), which
 * runs at tens of GFLOP/s where a dot product per pair would not. Up to PEOPLE_KNN_EXACT_MAX
 * faces every pair is compared (exact). Above, the faces are split into cells around centres
 * (one k-means step from evenly spaced faces) and the faces of a cell are compared with the
 * faces of the PROBE cells whose centres are nearest to its own: a face's neighbours of the same
 * person lie close to it, hence in its own or a neighbouring cell, and the work drops from n^2 to
 * about n * PROBE * n / cells. bench/people.sh measures the groupings it yields against the exact
 * graph's.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "people/people.h"
#include "util/error.h"

#define ROW_BLOCK 256     /* rows per product */
#define COL_BLOCK 8192    /* columns per product (bounds the product buffer) */
#define CELL_SIZE 512     /* faces per cell, on average */
#define PROBE 6           /* cells searched per cell */
#define SPREAD 2          /* cells each face is filed in (its nearest ones) */

typedef struct cand {
    float s;
    uint32_t j;
} cand;

/* Per row: a min-heap of its best k candidates. */
typedef struct topk {
    size_t k;
    cand *c;          /* n * k */
    uint32_t *count;  /* n */
} topk;

static void heap_push(cand *h, uint32_t *count, size_t k, float s, uint32_t j)
{
    size_t n = *count;
    if (n == k) {
        if (s <= h[0].s)
            return;
        /* replace the root and sift down */
        size_t i = 0;
        for (;;) {
            size_t l = 2 * i + 1, r = l + 1, m = i;
            float ms = s;
            if (l < n && h[l].s < ms)
                m = l, ms = h[l].s;
            if (r < n && h[r].s < ms)
                m = r;
            if (m == i)
                break;
            h[i] = h[m];
            i = m;
        }
        h[i].s = s;
        h[i].j = j;
        return;
    }
    size_t i = n;
    while (i > 0 && h[(i - 1) / 2].s > s) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i].s = s;
    h[i].j = j;
    *count = (uint32_t)(n + 1);
}

/* C (rows x cols) = A (rows x dim) * B (cols x dim)^T, row-major. */
static fs_status product(const float *a, size_t rows, const float *b, size_t cols, int dim,
                         float *c, fs_error *err)
{
    dnnl_status_t st = dnnl_sgemm('N', 'T', (dnnl_dim_t)rows, (dnnl_dim_t)cols, dim, 1.0f, a, dim,
                                  b, dim, 0.0f, c, (dnnl_dim_t)cols);
    if (st != dnnl_success)
        return util_fail(err, st == dnnl_out_of_memory ? FS_ERR_NOMEM : FS_ERR_INTERNAL,
                         "similarity product failed (oneDNN status %d)", (int)st);
    return FS_OK;
}

/* Offers the rows x cols similarities in c (row r is face row_id[r] or row0 + r, column q is
 * face col_id[q] or col0 + q) to the rows' heaps. */
static void offer(topk *t, const float *c, size_t rows, size_t cols, const uint32_t *row_id,
                  size_t row0, const uint32_t *col_id, size_t col0, float floor)
{
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t r = 0; r < rows; r++) {
        uint32_t i = row_id ? row_id[r] : (uint32_t)(row0 + r);
        const float *cr = c + r * cols;
        cand *h = t->c + (size_t)i * t->k;
        for (size_t q = 0; q < cols; q++) {
            float s = cr[q];
            if (s < floor)
                continue;
            uint32_t j = col_id ? col_id[q] : (uint32_t)(col0 + q);
            if (j != i)
                heap_push(h, &t->count[i], t->k, s, j);
        }
    }
}

/* Rows: the faces whose neighbours are computed (all, or those with query[i] set). */
static fs_status exact_pass(const float *vecs, size_t n, int dim, const uint8_t *query,
                            float floor, topk *t, fs_error *err)
{
    size_t cols_max = n < COL_BLOCK ? n : COL_BLOCK;
    float *c = malloc(ROW_BLOCK * cols_max * sizeof *c);
    float *a = query ? malloc(ROW_BLOCK * (size_t)dim * sizeof *a) : NULL;
    uint32_t *row_id = query ? malloc(ROW_BLOCK * sizeof *row_id) : NULL;
    if (!c || (query && (!a || !row_id))) {
        free(c);
        free(a);
        free(row_id);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    fs_status rc = FS_OK;
    size_t next = 0; /* with query: the next face to look at */
    for (size_t r0 = 0; r0 < n && rc == FS_OK; r0 += ROW_BLOCK) {
        size_t rows = n - r0 < ROW_BLOCK ? n - r0 : ROW_BLOCK;
        const float *block = vecs + r0 * (size_t)dim;
        if (query) { /* gather the next ROW_BLOCK query faces */
            rows = 0;
            for (; next < n && rows < ROW_BLOCK; next++)
                if (query[next]) {
                    row_id[rows] = (uint32_t)next;
                    memcpy(a + rows * (size_t)dim, vecs + next * (size_t)dim,
                           (size_t)dim * sizeof(float));
                    rows++;
                }
            if (!rows)
                break;
            block = a;
        }
        for (size_t c0 = 0; c0 < n && rc == FS_OK; c0 += COL_BLOCK) {
            size_t cols = n - c0 < COL_BLOCK ? n - c0 : COL_BLOCK;
            rc = product(block, rows, vecs + c0 * (size_t)dim, cols, dim, c, err);
            if (rc == FS_OK)
                offer(t, c, rows, cols, query ? row_id : NULL, r0, NULL, c0, floor);
        }
    }
    free(c);
    free(a);
    free(row_id);
    return rc;
}

static void normalise(float *v, int dim)
{
    double s = 0;
    for (int d = 0; d < dim; d++)
        s += (double)v[d] * v[d];
    float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
    for (int d = 0; d < dim; d++)
        v[d] *= inv;
}

/* cell[i * spread ..] = the spread centres nearest to face i, nearest first. */
static fs_status assign_cells(const people_vecs *v, const float *centres, size_t cells,
                              size_t spread, uint32_t *cell, fs_error *err)
{
    size_t n = v->n;
    int dim = v->dim;
    float *c = malloc(ROW_BLOCK * cells * sizeof *c);
    float *a = malloc(ROW_BLOCK * (size_t)dim * sizeof *a);
    if (!c || !a) {
        free(c);
        free(a);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    fs_status rc = FS_OK;
    for (size_t r0 = 0; r0 < n && rc == FS_OK; r0 += ROW_BLOCK) {
        size_t rows = n - r0 < ROW_BLOCK ? n - r0 : ROW_BLOCK;
        for (size_t r = 0; r < rows; r++)
            people_vecs_row(v, r0 + r, a + r * (size_t)dim);
        rc = product(a, rows, centres, cells, dim, c, err);
        if (rc != FS_OK)
            break;
#pragma omp parallel for
        for (size_t r = 0; r < rows; r++) {
            const float *cr = c + r * cells;
            cand h[SPREAD];
            uint32_t hn = 0;
            for (size_t q = 0; q < cells; q++)
                heap_push(h, &hn, spread, cr[q], (uint32_t)q);
            /* the heap's root is the farthest: order nearest first */
            for (uint32_t x = 0; x < hn; x++)
                for (uint32_t y = x + 1; y < hn; y++)
                    if (h[y].s > h[x].s) {
                        cand t = h[x];
                        h[x] = h[y];
                        h[y] = t;
                    }
            for (uint32_t x = 0; x < hn; x++)
                cell[(r0 + r) * spread + x] = h[x].j;
        }
    }
    free(c);
    free(a);
    return rc;
}

typedef struct cells {
    size_t count;
    float *centre;     /* count * dim */
    uint32_t *home;    /* n: each face's nearest cell */
    size_t *start;     /* count + 1 */
    uint32_t *member;  /* n * SPREAD: the faces filed in each cell, grouped by cell */
} cells;

static fs_status make_cells(const people_vecs *v, cells *out, fs_error *err)
{
    size_t n = v->n;
    int dim = v->dim;
    size_t count = n / CELL_SIZE + 1, spread = count < SPREAD ? count : SPREAD;
    uint32_t *cell = malloc(n * SPREAD * sizeof *cell);
    out->count = count;
    out->centre = malloc(count * (size_t)dim * sizeof(float));
    out->start = calloc(count + 1, sizeof *out->start);
    out->member = malloc(n * spread * sizeof *out->member);
    out->home = malloc(n * sizeof *out->home);
    if (!cell || !out->centre || !out->start || !out->member || !out->home) {
        free(cell);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    for (size_t c = 0; c < count; c++) /* evenly spaced faces as first centres */
        people_vecs_row(v, c * (n / count), out->centre + c * (size_t)dim);
    fs_status rc = assign_cells(v, out->centre, count, 1, cell, err);
    float *row = rc == FS_OK ? malloc((size_t)dim * sizeof *row) : NULL;
    if (rc == FS_OK && !row)
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK) { /* one k-means step: centres to the mean of their faces */
        memset(out->centre, 0, count * (size_t)dim * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            float *c = out->centre + (size_t)cell[i] * dim;
            people_vecs_row(v, i, row);
            for (int d = 0; d < dim; d++)
                c[d] += row[d];
        }
        for (size_t c = 0; c < count; c++)
            normalise(out->centre + c * (size_t)dim, dim);
        rc = assign_cells(v, out->centre, count, spread, cell, err);
    }
    free(row);
    if (rc == FS_OK) {
        for (size_t i = 0; i < n; i++) {
            out->home[i] = cell[i * spread];
            for (size_t a = 0; a < spread; a++)
                out->start[cell[i * spread + a] + 1]++;
        }
        for (size_t c = 0; c < count; c++)
            out->start[c + 1] += out->start[c];
        size_t *at = malloc(count * sizeof *at);
        if (!at) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        } else {
            memcpy(at, out->start, count * sizeof *at);
            for (size_t i = 0; i < n; i++)
                for (size_t a = 0; a < spread; a++)
                    out->member[at[cell[i * spread + a]]++] = (uint32_t)i;
            free(at);
        }
    }
    free(cell);
    return rc;
}

static void free_cells(cells *c)
{
    free(c->home);
    free(c->centre);
    free(c->start);
    free(c->member);
}

/* The PROBE (or fewer) cells nearest to each cell, itself first: near[c * PROBE ..]. */
static fs_status near_cells(const cells *cs, int dim, uint32_t *near, size_t *probe,
                            fs_error *err)
{
    size_t count = cs->count, p = count < PROBE ? count : PROBE;
    float *c = malloc(count * count * sizeof *c);
    if (!c)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    fs_status rc = product(cs->centre, count, cs->centre, count, dim, c, err);
    if (rc == FS_OK) {
        for (size_t a = 0; a < count; a++) {
            cand h[PROBE];
            uint32_t hn = 0;
            for (size_t b = 0; b < count; b++)
                heap_push(h, &hn, p, b == a ? 2.0f : c[a * count + b], (uint32_t)b);
            for (size_t q = 0; q < hn; q++)
                near[a * p + q] = h[q].j;
        }
        *probe = p;
    }
    free(c);
    return rc;
}

static fs_status cell_pass(const people_vecs *v, float floor, topk *t, fs_error *err)
{
    size_t n = v->n;
    int dim = v->dim;
    cells cs = {0};
    fs_status rc = make_cells(v, &cs, err);
    uint32_t *near = NULL, *rows_id = NULL, *cols_id = NULL, *stamp = NULL;
    size_t *home_start = NULL, *home_face = NULL;
    float *a = NULL, *b = NULL, *c = NULL;
    size_t probe = 0;
    if (rc == FS_OK && (!(near = malloc(cs.count * PROBE * sizeof *near)) ||
                        !(stamp = malloc(n * sizeof *stamp)) ||
                        !(home_start = calloc(cs.count + 1, sizeof *home_start)) ||
                        !(home_face = malloc(n * sizeof *home_face))))
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    if (rc == FS_OK)
        rc = near_cells(&cs, dim, near, &probe, err);
    if (rc == FS_OK) { /* the faces of each home cell */
        for (size_t i = 0; i < n; i++) {
            home_start[cs.home[i] + 1]++;
            stamp[i] = UINT32_MAX;
        }
        for (size_t q = 0; q < cs.count; q++)
            home_start[q + 1] += home_start[q];
        size_t *at = malloc(cs.count * sizeof *at);
        if (!at) {
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        } else {
            memcpy(at, home_start, cs.count * sizeof *at);
            for (size_t i = 0; i < n; i++)
                home_face[at[cs.home[i]]++] = i;
            free(at);
        }
    }
    size_t max_rows = 0, max_cols = 0;
    for (size_t q = 0; rc == FS_OK && q < cs.count; q++) {
        if (home_start[q + 1] - home_start[q] > max_rows)
            max_rows = home_start[q + 1] - home_start[q];
        size_t cols = 0;
        for (size_t p = 0; p < probe; p++) {
            uint32_t other = near[q * probe + p];
            cols += cs.start[other + 1] - cs.start[other];
        }
        if (cols > max_cols)
            max_cols = cols;
    }
    if (max_rows > ROW_BLOCK) /* a cell's faces go ROW_BLOCK at a time */
        max_rows = ROW_BLOCK;
    if (rc == FS_OK &&
        (!(a = malloc((max_rows ? max_rows : 1) * (size_t)dim * sizeof *a)) ||
         !(b = malloc((max_cols ? max_cols : 1) * (size_t)dim * sizeof *b)) ||
         !(c = malloc((max_rows ? max_rows : 1) * (max_cols ? max_cols : 1) * sizeof *c)) ||
         !(rows_id = malloc((max_rows ? max_rows : 1) * sizeof *rows_id)) ||
         !(cols_id = malloc((max_cols ? max_cols : 1) * sizeof *cols_id))))
        rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t q = 0; rc == FS_OK && q < cs.count; q++) {
        size_t in_cell = home_start[q + 1] - home_start[q], cols = 0;
        if (!in_cell)
            continue;
        for (size_t p = 0; p < probe; p++) {
            uint32_t other = near[q * probe + p];
            for (size_t m = cs.start[other]; m < cs.start[other + 1]; m++) {
                uint32_t j = cs.member[m];
                if (stamp[j] == q) /* filed in two of the probed cells */
                    continue;
                stamp[j] = (uint32_t)q;
                cols_id[cols] = j;
                people_vecs_row(v, j, b + cols * (size_t)dim);
                cols++;
            }
        }
        for (size_t r0 = 0; rc == FS_OK && r0 < in_cell; r0 += ROW_BLOCK) {
            size_t rows = in_cell - r0 < ROW_BLOCK ? in_cell - r0 : ROW_BLOCK;
            for (size_t r = 0; r < rows; r++) {
                rows_id[r] = (uint32_t)home_face[home_start[q] + r0 + r];
                people_vecs_row(v, rows_id[r], a + r * (size_t)dim);
            }
            rc = product(a, rows, b, cols, dim, c, err);
            if (rc == FS_OK)
                offer(t, c, rows, cols, rows_id, 0, cols_id, 0, floor);
        }
    }
    free(a);
    free(b);
    free(c);
    free(rows_id);
    free(cols_id);
    free(near);
    free(stamp);
    free(home_start);
    free(home_face);
    free_cells(&cs);
    return rc;
}

void people_graph_free(people_graph *g)
{
    if (!g)
        return;
    free(g->start);
    free(g->nbr);
    free(g->sim);
    memset(g, 0, sizeof *g);
}

static int by_nbr(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return (x->j > y->j) - (x->j < y->j);
}

/* The symmetric graph of the heaps' directed edges, each neighbour once. Frees the heaps (t->c)
 * as soon as they are copied, to keep the peak memory low. */
static fs_status symmetric(topk *t, size_t n, people_graph *g, fs_error *err)
{
    size_t *deg = calloc(n + 1, sizeof *deg);
    if (!deg)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    size_t edges = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t e = 0; e < t->count[i]; e++) {
            deg[i]++;
            deg[t->c[i * t->k + e].j]++;
            edges += 2;
        }
    cand *all = malloc((edges ? edges : 1) * sizeof *all);
    size_t *at = malloc((n + 1) * sizeof *at);
    g->start = calloc(n + 1, sizeof *g->start);
    if (!all || !at || !g->start) {
        free(deg);
        free(all);
        free(at);
        people_graph_free(g);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    at[0] = 0;
    for (size_t i = 0; i < n; i++)
        at[i + 1] = at[i] + deg[i];
    memcpy(deg, at, (n + 1) * sizeof *at); /* deg becomes the start of each run */
    for (size_t i = 0; i < n; i++)
        for (uint32_t e = 0; e < t->count[i]; e++) {
            cand c = t->c[i * t->k + e];
            all[at[i]++] = c;
            all[at[c.j]++] = (cand){c.s, (uint32_t)i};
        }
    free(t->c);
    t->c = NULL;
    /* sort each run by neighbour and drop duplicates, compacting in place */
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        cand *run = all + deg[i];
        size_t len = deg[i + 1] - deg[i];
        qsort(run, len, sizeof *run, by_nbr);
        g->start[i] = out;
        for (size_t e = 0; e < len; e++)
            if (e == 0 || run[e].j != run[e - 1].j)
                all[out++] = run[e];
    }
    g->start[n] = out;
    free(deg);
    free(at);
    g->n = n;
    g->nbr = malloc((out ? out : 1) * sizeof *g->nbr);
    if (!g->nbr) {
        free(all);
        people_graph_free(g);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    /* the similarities are written over the edges, front to back: sim[e] lies in bytes that
     * edges 0..e have left */
    float *sim = (float *)(void *)all;
    for (size_t e = 0; e < out; e++) {
        cand c = all[e];
        g->nbr[e] = c.j;
        sim[e] = c.s;
    }
    float *shrunk = realloc(sim, (out ? out : 1) * sizeof *sim);
    g->sim = shrunk ? shrunk : sim;
    return FS_OK;
}

void people_vecs_row(const people_vecs *v, size_t i, float *out)
{
    assert(i < v->n);
    if (v->f32) {
        memcpy(out, v->f32 + i * (size_t)v->dim, (size_t)v->dim * sizeof *out);
        return;
    }
    const int8_t *code = v->i8 + i * (size_t)v->dim;
    float scale = v->scale[i];
    for (int d = 0; d < v->dim; d++)
        out[d] = (float)code[d] * scale;
}

void people_quantise(const float *x, int dim, int8_t *code, float *scale)
{
    float m = 0.0f;
    for (int d = 0; d < dim; d++)
        m = fabsf(x[d]) > m ? fabsf(x[d]) : m;
    *scale = m > 0 ? m / 127.0f : 1.0f;
    float inv = 1.0f / *scale;
    for (int d = 0; d < dim; d++)
        code[d] = (int8_t)lrintf(x[d] * inv);
}

fs_status people_knn(const people_vecs *v, size_t k, float floor, const uint8_t *query,
                     people_graph *g, fs_error *err)
{
    memset(g, 0, sizeof *g);
    size_t n = v->n;
    int dim = v->dim;
    if (n > UINT32_MAX || k == 0 || dim < 1 || (n && !v->f32 && (!v->i8 || !v->scale)))
        return util_fail(err, FS_ERR_ARG, "people: bad similarity graph size");
    topk t = {k, malloc((n ? n : 1) * k * sizeof(cand)), calloc(n ? n : 1, sizeof(uint32_t))};
    fs_status rc = t.c && t.count ? FS_OK : util_fail(err, FS_ERR_NOMEM, "out of memory");
    int exact = n <= PEOPLE_KNN_EXACT_MAX || query;
    float *decoded = NULL; /* the exact pass multiplies whole blocks: fp32 rows */
    if (rc == FS_OK && n > 0 && exact && !v->f32) {
        if (!(decoded = malloc(n * (size_t)dim * sizeof *decoded)))
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory");
        for (size_t i = 0; decoded && i < n; i++)
            people_vecs_row(v, i, decoded + i * (size_t)dim);
    }
    if (rc == FS_OK && n > 0)
        rc = exact ? exact_pass(v->f32 ? v->f32 : decoded, n, dim, query, floor, &t, err)
                   : cell_pass(v, floor, &t, err);
    free(decoded);
    if (rc == FS_OK)
        rc = symmetric(&t, n, g, err);
    free(t.c);
    free(t.count);
    return rc;
}
