/*
 * test_people_cluster.c — the pure parts of people (src/people/): the quality score, the
 * similarity graph (exact and cell-probed, against a brute force) and both groupings with their
 * constraints: faces of one photo apart, fixed ids together and apart, rejects honoured.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "people/people.h"

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static float gauss(uint64_t *s)
{
    double u1 = ((double)(rng(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = ((double)(rng(s) >> 11) + 0.5) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static void normalise(float *v, int dim)
{
    double n = 0;
    for (int d = 0; d < dim; d++)
        n += (double)v[d] * v[d];
    for (int d = 0; d < dim; d++)
        v[d] = (float)(v[d] / sqrt(n));
}

/* n faces of dim around ids identities (face i of identity i % ids), noise sd. */
static float *faces_new(size_t n, int dim, size_t ids, float noise, uint64_t seed)
{
    float *c = malloc(ids * (size_t)dim * sizeof *c), *v = malloc(n * (size_t)dim * sizeof *v);
    assert_non_null(c);
    assert_non_null(v);
    for (size_t i = 0; i < ids * (size_t)dim; i++)
        c[i] = gauss(&seed);
    for (size_t i = 0; i < ids; i++)
        normalise(c + i * (size_t)dim, dim);
    for (size_t i = 0; i < n; i++) {
        for (int d = 0; d < dim; d++)
            v[i * (size_t)dim + d] = c[(i % ids) * (size_t)dim + d] + noise * gauss(&seed);
        normalise(v + i * (size_t)dim, dim);
    }
    free(c);
    return v;
}

/* people_knn on fp32 rows */
static fs_status knn(const float *v, size_t n, int dim, size_t k, float floor,
                     const uint8_t *query, people_graph *g, fs_error *err)
{
    people_vecs pv = {n, dim, v, NULL, NULL};
    return people_knn(&pv, k, floor, query, g, err);
}

/* ---- quality ------------------------------------------------------------------------------ */

/* people_quality of a face row with this stored quality (< 0: not measured) */
static float quality_of(float stored, float score, const float box[4], const float lm[10])
{
    store_people_face f;
    memset(&f, 0, sizeof f);
    f.face_quality = stored;
    f.score = score;
    memcpy(f.box, box, sizeof f.box);
    memcpy(f.landmarks, lm, sizeof f.landmarks);
    return people_quality(&f);
}

static void test_quality(void **state)
{
    (void)state;
    float box[4] = {100, 100, 200, 220};
    float lm[10] = {130, 140, 170, 140, 150, 165, 135, 190, 165, 190};
    /* measured by the pipeline: taken as stored, whatever the row holds */
    assert_true(quality_of(0.25f, 0.99f, box, lm) == 0.25f);
    assert_true(quality_of(0.0f, 0.99f, box, lm) == 0.0f);
    assert_true(quality_of(0.9f, 0.1f, box, lm) == 0.9f);
    /* not measured (indexed before qualities were stored): from the row, without sharpness */
    assert_true(quality_of(-1.0f, 0.99f, box, lm) == 1.0f);
    /* low detector score */
    assert_true(quality_of(-1.0f, 0.55f, box, lm) < PEOPLE_MIN_QUALITY);
    /* tiny: 20 px */
    float tiny[4] = {100, 100, 120, 124};
    float tiny_lm[10] = {106, 108, 114, 108, 110, 113, 107, 118, 113, 118};
    assert_true(quality_of(-1.0f, 0.99f, tiny, tiny_lm) < PEOPLE_MIN_QUALITY);
    /* a landmark far outside the box: not a face's layout */
    float out[10] = {130, 140, 170, 140, 150, 165, 135, 190, 400, 190};
    assert_true(quality_of(-1.0f, 0.99f, box, out) == 0.0f);
    /* eyes and mouth squeezed together (an eye detected as a face) */
    float squeezed[10] = {148, 150, 152, 150, 150, 152, 149, 154, 151, 154};
    assert_true(quality_of(-1.0f, 0.99f, box, squeezed) < PEOPLE_MIN_QUALITY);
    /* turned away: the nose at the right eye (a profile) */
    float profile[10] = {130, 140, 170, 140, 172, 165, 150, 190, 170, 190};
    assert_true(quality_of(-1.0f, 0.99f, box, profile) < PEOPLE_MIN_QUALITY);
    /* an empty box */
    float empty[4] = {100, 100, 100, 150};
    assert_true(quality_of(-1.0f, 0.99f, empty, lm) == 0.0f);
}

/* ---- the similarity graph ----------------------------------------------------------------- */

static int has_edge(const people_graph *g, size_t i, size_t j)
{
    for (size_t e = g->start[i]; e < g->start[i + 1]; e++)
        if (g->nbr[e] == j)
            return 1;
    return 0;
}

/* Symmetric, no self-edge, similarities at or above the floor and correct; returns the share
 * of the brute force's top-k (above the floor) found. */
static double check_graph_tol(const people_graph *g, const float *v, size_t n, int dim,
                              size_t k, float floor, float tol)
{
    size_t want = 0, found = 0;
    float *s = malloc(n * sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        for (size_t e = g->start[i]; e < g->start[i + 1]; e++) {
            size_t j = g->nbr[e];
            assert_true(j != i);
            assert_true(g->sim[e] >= floor);
            assert_true(has_edge(g, j, i));
            float dot = 0;
            for (int d = 0; d < dim; d++)
                dot += v[i * (size_t)dim + d] * v[j * (size_t)dim + d];
            assert_true(fabsf(dot - g->sim[e]) < tol);
        }
        if (i % 194) /* brute force on a sample of the faces (even ones) */
            continue;
        for (size_t j = 0; j < n; j++) {
            float dot = 0;
            for (int d = 0; d < dim; d++)
                dot += v[i * (size_t)dim + d] * v[j * (size_t)dim + d];
            s[j] = j == i ? -2.0f : dot;
        }
        for (size_t r = 0; r < k; r++) { /* the r-th best */
            size_t best = 0;
            for (size_t j = 1; j < n; j++)
                if (s[j] > s[best])
                    best = j;
            if (s[best] < floor)
                break;
            want++;
            found += has_edge(g, i, best);
            s[best] = -2.0f;
        }
    }
    free(s);
    return want ? (double)found / (double)want : 1.0;
}

static double check_graph(const people_graph *g, const float *v, size_t n, int dim, size_t k,
                          float floor)
{
    return check_graph_tol(g, v, n, dim, k, floor, 1e-3f);
}

static void test_knn_exact(void **state)
{
    (void)state;
    size_t n = 600;
    float *v = faces_new(n, 32, 60, 0.15f, 7);
    people_graph g;
    fs_error err;
    assert_int_equal(knn(v, n, 32, 8, 0.3f, NULL, &g, &err), FS_OK);
    assert_int_equal(g.n, n);
    assert_true(check_graph(&g, v, n, 32, 8, 0.3f) == 1.0);
    people_graph_free(&g);
    /* only the even faces queried: their edges are all there, odd faces have reverse ones */
    uint8_t *query = malloc(n);
    assert_non_null(query);
    for (size_t i = 0; i < n; i++)
        query[i] = i % 2 == 0;
    assert_int_equal(knn(v, n, 32, 8, 0.3f, query, &g, &err), FS_OK);
    for (size_t i = 1; i < n; i += 2)
        for (size_t e = g.start[i]; e < g.start[i + 1]; e++)
            assert_int_equal(g.nbr[e] % 2, 0);
    assert_true(check_graph(&g, v, n, 32, 8, 0.3f) == 1.0); /* samples i % 97 == 0: even */
    people_graph_free(&g);
    free(query);
    /* no face: an empty graph */
    assert_int_equal(knn(v, 0, 32, 8, 0.3f, NULL, &g, &err), FS_OK);
    assert_int_equal(g.n, 0);
    people_graph_free(&g);
    assert_int_equal(knn(v, n, 32, 0, 0.3f, NULL, &g, &err), FS_ERR_ARG);
    free(v);
}

static void test_knn_cells(void **state)
{
    (void)state;
    size_t n = PEOPLE_KNN_EXACT_MAX + 2000;
    float *v = faces_new(n, 64, n / 10, 0.04f, 11);
    people_graph g;
    fs_error err;
    assert_int_equal(knn(v, n, 64, 8, 0.6f, NULL, &g, &err), FS_OK);
    double recall = check_graph(&g, v, n, 64, 8, 0.6f);
    print_message("cell-probed graph: recall of the exact top 8 %.4f\n", recall);
    people_graph_free(&g);
    /* the same from int8 codes: similarities within quantisation error, about as many edges */
    int8_t *codes = malloc(n * 64);
    float *scales = malloc(n * sizeof *scales), row[64];
    assert_non_null(codes);
    assert_non_null(scales);
    for (size_t i = 0; i < n; i++)
        people_quantise(v + i * 64, 64, codes + i * 64, &scales[i]);
    people_vecs pv = {n, 64, NULL, codes, scales};
    people_vecs_row(&pv, 5, row);
    for (int d = 0; d < 64; d++)
        assert_true(fabsf(row[d] - v[5 * 64 + d]) <= scales[5] * 0.5f + 1e-6f);
    people_graph gq;
    assert_int_equal(people_knn(&pv, 8, 0.6f, NULL, &gq, &err), FS_OK);
    /* similarities within the codes' error; edges near the floor may differ */
    double rq = check_graph_tol(&gq, v, n, 64, 8, 0.6f, 0.02f);
    print_message("from int8 codes: recall %.4f\n", rq);
    assert_true(rq > 0.9);
    people_graph_free(&gq);
    free(codes);
    free(scales);
    assert_int_equal(knn(v, n, 64, 8, 0.6f, NULL, &g, &err), FS_OK);
    /* iso identities: the worst case (bench/people.sh: grouping recall 0.99 on face-like ones) */
    assert_true(recall > 0.9);
    people_graph_free(&g);
    free(v);
}

/* ---- groupings ---------------------------------------------------------------------------- */

static const people_algorithm ALGOS[] = {PEOPLE_GRAPH, PEOPLE_LINKAGE};

static void test_groups_identities(void **state)
{
    (void)state;
    size_t n = 400, ids = 40;
    float *v = faces_new(n, 64, ids, 0.08f, 3);
    int64_t *photo = malloc(n * sizeof *photo);
    uint32_t *label = malloc(n * sizeof *label);
    assert_non_null(photo);
    assert_non_null(label);
    for (size_t i = 0; i < n; i++)
        photo[i] = (int64_t)i;
    people_graph g;
    fs_error err;
    assert_int_equal(knn(v, n, 64, 16, 0.3f, NULL, &g, &err), FS_OK);
    for (int a = 0; a < 2; a++) {
        people_problem p = {n, &g, photo, NULL, NULL, NULL, 0, 0.5f};
        size_t groups;
        assert_int_equal(people_cluster(&p, ALGOS[a], label, &groups, &err), FS_OK);
        assert_int_equal(groups, ids);
        for (size_t i = 0; i < n; i++) /* same identity, same group, and only then */
            assert_int_equal(label[i], label[i % ids]);
        for (size_t i = 0; i < ids; i++)
            for (size_t j = i + 1; j < ids; j++)
                assert_true(label[i] != label[j]);
    }
    people_graph_free(&g);
    free(v);
    free(photo);
    free(label);
}

/* Two identical faces in each photo: never grouped together, whatever the similarity. */
static void test_cannot_link(void **state)
{
    (void)state;
    size_t n = 12;
    float *v = faces_new(n, 16, 1, 0.0f, 5); /* all the same vector */
    int64_t photo[12];
    uint32_t label[12];
    for (size_t i = 0; i < n; i++)
        photo[i] = (int64_t)(i / 2); /* 6 photos of 2 faces */
    people_graph g;
    fs_error err;
    assert_int_equal(knn(v, n, 16, 16, 0.3f, NULL, &g, &err), FS_OK);
    for (int a = 0; a < 2; a++) {
        people_problem p = {n, &g, photo, NULL, NULL, NULL, 0, 0.5f};
        size_t groups;
        assert_int_equal(people_cluster(&p, ALGOS[a], label, &groups, &err), FS_OK);
        for (size_t i = 0; i < n; i += 2)
            assert_true(label[i] != label[i + 1]);
        assert_true(groups >= 2);
    }
    people_graph_free(&g);
    free(v);
}

/* Fixed ids: faces fixed to one id stay together even when unlike; two ids never merge even
 * when alike; a free face joins the fixed group it resembles unless rejected from it. */
static void test_fixed_and_rejects(void **state)
{
    (void)state;
    size_t n = 8;
    float *v = faces_new(n, 16, 2, 0.02f, 9); /* identity A: even faces, B: odd faces */
    int64_t photo[8], fixed[8] = {0};
    uint32_t label[8];
    for (size_t i = 0; i < n; i++)
        photo[i] = (int64_t)i;
    fixed[0] = 100; /* A */
    fixed[2] = 200; /* also A, but another person: never with 100 */
    fixed[1] = 100; /* B fixed into 100: with face 0 although unlike */
    int64_t reject_face[] = {4}, reject_id[] = {100};
    people_graph g;
    fs_error err;
    assert_int_equal(knn(v, n, 16, 16, -1.0f, NULL, &g, &err), FS_OK);
    for (int a = 0; a < 2; a++) {
        people_problem p = {n, &g, photo, fixed, reject_face, reject_id, 1, 0.5f};
        size_t groups;
        assert_int_equal(people_cluster(&p, ALGOS[a], label, &groups, &err), FS_OK);
        assert_int_equal(label[0], label[1]);
        assert_true(label[0] != label[2]);
        assert_true(label[4] != label[0]); /* rejected from 100 */
        /* face 6 (A, free) is grouped with A faces only: 100, 200 or the other free A face */
        assert_true(label[6] == label[0] || label[6] == label[2] || label[6] == label[4]);
        assert_true(label[6] != label[3] && label[6] != label[5] && label[6] != label[7]);
    }
    people_graph_free(&g);
    free(v);
}

static void test_bad_problem(void **state)
{
    (void)state;
    people_graph g = {0};
    uint32_t label[1];
    size_t groups;
    fs_error err;
    people_problem p = {1, &g, NULL, NULL, NULL, NULL, 0, 0.5f};
    assert_int_equal(people_cluster(&p, PEOPLE_GRAPH, label, &groups, &err), FS_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quality),          cmocka_unit_test(test_knn_exact),
        cmocka_unit_test(test_knn_cells),        cmocka_unit_test(test_groups_identities),
        cmocka_unit_test(test_cannot_link),      cmocka_unit_test(test_fixed_and_rejects),
        cmocka_unit_test(test_bad_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
