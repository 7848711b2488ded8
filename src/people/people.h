/*
 * people.h — what the files of src/people share: grouping the indexed faces into persons.
 *
 *   quality.c   a face's quality as grouping uses it (the index's, src/index/quality.c): faces
 *               below PEOPLE_MIN_QUALITY are "unsure" and never grouped automatically
 *   knn.c       the similarity graph: each face's nearest faces above a floor (exact for small
 *               libraries, cell-probed for large ones), as a symmetric adjacency list
 *   cluster.c   the two groupings compared by bench/people.sh: a threshold graph refined by
 *               Chinese whispers, and average-linkage agglomeration (reciprocal nearest pairs);
 *               both keep the constraints (faces of one photo apart, fixed faces, rejects)
 *   update.c    fs_people_update: loads faces, applies the user's decisions, groups, writes
 *   edit.c      the user's decisions: name, merge, move, reject, forget
 *   list.c      fs_people_list, fs_person_faces, fs_people_find
 *   units.c     an index's persons and faces in none with their mean embeddings: what a
 *               sharded library groups across its shards (src/shard/people.c); the units
 *               that hold the faces of the units the library knew by other keys
 *
 * Internal to libfacesearch; the public API is in facesearch.h.
 */
#ifndef FS_PEOPLE_PEOPLE_H
#define FS_PEOPLE_PEOPLE_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch.h"
#include "store/store.h"

/* Faces of lower quality are "unsure": kept out of automatic grouping (see quality.c). */
#define PEOPLE_MIN_QUALITY 0.5f

/* Quality in [0, 1] of a face (fs_face.quality): the index's measured one, or the factors its
 * row holds for a face indexed before qualities were stored (src/face/quality.c). */
float people_quality(const store_people_face *f);

/* A symmetric similarity graph in adjacency form: the neighbours of face i are
 * nbr[start[i] .. start[i+1]) with similarities sim[...]. Owned by whoever filled it. */
typedef struct people_graph {
    size_t n;
    size_t *start;      /* n + 1 offsets */
    uint32_t *nbr;
    float *sim;
} people_graph;

void people_graph_free(people_graph *g);

/* Builds the graph of the n unit vectors of v: an edge between i and j
 * when j is among i's k most similar faces (or i among j's) with similarity >= floor. Exact for
 * n <= PEOPLE_KNN_EXACT_MAX; above, each face's neighbours are searched in the cells of the
 * nearest cell centres (see knn.c). query (may be NULL: all) limits the faces whose k nearest
 * are searched to those with query[i] set (exact; the other faces get only their reverse edges):
 * an incremental update needs no edges between faces that will not move. On error g is left
 * empty. */
#define PEOPLE_KNN_EXACT_MAX 30000

/* Face vectors as the graph reads them: fp32 rows, or int8 codes with a scale per row (row i is
 * code[i] * scale[i]: a quarter of the memory, which a million faces need). Borrowed. */
typedef struct people_vecs {
    size_t n;
    int dim;
    const float *f32;       /* n * dim floats, or NULL for codes */
    const int8_t *i8;       /* n * dim codes (when f32 is NULL) */
    const float *scale;     /* n scales (when f32 is NULL) */
} people_vecs;

/* Row i of v as dim floats into out. */
void people_vecs_row(const people_vecs *v, size_t i, float *out);
/* The int8 code and scale of the dim floats x (round to nearest of x / (max |x| / 127)). */
void people_quantise(const float *x, int dim, int8_t *code, float *scale);

fs_status people_knn(const people_vecs *v, size_t k, float floor, const uint8_t *query,
                     people_graph *g, fs_error *err);

/* A grouping problem. Faces with the same fixed id (> 0) start and stay together; faces with
 * different fixed ids never meet; a face fixed to 0 is free. Two faces of one photo never share
 * a group. reject lists (face, fixed id) pairs: the face never joins the group of that id. */
typedef struct people_problem {
    size_t n;
    const people_graph *graph;
    const int64_t *photo;          /* n photo ids */
    const int64_t *fixed;          /* n fixed ids, 0 = free; NULL: all free */
    const int64_t *reject_face;    /* n_reject face indices */
    const int64_t *reject_id;      /* n_reject fixed ids */
    size_t n_reject;
    float threshold;               /* similarity (graph) or average similarity (linkage) */
} people_problem;

typedef enum people_algorithm {
    PEOPLE_GRAPH = 0,    /* threshold graph + Chinese whispers */
    PEOPLE_LINKAGE = 1   /* average linkage, reciprocal nearest pairs */
} people_algorithm;

/* Groups the faces: label[i] in [0, *groups), faces with one label form one group. */
fs_status people_cluster(const people_problem *p, people_algorithm algo, uint32_t *label,
                         size_t *groups, fs_error *err);

/* The work of fs_people_update on an open store (for tests and benchmarks that have no model
 * pack): groups the unseen faces (all with rebuild) at this threshold, in one transaction; faces
 * of quality below min_quality (PEOPLE_MIN_QUALITY by default; 0: none) are unsure. */
fs_status people_update(store_db *store, people_algorithm algo, float threshold,
                        float min_quality, int rebuild, fs_people_summary *summary,
                        fs_error *err);
/* The same, reporting its progress to on_progress(p, ctx) (may be NULL). */
fs_status people_update_reporting(store_db *store, people_algorithm algo, float threshold,
                                  float min_quality, int rebuild,
                                  void (*on_progress)(const fs_people_progress *p, void *ctx),
                                  void *ctx, fs_people_summary *summary, fs_error *err);

/* fs_people_units_follow on an open store (for tests without a model pack). */
fs_status people_units_follow(store_db *store, int shard, const fs_library_known *known,
                              size_t n, fs_people_units *units, fs_error *err);

/* The grouping threshold for a pack whose search threshold is search_threshold. */
float people_default_threshold(float search_threshold, people_algorithm algo);

#endif
