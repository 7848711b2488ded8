/*
 * people_scale.c — scale and quality of grouping faces into persons (src/people/) on synthetic
 * face-like embeddings: bench/search_scale's identity model (unit vectors around identity
 * centroids, intra-identity cosine ~0.7, ~10 faces per identity; --subspace K draws the centroids
 * from a K-dimensional subspace, K = 64 matching the default pack's impostor spread), 3 faces
 * per photo (faces of one photo must stay apart).
 *
 * Usage: people_scale N [--algorithm graph|linkage|both] [--subspace K] [--store M]
 *                     [--threshold T]   (default: each algorithm's default for the default pack)
 * For each algorithm, groups the N faces in memory (similarity graph + clustering, the work of
 * `people update --rebuild` after loading) and prints
 *   RESULT people n=N ids=.. algorithm=A seconds=.. knn_s=.. extra_mb=.. precision=.. recall=..
 *          bcubed_f=.. groups=..
 * (extra_mb: peak resident memory above the resident size before the run; the vectors are held
 * as int8 codes, as people update holds them, counted in the base and shown as vectors_mb).
 * With --store M it also writes the N faces into a real index (SQLite, as `facesearch index`
 * would), runs a full update through it, adds M new faces of known identities in new photos and
 * runs an incremental update:
 *   RESULT people_store n=N algorithm=A full_s=.. incremental_faces=M incremental_s=..
 *          precision=.. recall=.. bcubed_f=.. index_sync_s=..
 * (index_sync_s: writing the vector file and graph after the faces went in, as `facesearch index`
 * does at its end; not part of the grouping). Run by bench/people.sh.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "people/people.h"
#include "store/store.h"
#include "util/clock.h"
#include "synth.h"

#define DIM 512
#define FACES_PER_ID 10
#define FACES_PER_PHOTO 3
#define NOISE 0.029f

/* identity centroids: iso (uniform on the sphere) or in a random subspace of K dims */
static float *centroids_new(size_t ids, int subspace, uint64_t *seed)
{
    float *c = malloc(ids * DIM * sizeof *c);
    if (!c)
        return NULL;
    if (subspace > 0) {
        float *basis = malloc((size_t)subspace * DIM * sizeof *basis);
        if (!basis) {
            free(c);
            return NULL;
        }
        for (size_t i = 0; i < (size_t)subspace * DIM; i++)
            basis[i] = synth_gauss(seed);
        for (size_t i = 0; i < ids; i++) {
            float *v = c + i * DIM;
            memset(v, 0, DIM * sizeof *v);
            for (int k = 0; k < subspace; k++) {
                float z = synth_gauss(seed);
                for (int d = 0; d < DIM; d++)
                    v[d] += basis[(size_t)k * DIM + d] * z;
            }
            synth_normalise(v, DIM);
        }
        free(basis);
    } else {
        for (size_t i = 0; i < ids * DIM; i++)
            c[i] = synth_gauss(seed);
        for (size_t i = 0; i < ids; i++)
            synth_normalise(c + i * DIM, DIM);
    }
    return c;
}

static void face_of(const float *centroid, uint64_t *seed, float *out)
{
    for (int d = 0; d < DIM; d++)
        out[d] = centroid[d] + NOISE * synth_gauss(seed);
    synth_normalise(out, DIM);
}

/* Resident memory now and at peak (kB), from /proc/self/status; the peak is reset with
 * clear_refs (5) so that each algorithm's run is measured on its own. */
static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n))
            v = atol(line + n + 1);
    if (f)
        fclose(f);
    return v;
}

static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

typedef struct pair {
    uint64_t a, b;
} pair;

static int cmp_pair(const void *x, const void *y)
{
    const pair *p = x, *q = y;
    if (p->a != q->a)
        return (p->a > q->a) - (p->a < q->a);
    return (p->b > q->b) - (p->b < q->b);
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* Pairwise precision and recall, BCubed F of groups against ids (n faces). A group of
 * UINT64_MAX is "no group": each such face alone. */
static void quality(const uint64_t *group, const uint64_t *id, size_t n, double *precision,
                    double *recall, double *bf)
{
    pair *gi = malloc(n * sizeof *gi);
    uint64_t *g = malloc(n * sizeof *g), *c = malloc(n * sizeof *c);
    if (!gi || !g || !c) {
        *precision = *recall = *bf = -1;
        free(gi), free(g), free(c);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        gi[i] = (pair){group[i] == UINT64_MAX ? (1ull << 63) + i : group[i], id[i]};
        g[i] = gi[i].a;
        c[i] = id[i];
    }
    qsort(gi, n, sizeof *gi, cmp_pair);
    qsort(g, n, sizeof *g, cmp_u64);
    qsort(c, n, sizeof *c, cmp_u64);
    double same = 0, in_group = 0, in_id = 0, bp = 0, br = 0;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && gi[j].a == gi[i].a && gi[j].b == gi[i].b; j++)
            ;
        double k = (double)(j - i);
        same += k * (k - 1) / 2;
        /* BCubed: each of the k faces has k right of its group's and its identity's sizes */
        uint64_t key_g = gi[i].a, key_c = gi[i].b;
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t m = (lo + hi) / 2;
            if (g[m] < key_g) lo = m + 1; else hi = m;
        }
        size_t gs = 0;
        while (lo + gs < n && g[lo + gs] == key_g)
            gs++;
        lo = 0, hi = n;
        while (lo < hi) {
            size_t m = (lo + hi) / 2;
            if (c[m] < key_c) lo = m + 1; else hi = m;
        }
        size_t cs = 0;
        while (lo + cs < n && c[lo + cs] == key_c)
            cs++;
        bp += k * k / (double)gs;
        br += k * k / (double)cs;
    }
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && g[j] == g[i]; j++)
            ;
        in_group += (double)(j - i) * (double)(j - i - 1) / 2;
    }
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && c[j] == c[i]; j++)
            ;
        in_id += (double)(j - i) * (double)(j - i - 1) / 2;
    }
    *precision = in_group > 0 ? same / in_group : 1.0;
    *recall = in_id > 0 ? same / in_id : 1.0;
    bp /= (double)n, br /= (double)n;
    *bf = bp + br > 0 ? 2 * bp * br / (bp + br) : 0;
    free(gi), free(g), free(c);
}

static float threshold_override; /* --threshold T; 0: each algorithm's default */

static float threshold_of(people_algorithm algo)
{
    return threshold_override > 0 ? threshold_override : people_default_threshold(0.34f, algo);
}

/* Grouping in memory from int8 codes, as people update holds the vectors. */
static int run_memory(const int8_t *codes, const float *scales, const int64_t *photo,
                      const uint64_t *id, size_t n, size_t ids, people_algorithm algo,
                      const char *name, int subspace)
{
    reset_peak();
    long base = status_kb("VmRSS:");
    double t0 = util_now();
    people_graph g;
    float threshold = threshold_of(algo);
    float floor = algo == PEOPLE_LINKAGE ? threshold - 0.12f : threshold;
    fs_error err;
    people_vecs v = {n, DIM, NULL, codes, scales};
    if (people_knn(&v, 24, floor, NULL, &g, &err) != FS_OK) {
        fprintf(stderr, "knn: %s\n", err.message);
        return 1;
    }
    double t1 = util_now();
    uint32_t *label = malloc(n * sizeof *label);
    size_t groups;
    people_problem p = {n, &g, photo, NULL, NULL, NULL, 0, threshold};
    if (!label || people_cluster(&p, algo, label, &groups, &err) != FS_OK) {
        fprintf(stderr, "cluster: %s\n", label ? err.message : "out of memory");
        return 1;
    }
    double t2 = util_now();
    long peak = status_kb("VmHWM:");
    uint64_t *group = malloc(n * sizeof *group);
    size_t *size = calloc(groups, sizeof *size);
    if (!group || !size)
        return 1;
    for (size_t i = 0; i < n; i++)
        size[label[i]]++;
    size_t real = 0;
    for (size_t q = 0; q < groups; q++)
        real += size[q] >= 2;
    for (size_t i = 0; i < n; i++)
        group[i] = size[label[i]] >= 2 ? label[i] : UINT64_MAX;
    double pr, rc, bf;
    quality(group, id, n, &pr, &rc, &bf);
    printf("RESULT people n=%zu ids=%zu model=%s%d algorithm=%s threshold=%.2f seconds=%.2f"
           " knn_s=%.2f extra_mb=%.0f vectors_mb=%.0f precision=%.4f recall=%.4f bcubed_f=%.4f"
           " groups=%zu\n",
           n, ids, subspace ? "subspace" : "iso", subspace, name, (double)threshold, t2 - t0,
           t1 - t0,
           (double)(peak - base) / 1024.0, (double)n * (DIM + 4) / 1048576.0, pr, rc, bf, real);
    fflush(stdout);
    free(group);
    free(size);
    free(label);
    people_graph_free(&g);
    return 0;
}

/* ---- Through a real index ---------------------------------------------------------------- */

static const char *const FILE_NAMES[] = {"synthetic"};
static const char *const FILE_SHAS[] = {"0"};

typedef struct grouped {
    uint64_t *group;
    size_t n;
} grouped;

static int read_group(const store_people_face *f, void *ctx)
{
    grouped *g = ctx;
    /* face ids are 1..n in insertion order */
    if ((size_t)f->face_id <= g->n)
        g->group[f->face_id - 1] = f->person_id > 0 ? (uint64_t)f->person_id : UINT64_MAX;
    return 0;
}

static int put_faces(store_db *st, const float *vecs, size_t from, size_t to, fs_error *err)
{
    store_face faces[FACES_PER_PHOTO];
    if (store_begin(st, err) != FS_OK)
        return 1;
    for (size_t i = from; i < to; i += FACES_PER_PHOTO) {
        size_t k = to - i < FACES_PER_PHOTO ? to - i : FACES_PER_PHOTO;
        for (size_t j = 0; j < k; j++) {
            memset(&faces[j], 0, sizeof faces[j]);
            float x = 200.0f * (float)j;
            float b[4] = {x, 0, x + 100, 120};
            memcpy(faces[j].box, b, sizeof b);
            float lm[10] = {x + 30, 40, x + 70, 40, x + 50, 65, x + 35, 90, x + 65, 90};
            memcpy(faces[j].landmarks, lm, sizeof lm);
            faces[j].score = 0.99f;
            faces[j].quality = 1.0f;
            faces[j].face_index = (int)j;
            faces[j].embedding = vecs + (i + j) * DIM;
        }
        char path[64], sha[65];
        snprintf(path, sizeof path, "/synthetic/%09zu.jpg", i / FACES_PER_PHOTO);
        snprintf(sha, sizeof sha, "%064zx", i / FACES_PER_PHOTO + 1);
        if (store_put_file(st, path, 1000, 1, sha, faces, k, NULL, err) != FS_OK)
            return 1;
        if ((i / FACES_PER_PHOTO) % 20000 == 0 && i > from &&
            (store_commit(st, err) != FS_OK || store_begin(st, err) != FS_OK))
            return 1;
    }
    return store_commit(st, err) != FS_OK;
}

static int run_store(const float *vecs, const uint64_t *id, size_t n, size_t m,
                     people_algorithm algo, const char *name)
{
    char dir[] = "/tmp/people_scale_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    store_pack_id pack = {"synthetic", 1, FILE_NAMES, FILE_SHAS, DIM, "p"};
    store_db *st;
    fs_error err;
    int bad = store_open(dir, &pack, FS_STORE_CREATE, &st, &err) != FS_OK;
    if (!bad)
        bad = put_faces(st, vecs, 0, n, &err);
    /* as an index run ends: the vector file (and, from 100k faces, its graph) made */
    double ts = util_now();
    if (!bad)
        bad = store_sync_vectors(st, &err) != FS_OK;
    double sync_s = util_now() - ts;
    float threshold = threshold_of(algo);
    fs_people_summary full, inc;
    double t0 = util_now();
    if (!bad)
        bad = people_update(st, algo, threshold, PEOPLE_MIN_QUALITY, 1, &full, &err) != FS_OK;
    double t1 = util_now();
    if (!bad)
        bad = put_faces(st, vecs, n, n + m, &err) || store_sync_vectors(st, &err) != FS_OK;
    double t2 = util_now();
    if (!bad)
        bad = people_update(st, algo, threshold, PEOPLE_MIN_QUALITY, 0, &inc, &err) != FS_OK;
    double t3 = util_now();
    grouped g = {malloc((n + m) * sizeof(uint64_t)), n + m};
    if (!bad && g.group) {
        for (size_t i = 0; i < n + m; i++)
            g.group[i] = UINT64_MAX;
        bad = store_people_faces(st, 0, read_group, &g, &err) != FS_OK;
    }
    if (bad) {
        fprintf(stderr, "people_scale: %s\n", err.message);
    } else {
        double pr, rc, bf;
        quality(g.group, id, n + m, &pr, &rc, &bf);
        printf("RESULT people_store n=%zu algorithm=%s full_s=%.2f incremental_faces=%zu"
               " incremental_s=%.2f precision=%.4f recall=%.4f bcubed_f=%.4f"
               " index_sync_s=%.2f\n",
               n, name, t1 - t0, m, t3 - t2, pr, rc, bf, sync_s);
    }
    free(g.group);
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "people_scale: could not remove %s\n", dir);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s N [--algorithm graph|linkage|both] [--subspace K]"
                        " [--store M] [--threshold T]\n", argv[0]);
        return 2;
    }
    size_t n = strtoull(argv[1], NULL, 10), m = 0;
    const char *which = "both";
    int subspace = 0;
    for (int a = 2; a < argc; a++) {
        if (!strcmp(argv[a], "--algorithm") && a + 1 < argc)
            which = argv[++a];
        else if (!strcmp(argv[a], "--subspace") && a + 1 < argc)
            subspace = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--threshold") && a + 1 < argc)
            threshold_override = strtof(argv[++a], NULL);
        else if (!strcmp(argv[a], "--store") && a + 1 < argc)
            m = strtoull(argv[++a], NULL, 10);
        else {
            fprintf(stderr, "%s: unknown argument %s\n", argv[0], argv[a]);
            return 2;
        }
    }
    if (n < FACES_PER_ID) {
        fprintf(stderr, "%s: N must be at least %d\n", argv[0], FACES_PER_ID);
        return 2;
    }
    size_t ids = n / FACES_PER_ID;
    uint64_t seed = 0x5eed;
    float *centroids = centroids_new(ids, subspace, &seed);
    float *vecs = malloc((n + m) * DIM * sizeof *vecs);
    int64_t *photo = malloc((n + m) * sizeof *photo);
    uint64_t *id = malloc((n + m) * sizeof *id);
    if (!centroids || !vecs || !photo || !id) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n + m; i++) {
        id[i] = synth_next_u64(&seed) % ids;
        face_of(centroids + id[i] * DIM, &seed, vecs + i * DIM);
        photo[i] = (int64_t)(i / FACES_PER_PHOTO);
    }
    free(centroids);
    int8_t *codes = malloc(n * DIM);
    float *scales = malloc(n * sizeof *scales);
    if (!codes || !scales) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        people_quantise(vecs + i * DIM, DIM, codes + i * DIM, &scales[i]);
    if (!m) { /* the floats are not needed any more: measure with the codes only */
        free(vecs);
        vecs = NULL;
    }
    int bad = 0;
    for (int k = 0; k < 2; k++) {
        const char *name = k == 0 ? "graph" : "linkage";
        if (strcmp(which, "both") != 0 && strcmp(which, name) != 0)
            continue;
        people_algorithm algo = k == 0 ? PEOPLE_GRAPH : PEOPLE_LINKAGE;
        bad |= run_memory(codes, scales, photo, id, n, ids, algo, name, subspace);
        if (m)
            bad |= run_store(vecs, id, n, m, algo, name);
    }
    free(vecs);
    free(codes);
    free(scales);
    free(photo);
    free(id);
    return bad;
}
