/*
 * test_people_store.c — people in the index (src/store/people_db.c, src/people/update.c),
 * without a model pack: schema migration from an index made before people (and before the table of
 * faces not seen yet), incremental and full updates,
 * and the user's decisions (keyed by content hash and box) surviving a re-indexed photo, a moved
 * photo, re-detected faces (boxes that moved a little) and --rebuild; a sharded library's units
 * followed when the shard changes them, and its unsure faces placed in a person kept as units.
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
#include <sqlite3.h>

#include "people/people.h"
#include "store/store.h"

#define DIM 32
#define IDS 3

static const char *const FILE_NAMES[] = {"rec.onnx"};
static const char *const FILE_SHAS[] = {"aa"};
static float centre[IDS][DIM];

typedef struct fixture {
    char root[64];
    char dir[96];
    store_db *store;
} fixture;

static void remove_tree(const char *root)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
}

static store_db *open_store(const char *dir, unsigned flags)
{
    store_pack_id p = {"test", 1, FILE_NAMES, FILE_SHAS, DIM, "p1"};
    store_db *st = NULL;
    fs_error err;
    if (store_open(dir, flags == FS_STORE_READ ? NULL : &p, flags, &st, &err) != FS_OK)
        fail_msg("open: %s", err.message);
    return st;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/fs_people_XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/idx", f->root);
    f->store = open_store(f->dir, FS_STORE_CREATE);
    uint64_t s = 42;
    for (int i = 0; i < IDS; i++) {
        double n = 0;
        for (int d = 0; d < DIM; d++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            centre[i][d] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
            n += centre[i][d] * centre[i][d];
        }
        for (int d = 0; d < DIM; d++)
            centre[i][d] = (float)(centre[i][d] / sqrt(n));
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->store);
    remove_tree(f->root);
    free(f);
    return 0;
}

/* Puts photo `name` with one face of each identity in ids (count n), the face of identity k at
 * x = 200 * position, its box shifted by dx; content hash from `content`. */
static void put_photo(store_db *st, const char *name, const int *ids, size_t n, int content,
                      float dx)
{
    store_face faces[IDS];
    float emb[IDS][DIM];
    for (size_t j = 0; j < n; j++) {
        memset(&faces[j], 0, sizeof faces[j]);
        float x = 200.0f * (float)j + dx;
        float box[4] = {x, 0, x + 100, 120};
        float lm[10] = {x + 30, 40, x + 70, 40, x + 50, 65, x + 35, 90, x + 65, 90};
        memcpy(faces[j].box, box, sizeof box);
        memcpy(faces[j].landmarks, lm, sizeof lm);
        faces[j].score = 0.99f;
        faces[j].quality = -1.0f; /* not measured: computed from the row */
        faces[j].face_index = (int)j;
        for (int d = 0; d < DIM; d++) /* a little per photo, so faces are not identical */
            emb[j][d] = centre[ids[j]][d] + 0.01f * (float)((content * 7 + d) % 5 - 2);
        double s = 0;
        for (int d = 0; d < DIM; d++)
            s += emb[j][d] * emb[j][d];
        for (int d = 0; d < DIM; d++)
            emb[j][d] = (float)(emb[j][d] / sqrt(s));
        faces[j].embedding = emb[j];
    }
    char path[64], sha[65];
    snprintf(path, sizeof path, "/photos/%s", name);
    snprintf(sha, sizeof sha, "%064x", content);
    fs_error err;
    if (store_put_file(st, path, 100, 1, sha, faces, n, NULL, &err) != FS_OK)
        fail_msg("put: %s", err.message);
}

static void update(store_db *st, people_algorithm algo, int rebuild, fs_people_summary *s)
{
    fs_error err;
    if (people_update(st, algo, 0.8f, PEOPLE_MIN_QUALITY, rebuild, s, &err) != FS_OK)
        fail_msg("update: %s", err.message);
}

typedef struct found {
    int64_t person;        /* of the face looked for */
    int64_t face_id;
    int pinned;
    const char *path;      /* the photo looked for */
    int index;             /* its face number */
} found;

static int find_face(const store_people_face *f, void *ctx)
{
    found *w = ctx;
    if (!strcmp(f->path, w->path) && f->face_index == w->index) {
        w->person = f->person_id;
        w->face_id = f->face_id;
        w->pinned = f->pinned;
    }
    return 0;
}

static found face_of(store_db *st, const char *path, int index)
{
    found w = {-1, 0, 0, path, index};
    fs_error err;
    assert_int_equal(store_people_faces(st, 0, find_face, &w, &err), FS_OK);
    return w;
}

static int count_people(const store_person *p, void *ctx)
{
    (void)p;
    (*(int *)ctx)++;
    return 0;
}

static void test_update_and_decisions(void **state)
{
    fixture *f = *state;
    store_db *st = f->store;
    int abc[] = {0, 1, 2}, ab[] = {0, 1}, c[] = {2};
    put_photo(st, "1.jpg", abc, 3, 1, 0);
    put_photo(st, "2.jpg", ab, 2, 2, 0);
    put_photo(st, "3.jpg", c, 1, 3, 0);
    fs_people_summary s;
    update(st, PEOPLE_GRAPH, 0, &s);
    assert_int_equal(s.faces, 6);
    assert_int_equal(s.grouped, 6);
    assert_int_equal(s.people, 3);
    int64_t a = face_of(st, "/photos/1.jpg", 0).person;
    int64_t pc = face_of(st, "/photos/1.jpg", 2).person;
    assert_true(a > 0);
    assert_true(pc > 0 && pc != a);
    assert_int_equal(face_of(st, "/photos/2.jpg", 0).person, a);

    /* incremental: a new photo touches only its faces */
    put_photo(st, "4.jpg", ab, 2, 4, 0);
    update(st, PEOPLE_GRAPH, 0, &s);
    assert_int_equal(s.faces, 2);
    assert_int_equal(s.new_people, 0);
    assert_int_equal(face_of(st, "/photos/4.jpg", 0).person, a);

    /* the user puts 4.jpg's face 0 into a new person: pinned by content and box */
    fs_error err;
    int64_t mine;
    assert_int_equal(store_person_new(st, "Mine", &mine, &err), FS_OK);
    assert_int_equal(store_person_new(st, "Mine", &mine, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "the name 'Mine' is already another person's");
    found w = face_of(st, "/photos/4.jpg", 0);
    store_people_face pf;
    int ok;
    assert_int_equal(store_people_face_get(st, w.face_id, &pf, &ok, &err), FS_OK);
    assert_true(ok);
    store_decision d = {mine, STORE_PIN, "", {pf.box[0], pf.box[1], pf.box[2], pf.box[3]}};
    memcpy(d.sha256, pf.sha256, sizeof d.sha256);
    assert_int_equal(store_decide(st, &d, &err), FS_OK);
    assert_int_equal(store_people_set(st, w.face_id, mine, 1.0f, 1, &err), FS_OK);
    /* and rejects 2.jpg's face 1 from its person */
    found r = face_of(st, "/photos/2.jpg", 1);
    int64_t b = r.person;
    assert_int_equal(store_people_face_get(st, r.face_id, &pf, &ok, &err), FS_OK);
    store_decision rej = {b, STORE_REJECT, "", {pf.box[0], pf.box[1], pf.box[2], pf.box[3]}};
    memcpy(rej.sha256, pf.sha256, sizeof rej.sha256);
    assert_int_equal(store_decide(st, &rej, &err), FS_OK);
    assert_int_equal(store_people_set(st, r.face_id, 0, 1.0f, 0, &err), FS_OK);
    /* a decision needs the photo's content */
    store_decision none = {mine, STORE_PIN, "", {0, 0, 1, 1}};
    assert_int_equal(store_decide(st, &none, &err), FS_ERR_ARG);

    /* rebuild, with both algorithms: decisions win */
    for (int k = 0; k < 2; k++) {
        update(st, k ? PEOPLE_LINKAGE : PEOPLE_GRAPH, 1, &s);
        assert_int_equal(face_of(st, "/photos/4.jpg", 0).person, mine);
        assert_true(face_of(st, "/photos/4.jpg", 0).pinned);
        assert_true(face_of(st, "/photos/2.jpg", 1).person != b);
        /* the pinned face draws its look-alikes; other groups keep their ids */
        assert_int_equal(face_of(st, "/photos/1.jpg", 0).person, mine);
        assert_int_equal(face_of(st, "/photos/1.jpg", 2).person, pc);
    }

    /* a re-detected photo: removed, put again with boxes moved by 5 px (new face ids) */
    assert_int_equal(store_remove_path(st, "/photos/4.jpg", NULL, &err), FS_OK);
    put_photo(st, "4.jpg", ab, 2, 4, 5.0f);
    update(st, PEOPLE_GRAPH, 0, &s);
    assert_int_equal(face_of(st, "/photos/4.jpg", 0).person, mine);
    /* a moved photo: same content under another path */
    store_file file;
    int found_file;
    assert_int_equal(store_file_by_path(st, "/photos/2.jpg", &file, &found_file, &err), FS_OK);
    assert_int_equal(store_copy_file(st, file.id, "/photos/moved.jpg", 100, 2, file.sha256, &err),
                     FS_OK);
    assert_int_equal(store_remove_path(st, "/photos/2.jpg", NULL, &err), FS_OK);
    update(st, PEOPLE_GRAPH, 0, &s);
    assert_true(face_of(st, "/photos/moved.jpg", 1).person != b);
    assert_true(face_of(st, "/photos/moved.jpg", 0).person == mine);

    /* prune drops unnamed people without faces or decisions; merge moves faces */
    int64_t empty;
    assert_int_equal(store_person_new(st, NULL, &empty, &err), FS_OK);
    int64_t pruned;
    assert_int_equal(store_people_prune(st, &pruned, &err), FS_OK);
    assert_int_equal(pruned, 1);
    assert_int_equal(store_people_merge(st, pc, mine, &err), FS_OK);
    assert_int_equal(face_of(st, "/photos/4.jpg", 0).person, pc);
    int people = 0;
    assert_int_equal(store_people_list(st, count_people, &people, &err), FS_OK);
    assert_int_equal(people, 3);
    assert_int_equal(store_check(st, &err), FS_OK);
}

/* Closes f's store and takes its index back to an older schema with sql, as an index made by
 * an older version would be; path receives the index file's path. */
static void rewind_schema(fixture *f, const char *sql, char *path, size_t size)
{
    store_close(f->store);
    f->store = NULL;
    snprintf(path, size, "%s/index.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* An index made before people (schema 1): a writer migrates it, a reader reads it as it is. */
static void test_migration(void **state)
{
    fixture *f = *state;
    int abc[] = {0, 1, 2};
    put_photo(f->store, "1.jpg", abc, 3, 1, 0);
    char path[128];
    rewind_schema(f,
                  "DROP TRIGGER people_unseen_new; DROP TABLE people_unseen;"
                  " DROP TABLE people_decisions; DROP TABLE face_people;"
                  " DROP TABLE people; ALTER TABLE faces DROP COLUMN quality;"
                  " DELETE FROM migrations WHERE version >= 2;"
                  " UPDATE meta SET value = 1 WHERE key = 'schema_version'",
                  path, sizeof path);
    store_db *reader = open_store(f->dir, FS_STORE_READ);
    int people = 0;
    fs_error err;
    assert_int_equal(store_people_list(reader, count_people, &people, &err), FS_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "no people yet"));
    store_close(reader);
    f->store = open_store(f->dir, FS_STORE_WRITE);
    fs_people_summary s;
    update(f->store, PEOPLE_GRAPH, 0, &s);
    assert_int_equal(s.faces, 3);
    store_stats stats;
    assert_int_equal(store_stats_get(f->store, &stats, &err), FS_OK);
    assert_int_equal(stats.schema_version, FS_STORE_SCHEMA_VERSION);
}

static int min_face_quality(const store_people_face *f, void *ctx)
{
    float *q = ctx;
    if (f->face_quality < *q)
        *q = f->face_quality;
    return 0;
}

/* An index made before faces had a stored quality (schema 2), with people: a reader reads its
 * faces and people (quality not measured), a writer migrates it; faces indexed from then on keep
 * theirs, the old ones are grouped by the quality their rows give. */
static void test_migration_quality(void **state)
{
    fixture *f = *state;
    int abc[] = {0, 1, 2};
    put_photo(f->store, "1.jpg", abc, 3, 1, 0);
    put_photo(f->store, "2.jpg", abc, 3, 2, 0);
    update(f->store, PEOPLE_GRAPH, 0, NULL);
    char path[128];
    rewind_schema(f,
                  "DROP TRIGGER people_unseen_new;"
                  " DROP TRIGGER people_unseen_seen;"
                  " DROP TRIGGER people_unseen_forgot; DROP TABLE people_unseen;"
                  " ALTER TABLE faces DROP COLUMN quality;"
                  " DELETE FROM migrations WHERE version >= 3;"
                  " UPDATE meta SET value = 2 WHERE key = 'schema_version'",
                  path, sizeof path);
    store_db *reader = open_store(f->dir, FS_STORE_READ);
    int people = 0;
    fs_error err;
    assert_int_equal(store_people_list(reader, count_people, &people, &err), FS_OK);
    assert_int_equal(people, 3);
    float q = 2.0f;
    assert_int_equal(store_people_faces(reader, 0, min_face_quality, &q, &err), FS_OK);
    assert_true(q == -1.0f); /* not measured */
    store_close(reader);
    f->store = open_store(f->dir, FS_STORE_WRITE);
    store_stats stats;
    assert_int_equal(store_stats_get(f->store, &stats, &err), FS_OK);
    assert_int_equal(stats.schema_version, FS_STORE_SCHEMA_VERSION);
    /* a new photo's faces, one measured as blurred: the old faces still group, it stays out */
    put_photo(f->store, "3.jpg", abc, 3, 3, 0);
    found blurred = face_of(f->store, "/photos/3.jpg", 1);
    sqlite3 *w = NULL;
    assert_int_equal(sqlite3_open(path, &w), SQLITE_OK);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE faces SET quality = 0.1 WHERE id = %lld",
             (long long)blurred.face_id);
    assert_int_equal(sqlite3_exec(w, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(w);
    fs_people_summary s;
    update(f->store, PEOPLE_GRAPH, 0, &s);
    assert_int_equal(s.faces, 3);
    assert_int_equal(s.unsure, 1);
    assert_true(face_of(f->store, "/photos/3.jpg", 0).person > 0);
    assert_int_equal(face_of(f->store, "/photos/3.jpg", 1).person, 0);
    assert_true(face_of(f->store, "/photos/1.jpg", 1).person > 0);
    q = 2.0f;
    assert_int_equal(store_people_faces(f->store, 0, min_face_quality, &q, &err), FS_OK);
    assert_true(q == -1.0f); /* the old faces keep no measured quality */
    assert_int_equal(store_check(f->store, &err), FS_OK);
}

static int count_faces(const store_people_face *f, void *ctx)
{
    (void)f;
    (*(int64_t *)ctx)++;
    return 0;
}

/* The faces no update has seen, as store_people_faces finds them and as people_counts counts
 * them; both must agree. */
static int64_t unseen(store_db *st)
{
    int64_t listed = 0, counted = -1, unsure, ungrouped;
    fs_error err;
    assert_int_equal(store_people_faces(st, 1, count_faces, &listed, &err), FS_OK);
    assert_int_equal(store_people_counts(st, PEOPLE_MIN_QUALITY, &unsure, &ungrouped, &counted,
                                         &err),
                     FS_OK);
    assert_int_equal(listed, counted);
    return listed;
}

/* An index of schema 3 (before the table of unseen faces), some faces seen and some not: a
 * writer's migration finds the unseen ones; from then on new faces, forgotten persons and
 * removed photos keep the table true, and an update sees exactly the faces it should. */
static void test_migration_unseen(void **state)
{
    fixture *f = *state;
    int abc[] = {0, 1, 2}, ab[] = {0, 1};
    put_photo(f->store, "1.jpg", abc, 3, 1, 0);
    update(f->store, PEOPLE_GRAPH, 0, NULL);
    put_photo(f->store, "2.jpg", ab, 2, 2, 0);
    char path[128];
    rewind_schema(f,
                  "DROP TRIGGER people_unseen_new;"
                  " DROP TRIGGER people_unseen_seen;"
                  " DROP TRIGGER people_unseen_forgot; DROP TABLE people_unseen;"
                  " DELETE FROM migrations WHERE version = 4;"
                  " UPDATE meta SET value = 3 WHERE key = 'schema_version'",
                  path, sizeof path);
    store_db *reader = open_store(f->dir, FS_STORE_READ); /* reads schema 3 as it is */
    assert_int_equal(unseen(reader), 2);
    store_close(reader);
    f->store = open_store(f->dir, FS_STORE_WRITE);
    fs_error err;
    store_stats stats;
    assert_int_equal(store_stats_get(f->store, &stats, &err), FS_OK);
    assert_int_equal(stats.schema_version, FS_STORE_SCHEMA_VERSION);
    assert_int_equal(unseen(f->store), 2);
    put_photo(f->store, "3.jpg", ab, 2, 3, 0);
    assert_int_equal(unseen(f->store), 4);
    fs_people_summary s;
    update(f->store, PEOPLE_GRAPH, 0, &s);
    assert_int_equal(s.faces, 6); /* the 4 new ones, and the 2 of 1.jpg they are persons with */
    assert_int_equal(unseen(f->store), 0);
    /* a person forgotten: its faces are unseen again, and the next update places them */
    int64_t a = face_of(f->store, "/photos/1.jpg", 0).person;
    assert_true(a > 0);
    assert_int_equal(store_person_delete(f->store, a, &err), FS_OK);
    assert_int_equal(unseen(f->store), 3);
    /* a removed photo takes its faces with it, seen or not */
    assert_int_equal(store_remove_path(f->store, "/photos/2.jpg", NULL, &err), FS_OK);
    assert_int_equal(unseen(f->store), 2);
    update(f->store, PEOPLE_GRAPH, 0, &s);
    assert_int_equal(s.faces, 2);
    assert_int_equal(unseen(f->store), 0);
    assert_true(face_of(f->store, "/photos/1.jpg", 0).person > 0);
    /* a photo indexed again: its new faces are unseen, the old rows gone */
    assert_int_equal(store_remove_path(f->store, "/photos/3.jpg", NULL, &err), FS_OK);
    put_photo(f->store, "3.jpg", ab, 2, 3, 5.0f);
    assert_int_equal(unseen(f->store), 2);
    update(f->store, PEOPLE_GRAPH, 1, &s); /* a rebuild sees every face */
    assert_int_equal(s.faces, 5);
    assert_int_equal(unseen(f->store), 0);
    assert_int_equal(store_check(f->store, &err), FS_OK);
}

typedef struct stages {
    char seen[8][16];
    size_t n, last_done, last_total;
} stages;

static void on_stage(const fs_people_progress *p, void *ctx)
{
    stages *s = ctx;
    assert_non_null(p->stage);
    assert_true(p->seconds >= 0);
    assert_true(p->total == 0 || p->done <= p->total);
    if (s->n == 0 || strcmp(s->seen[s->n - 1], p->stage) != 0) {
        assert_true(s->n < 8);
        snprintf(s->seen[s->n++], sizeof s->seen[0], "%s", p->stage);
    }
    s->last_done = p->done;
    s->last_total = p->total;
}

/* The progress of a run: each stage in order; an incremental one looks up neighbours, the first
 * update of a library does not (it groups all faces at once, as a rebuild). */
static void test_progress(void **state)
{
    fixture *f = *state;
    int abc[] = {0, 1, 2};
    put_photo(f->store, "1.jpg", abc, 3, 1, 0);
    put_photo(f->store, "2.jpg", abc, 3, 2, 0);
    stages s = {0};
    fs_error err;
    fs_people_summary sum;
    /* the first update of a library is a rebuild: no search of the vector index per face */
    assert_int_equal(people_update_reporting(f->store, PEOPLE_GRAPH, 0.8f, PEOPLE_MIN_QUALITY, 0,
                                             on_stage, &s, &sum, &err),
                     FS_OK);
    assert_int_equal(sum.faces, 6);
    assert_int_equal(sum.grouped, 6);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.seen[0], "loading");
    assert_string_equal(s.seen[1], "grouping");
    assert_string_equal(s.seen[2], "writing");
    assert_int_equal(s.last_total, 6);
    put_photo(f->store, "3.jpg", abc, 3, 3, 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(people_update_reporting(f->store, PEOPLE_GRAPH, 0.8f, PEOPLE_MIN_QUALITY, 0,
                                             on_stage, &s, &sum, &err),
                     FS_OK);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.seen[1], "neighbours");
    assert_int_equal(sum.faces, 3);
    /* no listener: the same run, quietly */
    assert_int_equal(people_update_reporting(f->store, PEOPLE_GRAPH, 0.8f, PEOPLE_MIN_QUALITY, 0,
                                             NULL, NULL, &sum, &err),
                     FS_OK);
}

/* A sharded library's units followed in its shard (people_units_follow): a person merged into
 * another on the shard is found by its representative face, a face alone that has joined a
 * person by itself; units that are still units, gone faces and other shards' units are not
 * renamed. */
static void test_follow(void **state)
{
    fixture *f = *state;
    store_db *st = f->store;
    int a[] = {0}, b[] = {1}, c[] = {2};
    put_photo(st, "1.jpg", a, 1, 1, 0);
    put_photo(st, "2.jpg", a, 1, 2, 0);
    put_photo(st, "3.jpg", b, 1, 3, 0);
    put_photo(st, "4.jpg", b, 1, 4, 0);
    put_photo(st, "5.jpg", c, 1, 5, 0);
    fs_people_summary s;
    update(st, PEOPLE_GRAPH, 0, &s);
    found f1 = face_of(st, "/photos/1.jpg", 0), f3 = face_of(st, "/photos/3.jpg", 0);
    found f5 = face_of(st, "/photos/5.jpg", 0);
    int64_t pa = f1.person, pb = f3.person;
    assert_true(pa > 0 && pb > 0 && pa != pb);
    assert_int_equal(f5.person, 0); /* alone: a unit of its own */

    /* the library knew them so (shard 1), after a unit of shard 0 (sorted by shard, as
     * fs_library_people_known gives them) */
    const fs_library_known known[] = {
        {{0, 0, f5.face_id}, f5.face_id, 1}, {{1, pa, 0}, f1.face_id, 1},
        {{1, pb, 0}, f3.face_id, 1},         {{1, 0, f5.face_id}, f5.face_id, 1},
        {{1, 98, 0}, 424242, 1},             {{1, 99, 0}, 0, 0},
    };
    /* then the shard changed: b merged into a by the user, 5.jpg's face grouped with a new one */
    fs_error err;
    assert_int_equal(store_people_merge(st, pa, pb, &err), FS_OK);
    put_photo(st, "6.jpg", c, 1, 6, 0);
    update(st, PEOPLE_GRAPH, 0, &s);
    int64_t pc = face_of(st, "/photos/5.jpg", 0).person;
    assert_true(pc > 0 && pc != pa);
    assert_int_equal(face_of(st, "/photos/3.jpg", 0).person, pa);

    fs_people_unit items[2] = {{.person_id = pa}, {.person_id = pc}};
    fs_people_units u = {.items = items, .count = 2};
    assert_int_equal(people_units_follow(st, 1, known, sizeof known / sizeof known[0], &u, &err),
                     FS_OK);
    assert_int_equal(u.n_renames, 2);
    for (size_t i = 0; i < u.n_renames; i++) {
        const fs_unit_rename *r = &u.renames[i];
        assert_int_equal(r->from.shard, 1);
        assert_int_equal(r->to.shard, 1);
        assert_int_equal(r->to.face_id, 0);
        if (r->from.person_id == pb) {
            assert_int_equal(r->to.person_id, pa);
        } else {
            assert_int_equal(r->from.person_id, 0);
            assert_int_equal(r->from.face_id, f5.face_id);
            assert_int_equal(r->to.person_id, pc);
        }
    }
    assert_true(u.renames[0].from.person_id != u.renames[1].from.person_id);
    free(u.renames);

    /* a face whose person is none of the units leads nowhere: the known unit stays as it is */
    fs_people_units none = {.items = items, .count = 1};
    assert_int_equal(people_units_follow(st, 1, known + 3, 1, &none, &err), FS_OK);
    assert_int_equal(none.n_renames, 0);
    free(none.renames);
}

/* An unsure face that the library placed in a person (a known unit of its own, kept by a member
 * or pin) is added to the units with its embedding, and no longer counted unsure; one the library
 * names by a reject alone (placed, then taken out) is not. */
static void test_keep_unsure(void **state)
{
    fixture *f = *state;
    store_db *st = f->store;
    int a[] = {0}, b[] = {1};
    put_photo(st, "1.jpg", a, 1, 1, 0);
    put_photo(st, "2.jpg", a, 1, 2, 0);
    put_photo(st, "3.jpg", b, 1, 3, 0);
    put_photo(st, "4.jpg", b, 1, 4, 0);
    found f3 = face_of(st, "/photos/3.jpg", 0), f4 = face_of(st, "/photos/4.jpg", 0);
    char path[128], sql[160];
    snprintf(path, sizeof path, "%s/index.db", f->dir);
    sqlite3 *w = NULL;
    assert_int_equal(sqlite3_open(path, &w), SQLITE_OK);
    snprintf(sql, sizeof sql, "UPDATE faces SET quality = 0.1 WHERE id IN (%lld, %lld)",
             (long long)f3.face_id, (long long)f4.face_id);
    assert_int_equal(sqlite3_exec(w, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(w);
    fs_people_summary s;
    update(st, PEOPLE_GRAPH, 0, &s);
    assert_int_equal(s.unsure, 2);
    int64_t pa = face_of(st, "/photos/1.jpg", 0).person;
    assert_true(pa > 0);
    assert_int_equal(face_of(st, "/photos/3.jpg", 0).person, 0);

    fs_people_units u = {.dim = DIM, .count = 1, .unsure = 2};
    u.items = calloc(1, sizeof *u.items);
    u.codes = calloc(DIM, sizeof *u.codes);
    u.scales = calloc(1, sizeof *u.scales);
    assert_true(u.items && u.codes && u.scales);
    u.items[0].person_id = pa;
    /* 3.jpg's face placed in a person (kept); 4.jpg's placed, then rejected (a reject alone) */
    const fs_library_known known[] = {{{1, 0, f3.face_id}, f3.face_id, 1},
                                      {{1, 0, f4.face_id}, f4.face_id, 0}};
    fs_error err;
    assert_int_equal(people_units_follow(st, 1, known, 2, &u, &err), FS_OK);
    assert_int_equal(u.n_renames, 0);
    assert_int_equal(u.count, 2);
    assert_int_equal(u.unsure, 1);
    const fs_people_unit *kept = &u.items[1];
    assert_int_equal(kept->person_id, 0);
    assert_int_equal(kept->face_id, f3.face_id);
    assert_int_equal(kept->faces, 1);
    assert_string_equal(kept->path, "/photos/3.jpg");
    double dot = 0; /* its own embedding, made codes: close to identity b's */
    for (int d = 0; d < DIM; d++)
        dot += (double)u.codes[DIM + d] * u.scales[1] * centre[1][d];
    assert_true(dot > 0.99);
    fs_people_units_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_update_and_decisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_quality, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_unseen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_unsure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
