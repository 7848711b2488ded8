/*
 * test_shard_people.c — the people of a sharded library without MPI (src/shard/people.c;
 * facesearch.h, "People of a sharded library"): units of several shards grouped into the
 * library's persons (a person split over shards joined, faces alone in their shards joined, one
 * face alone no person, two units of one shard never one person), ids and names kept by a later
 * update whatever the order of the units, naming, and the errors: no update yet, a unit of no
 * shard, a bad threshold, a folder that is no library, a damaged or foreign people file. The
 * user's edits (src/shard/people_edit.c): merge, reject, move, each seen at once and kept by the
 * next update; a face's unit; a people file of the first version, edited after an update; an
 * edit written while an update groups, kept (and edits that never stop: the update gives up);
 * an unsure face placed in a person, kept there.
 */
#define _GNU_SOURCE /* pthread_tryjoin_np */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "facesearch.h"

#define DIM 64
#define COUNT 3 /* shards */

static char *temp_dir(void)
{
    char tmpl[] = "/tmp/fs_shard_people_XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* A reproducible random number in [-1, 1). */
static float noise(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 23) - 1.0f;
}

/* Identity i's direction: its own random vector. */
static void identity(int i, float *v)
{
    uint32_t s = 1000u + (uint32_t)i * 7919u;
    for (int d = 0; d < DIM; d++)
        v[d] = noise(&s);
}

static void normalise(float *v)
{
    double n = 0;
    for (int d = 0; d < DIM; d++)
        n += (double)v[d] * v[d];
    for (int d = 0; d < DIM; d++)
        v[d] = (float)(v[d] / sqrt(n));
}

/* A unit of identity `who` in shard k: a person (person_id > 0) or a face alone (face_id). */
typedef struct spec {
    int who, shard;
    int64_t person_id, face_id;
    size_t faces;
    const char *name;
} spec;

/* The library's units, made from specs (in the order given; noise seeded by position). */
static void make_units(const spec *specs, size_t n, fs_people_units *u)
{
    memset(u, 0, sizeof *u);
    u->items = calloc(n, sizeof *u->items);
    u->codes = malloc(n * DIM * sizeof *u->codes);
    u->scales = malloc(n * sizeof *u->scales);
    assert_true(u->items && u->codes && u->scales);
    u->count = n;
    u->dim = DIM;
    for (size_t i = 0; i < n; i++) {
        fs_people_unit *x = &u->items[i];
        x->shard = specs[i].shard;
        x->person_id = specs[i].person_id;
        x->face_id = specs[i].face_id ? specs[i].face_id : 100 + specs[i].person_id;
        x->faces = x->photos = specs[i].faces;
        x->name = specs[i].name ? strdup(specs[i].name) : NULL;
        char path[64];
        snprintf(path, sizeof path, "/photos/shard%d/%lld.jpg", x->shard,
                 (long long)x->face_id);
        x->path = strdup(path);
        x->box[2] = x->box[3] = 100;
        float c[DIM];
        identity(specs[i].who, c);
        uint32_t s = 77u + (uint32_t)(specs[i].who * 31 + specs[i].shard);
        for (int d = 0; d < DIM; d++)
            c[d] += 0.3f * noise(&s);
        normalise(c);
        /* as int8 codes, value = code x scale (fs_people_units) */
        float top = 0;
        for (int d = 0; d < DIM; d++)
            top = fabsf(c[d]) > top ? fabsf(c[d]) : top;
        u->scales[i] = top / 127;
        for (int d = 0; d < DIM; d++)
            u->codes[i * DIM + d] = (int8_t)lrintf(c[d] / u->scales[i]);
    }
}

/* Identities: 1 a person of every shard (named "Ann" in shard 1); 2 one face alone in shards 0
 * and 2; 3 a person of shard 0 only; 4 one face alone in shard 1; 5 two persons of shard 0
 * (the shard split them) and one of shard 1. */
static const spec library[] = {
    {1, 0, 1, 0, 5, NULL}, {1, 1, 4, 0, 3, "Ann"}, {1, 2, 2, 0, 2, NULL},
    {2, 0, 0, 11, 1, NULL}, {2, 2, 0, 12, 1, NULL},
    {3, 0, 2, 0, 2, NULL},
    {4, 1, 0, 13, 1, NULL},
    {5, 0, 3, 0, 2, NULL}, {5, 0, 4, 0, 2, NULL}, {5, 1, 5, 0, 2, NULL},
};
#define N_UNITS (sizeof library / sizeof library[0])

static char *new_library(void)
{
    char *tmp = temp_dir();
    char dir[300];
    snprintf(dir, sizeof dir, "%s/lib", tmp);
    fs_error err;
    assert_int_equal(fs_shards_create(dir, "default", COUNT, &err), FS_OK);
    free(tmp);
    return strdup(dir);
}

/* A new library whose people are grouped from the units of `library` (into *u, *s). */
static char *grouped_library(fs_people_units *u, fs_people_summary *s)
{
    char *dir = new_library();
    fs_error err;
    make_units(library, N_UNITS, u);
    assert_int_equal(fs_library_people_update(dir, u, 0.5f, 0, s, &err), FS_OK);
    return dir;
}

/* The members of person key: how many, and the number per shard into per_shard. */
static size_t members_of(const char *dir, const char *key, fs_person *p, int per_shard[COUNT])
{
    fs_library_member *m;
    size_t n;
    fs_error err;
    assert_int_equal(fs_library_person_find(dir, key, p, &m, &n, &err), FS_OK);
    memset(per_shard, 0, COUNT * sizeof *per_shard);
    for (size_t i = 0; i < n; i++) {
        assert_true(m[i].shard >= 0 && m[i].shard < COUNT);
        per_shard[m[i].shard]++;
    }
    free(m);
    return n;
}

static void test_grouping(void **state)
{
    (void)state;
    char *dir = new_library();
    fs_error err;
    fs_people list;
    assert_int_equal(fs_library_people_list(dir, &list, &err), FS_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "people update --shards"));

    fs_people_units u;
    make_units(library, N_UNITS, &u);
    u.unsure = 3; /* the shards' */
    u.unseen = 1;
    fs_people_summary s;
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(s.faces, 21);
    assert_int_equal(s.new_people, s.people);

    assert_int_equal(fs_library_people_list(dir, &list, &err), FS_OK);
    /* 1 (10 faces); 5 twice (shard 0 kept its two apart: 4 faces with shard 1's, and 2);
     * 2 and 3; 4 alone is no person */
    assert_int_equal(list.count, 5);
    assert_int_equal(list.items[1].faces, 4);
    assert_int_equal(list.count, s.people);
    assert_int_equal(list.items[0].faces, 10);
    assert_string_equal(list.items[0].name, "Ann"); /* its shard person's name */
    assert_int_equal(list.items[0].photos, 10);
    /* the representative face: the largest unit's (shard 0's person 1: face 101), library id */
    assert_int_equal(list.items[0].face_id, fs_library_id(101, 0, COUNT));
    assert_string_equal(list.items[0].face_path, "/photos/shard0/101.jpg");
    size_t total = 0;
    for (size_t i = 0; i < list.count; i++)
        total += list.items[i].faces;
    assert_int_equal(total, 20); /* every face but identity 4's */
    assert_int_equal(list.ungrouped, 1); /* identity 4's */
    assert_int_equal(list.unsure, 3);
    assert_int_equal(list.unseen, 1);

    fs_person p;
    int per_shard[COUNT];
    assert_int_equal(members_of(dir, "Ann", &p, per_shard), 3);
    assert_int_equal(per_shard[0] + per_shard[1] + per_shard[2], 3);
    assert_int_equal(per_shard[0], 1);
    int64_t ann = p.id;
    fs_person_clear(&p);
    /* no person holds two units of one shard; identity 2's lone faces are one person */
    int lone_pair = 0;
    for (size_t i = 0; i < list.count; i++) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)list.items[i].id);
        size_t n = members_of(dir, key, &p, per_shard);
        for (int k = 0; k < COUNT; k++)
            assert_true(per_shard[k] <= 1);
        lone_pair += n == 2 && p.faces == 2 && per_shard[0] && per_shard[2];
        fs_person_clear(&p);
    }
    assert_int_equal(lone_pair, 1);
    fs_people_free(&list);

    /* names: unique, kept; unknown ids and names */
    char c_key[32];
    assert_int_equal(fs_library_people_list(dir, &list, &err), FS_OK);
    int64_t other = list.items[1].id;
    snprintf(c_key, sizeof c_key, "%lld", (long long)other);
    fs_people_free(&list);
    assert_int_equal(fs_library_people_name(dir, other, "Ann", &err), FS_ERR_ARG);
    assert_int_equal(fs_library_people_name(dir, other, "Cy", &err), FS_OK);
    assert_int_equal(fs_library_people_name(dir, 999, "Zed", &err), FS_ERR_NOT_FOUND);
    fs_library_member *m;
    size_t n;
    assert_int_equal(fs_library_person_find(dir, "Nobody", &p, &m, &n, &err), FS_ERR_NOT_FOUND);
    assert_string_equal(err.message, "no person named or numbered 'Nobody'");
    /* by id (the server's): a name that is a number is a name to find, never to get */
    assert_int_equal(fs_library_person_get(dir, 999, &p, &m, &n, &err), FS_ERR_NOT_FOUND);
    assert_string_equal(err.message, "person 999: no such person");
    assert_null(m);
    assert_int_equal(fs_library_people_name(dir, ann, c_key, &err), FS_OK);
    assert_int_equal(fs_library_person_find(dir, c_key, &p, &m, &n, &err), FS_OK);
    assert_int_equal(p.id, ann);
    assert_int_equal(n, 3);
    fs_person_clear(&p);
    free(m);
    assert_int_equal(fs_library_person_get(dir, other, &p, &m, &n, &err), FS_OK);
    assert_int_equal(p.id, other);
    assert_string_equal(p.name, "Cy");
    assert_int_equal(p.faces, 4);
    assert_int_equal(n, 2);
    fs_person_clear(&p);
    free(m);
    assert_int_equal(fs_library_people_name(dir, ann, "Ann", &err), FS_OK);

    /* a later update, the shards' units gathered in the opposite order (as ranks may send
     * them; each shard's own order is its index's): the same ids, names kept, none new */
    fs_people_units_free(&u);
    spec reversed[N_UNITS];
    size_t at = 0;
    for (int k = COUNT - 1; k >= 0; k--)
        for (size_t i = 0; i < N_UNITS; i++)
            if (library[i].shard == k)
                reversed[at++] = library[i];
    make_units(reversed, N_UNITS, &u);
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(s.new_people, 0);
    assert_int_equal(members_of(dir, "Ann", &p, per_shard), 3);
    assert_int_equal(p.id, ann);
    fs_person_clear(&p);
    members_of(dir, "Cy", &p, per_shard);
    assert_int_equal(p.id, other);
    fs_person_clear(&p);

    /* a named person whose faces are gone stays, with none; an unnamed one goes */
    fs_people_units none = {0};
    assert_int_equal(fs_library_people_update(dir, &none, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(s.people, 0);
    assert_int_equal(fs_library_people_list(dir, &list, &err), FS_OK);
    assert_int_equal(list.count, 2);
    for (size_t i = 0; i < list.count; i++) {
        assert_int_equal(list.items[i].faces, 0);
        assert_non_null(list.items[i].name);
    }
    fs_people_free(&list);
    /* ...and takes its faces back when they come back */
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(members_of(dir, "Ann", &p, per_shard), 3);
    assert_int_equal(p.id, ann);
    assert_int_equal(p.faces, 10);
    fs_person_clear(&p);

    fs_people_units_free(&u);
    remove_tree(dir);
    free(dir);
}

static void test_errors(void **state)
{
    (void)state;
    char *dir = new_library();
    fs_error err;
    fs_people_units u;
    make_units(library, N_UNITS, &u);
    fs_people_summary s;

    u.items[2].shard = COUNT; /* a shard the library does not have */
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_ERR_ARG);
    u.items[2].shard = 2;
    assert_int_equal(fs_library_people_update(dir, &u, 2.0f, 0, &s, &err), FS_ERR_ARG);
    assert_int_equal(fs_library_people_update(dir, &u, 0, 1.5f, &s, &err), FS_ERR_ARG);
    /* 0: the pack's grouping threshold, from its search threshold */
    assert_int_equal(fs_library_people_update(dir, &u, 0, 0.34f, &s, &err), FS_OK);
    assert_true(s.people >= 4);

    char none[300];
    snprintf(none, sizeof none, "%s/none", dir);
    assert_int_equal(fs_library_people_update(none, &u, 0.5f, 0, &s, &err), FS_ERR_NOT_FOUND);

    /* a damaged people file: a clear error, and nothing written over it */
    char path[400];
    snprintf(path, sizeof path, "%s/people.db", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("not a database at all ", f);
    fclose(f);
    fs_people list;
    assert_int_equal(fs_library_people_list(dir, &list, &err), FS_ERR_FORMAT);
    assert_non_null(strstr(err.message, "people.db"));
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_ERR_FORMAT);
    f = fopen(path, "r");
    char head[16] = {0};
    assert_int_equal(fread(head, 1, 15, f), 15);
    fclose(f);
    assert_string_equal(head, "not a database ");

    /* a SQLite file of something else (another version): refused */
    remove(path);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'PRAGMA user_version = 7; CREATE TABLE t(x)'",
             path);
    if (system(cmd) == 0) {
        assert_int_equal(fs_library_people_list(dir, &list, &err), FS_ERR_FORMAT);
        assert_non_null(strstr(err.message, "not a facesearch people file"));
    }

    fs_people_units_free(&u);
    remove_tree(dir);
    free(dir);
}

/* Person key's id, faces and members (*n); members into m (malloc'd) when m is not NULL. */
static int64_t person_of(const char *dir, const char *key, size_t *faces, size_t *n,
                         fs_library_member **m)
{
    fs_person p;
    fs_library_member *members;
    fs_error err;
    assert_int_equal(fs_library_person_find(dir, key, &p, &members, n, &err), FS_OK);
    int64_t id = p.id;
    *faces = p.faces;
    fs_person_clear(&p);
    if (m)
        *m = members;
    else
        free(members);
    return id;
}

/* The id of the person that has unit (shard, person_id, face_id) among its members, 0 if none. */
static int64_t holder(const char *dir, int shard, int64_t person_id, int64_t face_id)
{
    fs_people list;
    fs_error err;
    assert_int_equal(fs_library_people_list(dir, &list, &err), FS_OK);
    int64_t found = 0;
    for (size_t i = 0; i < list.count && !found; i++) {
        fs_person p;
        fs_library_member *m;
        size_t n;
        assert_int_equal(fs_library_person_get(dir, list.items[i].id, &p, &m, &n, &err), FS_OK);
        for (size_t j = 0; j < n; j++)
            if (m[j].shard == shard && m[j].person_id == person_id &&
                m[j].face_id == face_id)
                found = p.id;
        fs_person_clear(&p);
        free(m);
    }
    fs_people_free(&list);
    return found;
}

static void test_edits(void **state)
{
    (void)state;
    fs_error err;
    fs_people_units u;
    fs_people_summary s;
    char *dir = grouped_library(&u, &s);
    size_t faces, n, before = s.people;

    /* merge: identity 5's two persons of shard 0 (kept apart by the shard) become one, with
     * the name of the one merged in; the next update keeps them together */
    int64_t big = holder(dir, 1, 5, 0);
    int64_t small = holder(dir, 0, 3, 0) == big ? holder(dir, 0, 4, 0) : holder(dir, 0, 3, 0);
    assert_true(big && small && big != small);
    assert_int_equal(holder(dir, 1, 5, 0), big);
    assert_int_equal(fs_library_people_name(dir, small, "Dee", &err), FS_OK);
    assert_int_equal(fs_library_people_merge(dir, big, small, &err), FS_OK);
    assert_int_equal(person_of(dir, "Dee", &faces, &n, NULL), big);
    assert_int_equal(faces, 6);
    assert_int_equal(n, 3);
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)small);
    fs_person p;
    fs_library_member *m;
    assert_int_equal(fs_library_person_find(dir, key, &p, &m, &n, &err), FS_ERR_NOT_FOUND);
    assert_int_equal(fs_library_people_merge(dir, big, big, &err), FS_ERR_ARG);
    assert_int_equal(fs_library_people_merge(dir, big, 999, &err), FS_ERR_NOT_FOUND);
    assert_string_equal(err.message, "person 999: no such person");
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(s.people, before - 1);
    assert_int_equal(s.new_people, 0);
    assert_int_equal(person_of(dir, "Dee", &faces, &n, NULL), big);
    assert_int_equal(faces, 6);

    /* reject: shard 2's person of identity 1 is not Ann; it leaves at once, with the faces of
     * its unit, and never comes back (the next update makes it a person of its own) */
    int64_t ann = person_of(dir, "Ann", &faces, &n, NULL);
    assert_int_equal(faces, 10);
    fs_library_member shard2 = {2, 2, 0};
    assert_int_equal(fs_library_people_reject(dir, &shard2, ann, &err), FS_OK);
    assert_int_equal(person_of(dir, "Ann", &faces, &n, NULL), ann);
    assert_int_equal(faces, 8);
    assert_int_equal(n, 2);
    assert_int_equal(holder(dir, 2, 2, 0), 0);
    fs_people list;
    assert_int_equal(fs_library_people_list(dir, &list, &err), FS_OK);
    assert_int_equal(list.ungrouped, 1 + 2); /* identity 4's face, and the unit's two */
    fs_people_free(&list);
    assert_int_equal(fs_library_people_reject(dir, &shard2, ann, &err), FS_ERR_NOT_FOUND);
    char want[64];
    snprintf(want, sizeof want, "the face is not in person %lld", (long long)ann);
    assert_string_equal(err.message, want);
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(person_of(dir, "Ann", &faces, &n, NULL), ann);
    assert_int_equal(faces, 8);
    int64_t alone = holder(dir, 2, 2, 0);
    assert_true(alone != 0 && alone != ann);

    /* move: identity 2's face of shard 2 into Ann (the user's word beats the similarity, and
     * the next update keeps it there), then its other face into a new person */
    int64_t pair = holder(dir, 2, 0, 12);
    assert_true(pair != 0);
    assert_int_equal(holder(dir, 0, 0, 11), pair);
    fs_library_member lone12 = {2, 0, 12}, lone11 = {0, 0, 11}, lone13 = {1, 0, 13};
    int64_t to = 0;
    assert_int_equal(fs_library_people_move(dir, &lone13, pair, ann, &to, &err),
                     FS_ERR_NOT_FOUND); /* in no person */
    assert_int_equal(fs_library_people_move(dir, &lone12, pair, 999, &to, &err),
                     FS_ERR_NOT_FOUND);
    assert_int_equal(fs_library_people_move(dir, &lone12, pair, ann, &to, &err), FS_OK);
    assert_int_equal(to, ann);
    assert_int_equal(person_of(dir, "Ann", &faces, &n, NULL), ann);
    assert_int_equal(faces, 9);
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(holder(dir, 2, 0, 12), ann);
    assert_int_equal(holder(dir, 0, 0, 11), pair); /* pinned where the user left it */
    assert_int_equal(fs_library_people_move(dir, &lone11, pair, 0, &to, &err), FS_OK);
    assert_true(to > 0 && to != pair && to != ann);
    assert_int_equal(holder(dir, 0, 0, 11), to);
    snprintf(key, sizeof key, "%lld", (long long)pair);
    assert_int_equal(fs_library_person_find(dir, key, &p, &m, &n, &err), FS_ERR_NOT_FOUND);
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    snprintf(key, sizeof key, "%lld", (long long)to);
    assert_int_equal(person_of(dir, key, &faces, &n, NULL), to); /* one face, kept: pinned */
    assert_int_equal(faces, 1);

    /* a bad unit */
    fs_library_member bad = {COUNT, 1, 0};
    assert_int_equal(fs_library_people_reject(dir, &bad, ann, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "no such unit of a library of 3 shards");
    bad = (fs_library_member){0, 0, 0}; /* neither a person nor a face */
    assert_int_equal(fs_library_people_move(dir, &bad, ann, 0, NULL, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "no such unit of a library of 3 shards");

    /* forget: Ann and her decisions are gone, her units in no person; the next update groups
     * them afresh (her shard persons join again, as a new person) */
    assert_int_equal(fs_library_people_list(dir, &list, &err), FS_OK);
    size_t ungrouped = list.ungrouped;
    fs_people_free(&list);
    assert_int_equal(fs_library_people_forget(dir, ann, &err), FS_OK);
    assert_int_equal(holder(dir, 0, 1, 0), 0);
    assert_int_equal(fs_library_people_list(dir, &list, &err), FS_OK);
    assert_int_equal(list.ungrouped, ungrouped + 9); /* 5 + 3 + identity 2's face */
    fs_people_free(&list);
    assert_int_equal(fs_library_people_forget(dir, ann, &err), FS_ERR_NOT_FOUND);
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    int64_t again = holder(dir, 0, 1, 0);
    assert_true(again != 0 && again != ann);
    assert_int_equal(holder(dir, 1, 4, 0), again);
    /* her decisions went with her: the unit rejected from her is back, the face moved into
     * her is with identity 2's other face */
    assert_int_equal(holder(dir, 2, 2, 0), again);
    assert_int_equal(holder(dir, 2, 0, 12), to);

    fs_people_units_free(&u);
    remove_tree(dir);
    free(dir);
}

/* An unsure face of shard 2 (in no unit: face 50) placed in Ann: a unit of its own there at
 * once, no longer in the unsure list nor counted unsure, pinned, so that an update whose units
 * hold it (its shard keeps it: fs_people_units_follow) leaves it in Ann. Placing it again, into
 * no such person, into a person with a face of its photo, or a face id of no shard is refused,
 * and nothing is written. A reject takes it out again: an unsure face once more. */
static void test_place(void **state)
{
    (void)state;
    fs_error err;
    fs_people_units u;
    fs_people_summary s;
    char *dir = new_library();
    fs_person_faces unsure = {0};
    /* before any update: nothing is placed */
    unsure.items = calloc(3, sizeof *unsure.items);
    assert_non_null(unsure.items);
    unsure.count = 3;
    for (size_t i = 0; i < 3; i++) {
        fs_person_face *f = &unsure.items[i];
        f->face_id = fs_library_id(50 + (int64_t)i, 2, COUNT);
        f->path = strdup("/photos/shard2/crowd.jpg");
        f->box[0] = 10.0f * (float)i, f->box[2] = f->box[0] + 8, f->box[3] = 8;
    }
    assert_int_equal(fs_library_people_unplaced(dir, &unsure, &err), FS_OK);
    assert_int_equal(unsure.count, 3);
    make_units(library, N_UNITS, &u);
    u.unsure = 3;
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    size_t faces, n;
    int64_t ann = person_of(dir, "Ann", &faces, &n, NULL);
    assert_int_equal(faces, 10);

    int64_t to = 0;
    assert_int_equal(fs_library_people_place(dir, &unsure.items[0], ann, NULL, &to, &err),
                     FS_OK);
    assert_int_equal(to, ann);
    assert_int_equal(holder(dir, 2, 0, 50), ann);
    assert_int_equal(person_of(dir, "Ann", &faces, &n, NULL), ann);
    assert_int_equal(faces, 11);
    fs_people list;
    assert_int_equal(fs_library_people_list(dir, &list, &err), FS_OK);
    assert_int_equal(list.unsure, 2);
    fs_people_free(&list);
    assert_int_equal(fs_library_people_unplaced(dir, &unsure, &err), FS_OK);
    assert_int_equal(unsure.count, 2); /* the other two, in their order */
    assert_true(unsure.items[0].face_id == fs_library_id(51, 2, COUNT) &&
                unsure.items[1].face_id == fs_library_id(52, 2, COUNT));

    /* refused: again (the message names the person), into no such person, no shard's face */
    fs_person_face again = {.face_id = fs_library_id(50, 2, COUNT), .path = "/p.jpg"};
    assert_int_equal(fs_library_people_place(dir, &again, 0, NULL, NULL, &err), FS_ERR_ARG);
    char want[128];
    snprintf(want, sizeof want, "face %lld is already person %lld's: move it from there",
             (long long)again.face_id, (long long)ann);
    assert_string_equal(err.message, want);
    assert_int_equal(fs_library_people_place(dir, &unsure.items[0], 999, NULL, NULL, &err),
                     FS_ERR_NOT_FOUND);
    assert_string_equal(err.message, "person 999: no such person");
    fs_person_face none = {.face_id = 2, .path = "/p.jpg"}; /* 2 / 3 shards: no shard id */
    assert_int_equal(fs_library_people_place(dir, &none, ann, NULL, NULL, &err), FS_ERR_ARG);
    assert_string_equal(err.message, "face 2: not a face id of a library of 3 shards");
    unsure.items[0].photo_id = fs_library_id(5, 2, COUNT);
    fs_person_face of_photo = {.face_id = fs_library_id(7, 2, COUNT),
                               .photo_id = unsure.items[0].photo_id};
    fs_person_faces anns = {.items = &of_photo, .count = 1}; /* Ann has a face of its photo */
    assert_int_equal(fs_library_people_place(dir, &unsure.items[0], ann, &anns, NULL, &err),
                     FS_ERR_ARG);
    snprintf(want, sizeof want,
             "person %lld already has a face of this photo: two faces of one photo are never one "
             "person", (long long)ann);
    assert_string_equal(err.message, want);
    assert_int_equal(holder(dir, 2, 0, 51), 0);

    /* into a new person */
    int64_t fresh = 0;
    assert_int_equal(fs_library_people_place(dir, &unsure.items[0], 0, NULL, &fresh, &err),
                     FS_OK);
    assert_true(fresh > 0 && fresh != ann);
    assert_int_equal(holder(dir, 2, 0, 51), fresh);

    /* the next update, whose units hold the placed faces (their shard keeps them), leaves them
     * where they were put, though face 50 is like none of Ann's */
    static const spec kept[] = {{9, 2, 0, 50, 1, NULL}, {9, 2, 0, 51, 1, NULL}};
    fs_people_units more;
    make_units(kept, 2, &more);
    fs_people_units all = u;
    all.items = calloc(N_UNITS + 2, sizeof *all.items);
    all.codes = malloc((N_UNITS + 2) * DIM * sizeof *all.codes);
    all.scales = malloc((N_UNITS + 2) * sizeof *all.scales);
    assert_true(all.items && all.codes && all.scales);
    memcpy(all.items, u.items, N_UNITS * sizeof *all.items);
    memcpy(all.items + N_UNITS, more.items, 2 * sizeof *all.items);
    memcpy(all.codes, u.codes, N_UNITS * DIM * sizeof *all.codes);
    memcpy(all.codes + N_UNITS * DIM, more.codes, 2 * DIM * sizeof *all.codes);
    memcpy(all.scales, u.scales, N_UNITS * sizeof *all.scales);
    memcpy(all.scales + N_UNITS, more.scales, 2 * sizeof *all.scales);
    all.count = N_UNITS + 2;
    all.unsure = 1;
    assert_int_equal(fs_library_people_update(dir, &all, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(holder(dir, 2, 0, 50), ann);
    assert_int_equal(holder(dir, 2, 0, 51), fresh);
    assert_int_equal(person_of(dir, "Ann", &faces, &n, NULL), ann);
    assert_int_equal(faces, 11);

    /* the library keeps it (a member and pin name it); taken out of Ann again, a reject alone
     * names it: not kept, and an unsure face again */
    fs_library_known *known;
    size_t n_known, at = 0;
    assert_int_equal(fs_library_people_known(dir, &known, &n_known, &err), FS_OK);
    while (at < n_known && !(known[at].unit.shard == 2 && known[at].unit.face_id == 50))
        at++;
    assert_true(at < n_known && known[at].kept && known[at].lead == 50);
    free(known);
    fs_library_member placed = {2, 0, 50};
    assert_int_equal(fs_library_people_reject(dir, &placed, ann, &err), FS_OK);
    assert_int_equal(fs_library_people_known(dir, &known, &n_known, &err), FS_OK);
    for (at = 0; at < n_known && !(known[at].unit.shard == 2 && known[at].unit.face_id == 50);)
        at++;
    assert_true(at < n_known && !known[at].kept);
    free(known);
    fs_person_face back = {.face_id = fs_library_id(50, 2, COUNT), .path = strdup("/p.jpg")};
    fs_person_faces one = {.items = &back, .count = 1};
    assert_int_equal(fs_library_people_unplaced(dir, &one, &err), FS_OK);
    assert_int_equal(one.count, 1);
    free(back.path);

    /* a file left empty by a first update that died: nothing placed; a damaged one: its error */
    char path[400];
    snprintf(path, sizeof path, "%s/people.db", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(fs_library_people_unplaced(dir, &unsure, &err), FS_OK);
    assert_int_equal(unsure.count, 2);
    fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("garbage", fp);
    fclose(fp);
    assert_int_not_equal(fs_library_people_unplaced(dir, &unsure, &err), FS_OK);
    char damaged[450];
    snprintf(damaged, sizeof damaged, "%s: file is not a database", path);
    assert_string_equal(err.message, damaged);
    assert_int_equal(fs_library_people_place(dir, &unsure.items[1], 0, NULL, NULL, &err),
                     FS_ERR_FORMAT);
    assert_string_equal(err.message, damaged);

    free(all.items); /* the units' strings are u's and more's */
    free(all.codes);
    free(all.scales);
    fs_people_units_free(&more);
    fs_people_units_free(&u);
    fs_person_faces_free(&unsure);
    remove_tree(dir);
    free(dir);
}

/* A face's unit, from a person's faces as the ranks send them. */
static void test_face_unit(void **state)
{
    (void)state;
    fs_person_face items[2] = {{0}};
    items[0].face_id = fs_library_id(40, 1, COUNT); /* in shard 1's person 7 */
    items[0].person_id = 7;
    items[1].face_id = fs_library_id(41, 2, COUNT); /* alone in shard 2 */
    fs_person_faces faces = {items, 2};
    fs_library_member unit;
    fs_error err;
    assert_int_equal(fs_library_face_unit(&faces, COUNT, items[0].face_id, &unit, &err), FS_OK);
    assert_int_equal(unit.shard, 1);
    assert_int_equal(unit.person_id, 7);
    assert_int_equal(unit.face_id, 0);
    assert_int_equal(fs_library_face_unit(&faces, COUNT, items[1].face_id, &unit, &err), FS_OK);
    assert_int_equal(unit.shard, 2);
    assert_int_equal(unit.person_id, 0);
    assert_int_equal(unit.face_id, 41);
    assert_int_equal(fs_library_face_unit(&faces, COUNT, 5, &unit, &err), FS_ERR_NOT_FOUND);
    assert_string_equal(err.message, "face 5 is not one of this person's");
}

/* A people file of the first version (no edits kept): read and named as it is, edits refused
 * until an update brings it up to date. */
static void test_first_version(void **state)
{
    (void)state;
    char *dir = new_library();
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s/people.db' 'CREATE TABLE person(id INTEGER PRIMARY KEY, name TEXT"
             " UNIQUE, faces INTEGER NOT NULL, photos INTEGER NOT NULL, face_id INTEGER NOT NULL,"
             " face_path TEXT, x0 REAL, y0 REAL, x1 REAL, y1 REAL); CREATE TABLE member(shard"
             " INTEGER NOT NULL, person_id INTEGER NOT NULL, face_id INTEGER NOT NULL, person"
             " INTEGER NOT NULL, faces INTEGER NOT NULL, PRIMARY KEY (shard, person_id,"
             " face_id)); INSERT INTO person VALUES (1, NULL, 8, 8, 3, \"/p.jpg\", 0, 0, 9, 9);"
             " INSERT INTO member VALUES (0, 1, 0, 1, 5); INSERT INTO member VALUES (1, 4, 0,"
             " 1, 3); PRAGMA user_version = 1;'",
             dir);
    assert_int_equal(system(cmd), 0);
    fs_error err;
    size_t faces, n;
    assert_int_equal(person_of(dir, "1", &faces, &n, NULL), 1);
    assert_int_equal(n, 2);
    assert_int_equal(fs_library_people_name(dir, 1, "Ann", &err), FS_OK);
    fs_library_member unit = {1, 4, 0};
    assert_int_equal(fs_library_people_reject(dir, &unit, 1, &err), FS_ERR_FORMAT);
    assert_non_null(strstr(err.message, "people update --shards"));
    assert_int_equal(person_of(dir, "Ann", &faces, &n, NULL), 1);
    assert_int_equal(n, 2); /* untouched */
    fs_library_known *known;
    size_t n_known;
    assert_int_equal(fs_library_people_known(dir, &known, &n_known, &err), FS_OK);
    assert_int_equal(n_known, 2); /* its members, without their faces */
    assert_int_equal(known[1].unit.shard, 1);
    assert_int_equal(known[1].unit.person_id, 4);
    assert_int_equal(known[1].lead, 0);
    free(known);

    fs_people_units u;
    make_units(library, N_UNITS, &u);
    fs_people_summary s;
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(person_of(dir, "Ann", &faces, &n, NULL), 1); /* most of its faces */
    assert_int_equal(faces, 10);
    assert_int_equal(fs_library_people_reject(dir, &unit, 1, &err), FS_OK);
    assert_int_equal(person_of(dir, "Ann", &faces, &n, NULL), 1);
    assert_int_equal(faces, 7);
    fs_people_units_free(&u);
    remove_tree(dir);
    free(dir);
}

/* A file of version 2 (pins and rejects without their unit's face): read as it is, brought to
 * version 3 by the next edit (the pins' faces from their members). */
static void test_second_version(void **state)
{
    (void)state;
    fs_error err;
    fs_people_units u;
    fs_people_summary s;
    char *dir = grouped_library(&u, &s);
    int64_t ann = holder(dir, 1, 4, 0);
    fs_library_member ann2 = {2, 2, 0}, ann0 = {0, 1, 0};
    assert_int_equal(fs_library_people_reject(dir, &ann2, ann, &err), FS_OK);
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s/people.db' 'ALTER TABLE pin DROP COLUMN lead;"
             " ALTER TABLE reject DROP COLUMN lead; PRAGMA user_version = 2;'", dir);
    assert_int_equal(system(cmd), 0);
    fs_library_known *known;
    size_t n_known;
    assert_int_equal(fs_library_people_known(dir, &known, &n_known, &err), FS_OK);
    size_t i = 0;
    while (i < n_known && !(known[i].unit.shard == 2 && known[i].unit.person_id == 2))
        i++;
    assert_true(i < n_known);
    assert_int_equal(known[i].lead, 0); /* not known in version 2 */
    free(known);
    assert_int_equal(fs_library_people_reject(dir, &ann0, ann, &err), FS_OK);
    snprintf(cmd, sizeof cmd,
             "test \"$(sqlite3 '%s/people.db' 'PRAGMA user_version; SELECT lead FROM reject"
             " WHERE shard = 0 AND person_id = 1; SELECT lead FROM pin WHERE shard = 1"
             " AND person_id = 4')\" = \"$(printf '3\\n%d\\n%d')\"",
             dir, (int)fs_library_id(101, 0, COUNT), (int)fs_library_id(104, 1, COUNT));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(holder(dir, 0, 1, 0), 0);
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    assert_true(holder(dir, 0, 1, 0) != ann);
    assert_true(holder(dir, 2, 2, 0) != ann);
    fs_people_units_free(&u);
    remove_tree(dir);
    free(dir);
}

/* An update groups while the user edits: an edit written meanwhile is not lost (the update sees
 * the file changed and groups again with it), whenever it lands; edits that go on through three
 * groupings make it give up (FS_ERR_BUSY). */
typedef struct update_job {
    const char *dir;
    const fs_people_units *u;
    fs_status rc;
    fs_error err;
} update_job;

static void *run_update(void *arg)
{
    update_job *j = arg;
    fs_people_summary s;
    j->rc = fs_library_people_update(j->dir, j->u, 0.5f, 0, &s, &j->err);
    return NULL;
}

static void test_edit_during_update(void **state)
{
    (void)state;
    char *dir = new_library();
    /* the library's units and enough lone faces of no one for the grouping to take a while */
    enum { EXTRA = 6000 };
    spec *specs = calloc(N_UNITS + EXTRA, sizeof *specs);
    assert_non_null(specs);
    memcpy(specs, library, sizeof library);
    for (int i = 0; i < EXTRA; i++)
        specs[N_UNITS + i] = (spec){100 + i, i % COUNT, 0, 1000 + i, 1, NULL};
    fs_people_units u;
    make_units(specs, N_UNITS + EXTRA, &u);
    fs_error err;
    fs_people_summary s;
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    int64_t big = holder(dir, 1, 5, 0);
    int64_t small = holder(dir, 0, 3, 0) == big ? holder(dir, 0, 4, 0) : holder(dir, 0, 3, 0);
    assert_true(big && small && big != small);

    update_job job = {dir, &u, FS_OK, {0}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_update, &job), 0);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL); /* into the grouping, most likely */
    assert_int_equal(fs_library_people_merge(dir, big, small, &err), FS_OK);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(job.rc, FS_OK);
    assert_int_equal(holder(dir, 0, 3, 0), big);
    assert_int_equal(holder(dir, 0, 4, 0), big);
    assert_int_equal(holder(dir, 1, 5, 0), big);

    /* names that change all along: no harm, no second grouping needed (the update reads them
     * in its transaction) */
    job.rc = FS_OK;
    assert_int_equal(pthread_create(&t, NULL, run_update, &job), 0);
    int done = 0;
    for (unsigned k = 0; !done; k++) {
        assert_int_equal(fs_library_people_name(dir, big, k % 2 ? "Eve" : "Dee", &err), FS_OK);
        done = pthread_tryjoin_np(t, NULL) == 0;
    }
    assert_int_equal(job.rc, FS_OK);
    fs_person p;
    fs_library_member *m;
    size_t n;
    assert_int_equal(fs_library_person_get(dir, big, &p, &m, &n, &err), FS_OK);
    assert_true(!strcmp(p.name, "Eve") || !strcmp(p.name, "Dee"));
    assert_int_equal(n, 3); /* the merge kept */
    fs_person_clear(&p);
    free(m);
    /* moves that never stop (Ann's shard-2 person back and forth): after three groupings the
     * update gives up, saying so, and leaves the file to the edits */
    int64_t ann = holder(dir, 0, 1, 0);
    fs_library_member unit = {2, 2, 0};
    assert_int_equal(holder(dir, 2, 2, 0), ann);
    assert_int_equal(pthread_create(&t, NULL, run_update, &job), 0);
    done = 0;
    for (unsigned k = 0; !done; k++) {
        int64_t from = k % 2 ? big : ann, to = k % 2 ? ann : big;
        assert_int_equal(fs_library_people_move(dir, &unit, from, to, NULL, &err), FS_OK);
        done = pthread_tryjoin_np(t, NULL) == 0;
    }
    assert_int_equal(job.rc, FS_ERR_BUSY);
    assert_non_null(strstr(job.err.message, "edited during each of 3 groupings"));
    assert_int_equal(holder(dir, 0, 3, 0), big);

    fs_people_units_free(&u);
    free(specs);
    remove_tree(dir);
    free(dir);
}

/* The units of the library's file (fs_library_people_known; an empty file is no people yet),
 * and the file's rows following the units a shard renamed (units->renames): a face moved into a
 * person stays there after its shard grouped it with another, a unit rejected from a person
 * stays out after its shard merged it into another person; a unit the file knows that swallows
 * one the user placed stays where it was (the decision dropped, counted). A move into a person
 * also keeps that person's own units in it. */
static void test_follow(void **state)
{
    (void)state;
    char *dir = new_library();
    fs_error err;
    fs_library_known *known;
    size_t n_known;
    assert_int_equal(fs_library_people_known(dir, &known, &n_known, &err), FS_OK);
    assert_int_equal(n_known, 0); /* no update yet */
    /* an empty file, as an update that died before its first commit leaves: no people yet */
    char path[400];
    snprintf(path, sizeof path, "%s/people.db", dir);
    FILE *empty = fopen(path, "w");
    assert_non_null(empty);
    fclose(empty);
    assert_int_equal(fs_library_people_known(dir, &known, &n_known, &err), FS_OK);
    assert_int_equal(n_known, 0);
    fs_people none;
    assert_int_equal(fs_library_people_list(dir, &none, &err), FS_ERR_NOT_FOUND);
    char want_none[900];
    snprintf(want_none, sizeof want_none,
             "%s: no people yet (group them: mpirun -np N facesearch people update --shards %s)",
             dir, dir);
    assert_string_equal(err.message, want_none);
    fs_people_units u;
    make_units(library, N_UNITS, &u);
    fs_people_summary s;
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);

    /* every member (identity 4's lone face is in no person), sorted, with its face */
    assert_int_equal(fs_library_people_known(dir, &known, &n_known, &err), FS_OK);
    assert_int_equal(n_known, N_UNITS - 1);
    for (size_t i = 1; i < n_known; i++) {
        const fs_library_member *a = &known[i - 1].unit, *b = &known[i].unit;
        assert_true(a->shard < b->shard || (a->shard == b->shard && a->person_id < b->person_id) ||
                    (a->shard == b->shard && a->person_id == b->person_id &&
                     a->face_id < b->face_id));
    }
    for (size_t i = 0; i < n_known; i++) {
        const fs_library_known *k = &known[i];
        assert_int_equal(k->lead, k->unit.person_id ? 100 + k->unit.person_id : k->unit.face_id);
    }
    free(known);

    /* identity 2's face of shard 2 moved into Ann, who has a unit of shard 2 already: after an
     * update Ann has it and keeps her own units */
    int64_t ann = holder(dir, 1, 4, 0), pair = holder(dir, 2, 0, 12);
    assert_true(ann && pair && ann != pair);
    fs_library_member lone12 = {2, 0, 12};
    assert_int_equal(fs_library_people_move(dir, &lone12, pair, ann, NULL, &err), FS_OK);
    assert_int_equal(fs_library_people_update(dir, &u, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(holder(dir, 2, 0, 12), ann);
    assert_int_equal(holder(dir, 0, 1, 0), ann);
    assert_int_equal(holder(dir, 1, 4, 0), ann);
    assert_int_equal(holder(dir, 2, 2, 0), ann);
    assert_int_equal(holder(dir, 0, 0, 11), pair);
    /* and Ann's unit of shard 1 (her only one there) rejected from her: no member now, the
     * reject keeps its face */
    fs_library_member ann1 = {1, 4, 0};
    assert_int_equal(fs_library_people_reject(dir, &ann1, ann, &err), FS_OK);
    assert_int_equal(fs_library_people_known(dir, &known, &n_known, &err), FS_OK);
    int seen = 0;
    for (size_t i = 0; i < n_known; i++)
        if (known[i].unit.shard == 1 && known[i].unit.person_id == 4) {
            seen++;
            assert_int_equal(known[i].lead, 104);
        }
    assert_int_equal(seen, 1);
    free(known);

    /* then the shards change: shard 2's face joins its new person 7, shard 1's person 4 is
     * merged into its new person 9; the ranks report both (fs_people_units_follow) */
    spec changed[N_UNITS];
    memcpy(changed, library, sizeof changed);
    for (size_t i = 0; i < N_UNITS; i++) {
        if (changed[i].shard == 2 && changed[i].face_id == 12)
            changed[i] = (spec){2, 2, 7, 0, 2, NULL};
        if (changed[i].shard == 1 && changed[i].person_id == 4)
            changed[i].person_id = 9;
    }
    fs_people_units v;
    make_units(changed, N_UNITS, &v);
    fs_unit_rename renames[] = {{{2, 0, 12}, {2, 7, 0}}, {{1, 4, 0}, {1, 9, 0}}};
    v.renames = renames;
    v.n_renames = 2;
    assert_int_equal(fs_library_people_update(dir, &v, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(s.edits_dropped, 0);
    assert_int_equal(holder(dir, 2, 7, 0), ann);
    assert_int_equal(holder(dir, 0, 1, 0), ann);
    assert_int_equal(holder(dir, 2, 2, 0), ann);
    int64_t out = holder(dir, 1, 9, 0);
    assert_true(out != ann);
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "test \"$(sqlite3 '%s/people.db' 'SELECT shard, person_id, face_id FROM reject"
             " WHERE person = %lld')\" = '1|9|0'", dir, (long long)ann);
    assert_int_equal(system(cmd), 0); /* the reject names the new unit */
    /* the rows moved: a later update without the renames keeps both decisions */
    v.renames = NULL;
    v.n_renames = 0;
    assert_int_equal(fs_library_people_update(dir, &v, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(holder(dir, 2, 7, 0), ann);
    assert_int_equal(holder(dir, 1, 9, 0), out);

    /* a unit the file knows swallows one the user placed: shard 0's face 11 (pinned where the
     * move out of its person left it) merged into shard 0's person 3 (identity 5, placed by the
     * grouping). Person 3 stays where it was, the pin is dropped and counted. */
    int64_t five = holder(dir, 0, 3, 0);
    assert_true(five && holder(dir, 0, 0, 11) && holder(dir, 0, 0, 11) != five);
    spec merged[N_UNITS - 1];
    size_t n_merged = 0;
    for (size_t i = 0; i < N_UNITS; i++)
        if (!(changed[i].shard == 0 && changed[i].face_id == 11))
            merged[n_merged++] = changed[i];
    fs_people_units w;
    make_units(merged, n_merged, &w);
    fs_unit_rename swallowed[] = {{{0, 0, 11}, {0, 3, 0}}};
    w.renames = swallowed;
    w.n_renames = 1;
    assert_int_equal(fs_library_people_update(dir, &w, 0.5f, 0, &s, &err), FS_OK);
    assert_int_equal(s.edits_dropped, 1);
    assert_int_equal(holder(dir, 0, 3, 0), five);
    w.renames = NULL;
    w.n_renames = 0;
    fs_people_units_free(&w);

    /* a rename out of the library's shards, or across shards: refused, nothing written */
    fs_unit_rename bad[] = {{{COUNT, 0, 12}, {COUNT, 7, 0}}};
    v.renames = bad;
    v.n_renames = 1;
    assert_int_equal(fs_library_people_update(dir, &v, 0.5f, 0, &s, &err), FS_ERR_ARG);
    char want[512];
    snprintf(want, sizeof want, "%s: a rename from shard 3 to shard 3, in a library of 3", dir);
    assert_string_equal(err.message, want);
    bad[0] = (fs_unit_rename){{2, 0, 12}, {1, 7, 0}};
    assert_int_equal(fs_library_people_update(dir, &v, 0.5f, 0, &s, &err), FS_ERR_ARG);
    snprintf(want, sizeof want, "%s: a rename from shard 2 to shard 1, in a library of 3", dir);
    assert_string_equal(err.message, want);
    assert_int_equal(holder(dir, 2, 7, 0), ann);
    v.renames = NULL;
    v.n_renames = 0;

    fs_people_units_free(&u);
    fs_people_units_free(&v);
    remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_edits),
        cmocka_unit_test(test_face_unit),
        cmocka_unit_test(test_place),
        cmocka_unit_test(test_first_version),
        cmocka_unit_test(test_second_version),
        cmocka_unit_test(test_edit_during_update),
        cmocka_unit_test(test_follow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
