/*
 * cmd_people.c — `facesearch people ...`: group the indexed faces into persons, list and show
 * them, name, merge, move and reject; and `search --person NAME` (cli_search_person), every
 * photo of a person. Every subcommand takes --json (one JSON object per line). A person is given
 * by its name or its id; a face by the id `people show` prints. With --shards DIR, update, list,
 * show, unsure, name, merge, move, reject and forget work on the people of a sharded library
 * (import is one index's), and search
 * --shards --person finds one of them (cli_search_person_shards).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#ifdef FACESEARCH_MPI
#include "facesearch_mpi.h"
#endif

#define MAX_POSITIONAL 4

typedef struct people_args {
    const char *sub;
    const char *pos[MAX_POSITIONAL];
    int npos;
    int json, rebuild;
    const char *to, *from, *algorithm, *shards;
    float threshold, min_quality;
} people_args;

static int parse(int argc, char **argv, people_args *a)
{
    if (argc < 2)
        return cli_fail("people: which? update, list, show, unsure, name, merge, move, reject,"
                        " forget or import (see facesearch people --help)"), -1;
    a->sub = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(s, "--json")) {
            a->json = 1;
        } else if (!strcmp(s, "--rebuild")) {
            a->rebuild = 1;
        } else if (!strcmp(s, "--to") || !strcmp(s, "--from") || !strcmp(s, "--algorithm") ||
                   !strcmp(s, "--threshold") || !strcmp(s, "--min-quality") ||
                   !strcmp(s, "--shards")) {
            if (!has_value)
                return cli_fail("people %s: %s needs a value", a->sub, s), -1;
            const char *v = argv[++i];
            if (!strcmp(s, "--to"))
                a->to = v;
            else if (!strcmp(s, "--from"))
                a->from = v;
            else if (!strcmp(s, "--algorithm"))
                a->algorithm = v;
            else if (!strcmp(s, "--shards"))
                a->shards = v;
            else if (!strcmp(s, "--threshold")) {
                if (cli_parse_float("--threshold", v, 0.0f, 1.0f, &a->threshold))
                    return -1;
            } else if (cli_parse_float("--min-quality", v, 0.0f, 1.0f, &a->min_quality)) {
                return -1;
            } else if (a->min_quality == 0) {
                a->min_quality = -1.0f; /* the API's "no face is unsure" */
            }
        } else if (s[0] == '-' && s[1] && strcmp(s, "--") != 0) {
            return cli_fail("people %s: %s: unknown option", a->sub, s), -1;
        } else {
            if (!strcmp(s, "--") && ++i >= argc)
                break;
            if (a->npos == MAX_POSITIONAL)
                return cli_fail("people %s: %s: unexpected argument", a->sub, argv[i]), -1;
            a->pos[a->npos++] = argv[i];
        }
    }
    return 0;
}

static int want_args(const people_args *a, int n, const char *usage)
{
    if (a->npos != n)
        return cli_fail("people %s: %s (usage: facesearch people %s)",
                        a->sub, a->npos < n ? "missing argument" : "too many arguments", usage);
    return 0;
}

/* A face id: a positive number. */
static int parse_face(const char *text, int64_t *id)
{
    long v;
    if (cli_parse_int("FACE", text, 1, LONG_MAX, &v))
        return -1;
    *id = v;
    return 0;
}

/* A person by name or id, into *id. */
static int find_person(fs_index *ix, const char *key, int64_t *id)
{
    fs_person p;
    fs_error err;
    if (fs_people_find(ix, key, &p, &err) != FS_OK)
        return cli_fail_error(&err);
    *id = p.id;
    fs_person_clear(&p);
    return 0;
}

static void json_person(const fs_person *p)
{
    printf("{\"id\":%lld,\"name\":", (long long)p->id);
    if (p->name)
        cli_json_string(stdout, p->name);
    else
        fputs("null", stdout);
    printf(",\"faces\":%zu,\"photos\":%zu,\"face\":", p->faces, p->photos);
    if (p->face_id > 0) {
        printf("{\"id\":%lld,\"path\":", (long long)p->face_id);
        cli_json_string(stdout, p->face_path ? p->face_path : "");
        printf(",\"box\":[%.1f,%.1f,%.1f,%.1f]}", p->face_box[0], p->face_box[1],
               p->face_box[2], p->face_box[3]);
    } else {
        fputs("null", stdout);
    }
    putchar('}');
}

/* The options of people update, from the arguments; -1 when they are wrong (said). */
static int update_options(const people_args *a, fs_people_options *o)
{
    *o = (fs_people_options){.rebuild = a->rebuild, .threshold = a->threshold,
                             .min_quality = a->min_quality};
    if (a->algorithm && !strcmp(a->algorithm, "linkage"))
        o->algorithm = FS_PEOPLE_LINKAGE;
    else if (a->algorithm && strcmp(a->algorithm, "graph") != 0)
        return cli_fail("people update: --algorithm %s: use graph or linkage", a->algorithm), -1;
    if (want_args(a, 0, "update [--rebuild] [--algorithm A] [--threshold T] [--min-quality Q]"))
        return -1;
    return 0;
}

static void print_update(const cli_globals *g, const people_args *a, const fs_people_summary *s)
{
    if (a->json)
        printf("{\"faces\":%zu,\"grouped\":%zu,\"unsure\":%zu,\"people\":%zu,"
               "\"new_people\":%zu,\"edits_dropped\":%zu,\"seconds\":%.3f}\n", s->faces,
               s->grouped, s->unsure, s->people, s->new_people, s->edits_dropped, s->seconds);
    else if (!g->quiet)
        printf("%zu face%s looked at: %zu grouped, %zu unsure; %zu people (%zu new) in %.1fs\n",
               s->faces, s->faces == 1 ? "" : "s", s->grouped, s->unsure, s->people,
               s->new_people, s->seconds);
    if (!a->json && !g->quiet && s->edits_dropped)
        printf("%zu of your moves and rejects no longer apply: a shard has grouped their faces "
               "with faces placed otherwise\n", s->edits_dropped);
}

static int do_update(fs_index *ix, const people_args *a, const cli_globals *g)
{
    fs_people_options o;
    if (update_options(a, &o))
        return EXIT_ERROR;
    fs_people_summary s;
    fs_error err;
    if (fs_people_update(ix, &o, &s, &err) != FS_OK)
        return cli_fail_error(&err);
    print_update(g, a, &s);
    return 0;
}

static void print_list(const fs_people *list, int json)
{
    for (size_t i = 0; i < list->count; i++) {
        const fs_person *p = &list->items[i];
        if (json) {
            json_person(p);
            putchar('\n');
        } else {
            printf("%-6lld %-24s %5zu faces %5zu photos  ", (long long)p->id,
                   p->name ? p->name : "-", p->faces, p->photos);
            if (p->face_path)
                cli_print_path(stdout, p->face_path);
            putchar('\n');
        }
    }
}

static int do_list(fs_index *ix, const people_args *a)
{
    if (want_args(a, 0, "list"))
        return EXIT_ERROR;
    fs_people list;
    fs_error err;
    if (fs_people_list(ix, &list, &err) != FS_OK)
        return cli_fail_error(&err);
    print_list(&list, a->json);
    if (!a->json)
        printf("%zu people; %zu unsure face%s, %zu ungrouped, %zu not looked at yet\n",
               list.count, list.unsure, list.unsure == 1 ? "" : "s", list.ungrouped,
               list.unseen);
    fs_people_free(&list);
    return 0;
}

static void print_face(const fs_person_face *f, const fs_person *p, int json)
{
    if (json) {
        fputs("{\"path\":", stdout);
        cli_json_string(stdout, f->path);
        if (p->id > 0)
            printf(",\"person\":%lld,\"name\":", (long long)p->id);
        else
            fputs(",\"person\":null,\"name\":", stdout);
        if (p->name)
            cli_json_string(stdout, p->name);
        else
            fputs("null", stdout);
        printf(",\"face_id\":%lld,\"photo_id\":%lld,\"box\":[%.1f,%.1f,%.1f,%.1f],"
               "\"score\":%.4f,\"quality\":%.3f,\"pinned\":%s,\"face\":%d}\n",
               (long long)f->face_id, (long long)f->photo_id, f->box[0], f->box[1], f->box[2],
               f->box[3], f->score, f->quality, f->pinned ? "true" : "false", f->face_number);
    } else {
        printf("face %-8lld %s q=%.2f face %-2d [%.0f,%.0f,%.0f,%.0f]  ", (long long)f->face_id,
               f->pinned ? "pinned" : "      ", f->quality, f->face_number, f->box[0],
               f->box[1], f->box[2], f->box[3]);
        cli_print_path(stdout, f->path);
        putchar('\n');
    }
}

static int cmp_face_path(const void *x, const void *y)
{
    const fs_person_face *a = x, *b = y;
    int c = strcmp(a->path, b->path);
    return c ? c : (a->face_number > b->face_number) - (a->face_number < b->face_number);
}

/* Prints the faces of person p under the roots (all when n is 0); by_path sorts them by photo.
 * Exit status 0 when some were printed, 1 when none. */
static int print_person(const fs_person *p, fs_person_faces *faces, int json, int by_path,
                        const char *const *roots, size_t n)
{
    if (by_path)
        qsort(faces->items, faces->count, sizeof *faces->items, cmp_face_path);
    if (!json && !by_path)
        printf("person %lld%s%s: %zu faces in %zu photos\n", (long long)p->id,
               p->name ? " " : "", p->name ? p->name : "", p->faces, p->photos);
    size_t shown = 0;
    for (size_t i = 0; i < faces->count; i++) {
        const char *path = faces->items[i].path;
        int keep = n == 0;
        for (size_t r = 0; r < n && !keep; r++) {
            size_t len = strlen(roots[r]);
            keep = !strcmp(path, roots[r]) ||
                   (!strncmp(path, roots[r], len) &&
                    (path[len] == '/' || (len && roots[r][len - 1] == '/')));
        }
        if (keep) {
            print_face(&faces->items[i], p, json);
            shown++;
        }
    }
    return shown ? EXIT_MATCH : EXIT_NO_MATCH;
}

/* Prints the faces of the person `key` of ix (print_person); 2 on error. */
static int show_person(fs_index *ix, const char *key, int json, int by_path,
                       const char *const *roots, size_t n)
{
    fs_person p;
    fs_person_faces faces;
    fs_error err;
    if (fs_people_find(ix, key, &p, &err) != FS_OK)
        return cli_fail_error(&err);
    if (fs_person_faces_get(ix, p.id, &faces, &err) != FS_OK) {
        fs_person_clear(&p);
        return cli_fail_error(&err);
    }
    int status = print_person(&p, &faces, json, by_path, roots, n);
    fs_person_faces_free(&faces);
    fs_person_clear(&p);
    return status;
}

static int do_edit(fs_index *ix, const people_args *a)
{
    fs_error err;
    fs_status rc = FS_OK;
    int64_t id = 0, other = 0, face = 0, result = 0;
    if (!strcmp(a->sub, "name")) {
        if (want_args(a, 2, "name ID|NAME \"Name\"") || find_person(ix, a->pos[0], &id))
            return EXIT_ERROR;
        rc = fs_people_name(ix, id, a->pos[1], &err);
        result = id;
    } else if (!strcmp(a->sub, "merge")) {
        if (want_args(a, 2, "merge A B") || find_person(ix, a->pos[0], &id) ||
            find_person(ix, a->pos[1], &other))
            return EXIT_ERROR;
        rc = fs_people_merge(ix, id, other, &err);
        result = id;
    } else if (!strcmp(a->sub, "move")) {
        if (want_args(a, 1, "move FACE --to ID|NAME|new") || parse_face(a->pos[0], &face))
            return EXIT_ERROR;
        if (!a->to)
            return cli_fail("people move: where to? (--to ID|NAME|new)");
        if (strcmp(a->to, "new") != 0 && find_person(ix, a->to, &id))
            return EXIT_ERROR;
        rc = fs_people_move(ix, face, id, &result, &err);
    } else if (!strcmp(a->sub, "reject")) {
        if (want_args(a, 1, "reject FACE --from ID|NAME") || parse_face(a->pos[0], &face))
            return EXIT_ERROR;
        if (!a->from)
            return cli_fail("people reject: from whom? (--from ID|NAME)");
        if (find_person(ix, a->from, &id))
            return EXIT_ERROR;
        rc = fs_people_reject(ix, face, id, &err);
        result = id;
    } else { /* forget */
        if (want_args(a, 1, "forget ID|NAME") || find_person(ix, a->pos[0], &id))
            return EXIT_ERROR;
        rc = fs_people_forget(ix, id, &err);
        result = id;
    }
    if (rc != FS_OK)
        return cli_fail_error(&err);
    if (a->json && face)
        printf("{\"done\":\"%s\",\"person\":%lld,\"face\":%lld}\n", a->sub,
               (long long)result, (long long)face);
    else if (a->json)
        printf("{\"done\":\"%s\",\"person\":%lld,\"face\":null}\n", a->sub,
               (long long)result);
    return 0;
}

static void print_unsure(const fs_person_faces *faces, int json)
{
    fs_person none = {0};
    for (size_t i = 0; i < faces->count; i++)
        print_face(&faces->items[i], &none, json);
    if (!json)
        printf("%zu unsure face%s\n", faces->count, faces->count == 1 ? "" : "s");
}

static int do_unsure(fs_index *ix, const people_args *a)
{
    if (want_args(a, 0, "unsure"))
        return EXIT_ERROR;
    fs_person_faces faces;
    fs_error err;
    if (fs_people_unsure(ix, &faces, &err) != FS_OK)
        return cli_fail_error(&err);
    print_unsure(&faces, a->json);
    fs_person_faces_free(&faces);
    return 0;
}

static int do_import(fs_index *ix, const people_args *a, const cli_globals *g)
{
    if (want_args(a, 1, "import OTHER_INDEX_DIR"))
        return EXIT_ERROR;
    size_t people, decisions;
    fs_error err;
    if (fs_people_import(ix, a->pos[0], &people, &decisions, &err) != FS_OK)
        return cli_fail_error(&err);
    if (a->json)
        printf("{\"people\":%zu,\"decisions\":%zu}\n", people, decisions);
    else if (!g->quiet)
        printf("%zu people and %zu decisions imported; `people update` places their faces\n",
               people, decisions);
    return 0;
}

/* ---- A sharded library (--shards DIR) -----------------------------------------------------
 * update runs under mpirun (every rank groups its shards, rank 0 joins them: fs_mpi_people_update);
 * list, name and merge read and write the library's people file alone; show (and search
 * --shards --person), move and reject gather a person's faces from the ranks. The other
 * subcommands work on one shard's people: open it with --db DIR/shard-NNN. */

#ifdef FACESEARCH_MPI
static int update_shards(const cli_globals *g, const people_args *a)
{
    fs_people_options o;
    if (update_options(a, &o))
        return EXIT_ERROR;
    fs_mpi *mpi;
    fs_error err;
    if (fs_mpi_open(&mpi, &err) != FS_OK)
        return cli_fail_error(&err);
    int rank = fs_mpi_rank(mpi);
    char pack[256];
    cli_globals gs = *g;
    gs.models = cli_shards_pack(g, a->shards, pack, sizeof pack);
    fs_engine *engine = NULL;
    int status = cli_open_engine(&gs, 0, 0, &engine); /* NULL fails the run on every rank */
    fs_people_summary s;
    fs_status rc = fs_mpi_people_update(mpi, engine, a->shards, g->wait, &o, &s, &err);
    if (rc != FS_OK && status == 0)
        status = rank == 0 ? cli_fail_error(&err) : EXIT_ERROR;
    else if (rc == FS_OK && rank == 0)
        print_update(g, a, &s);
    fs_engine_close(engine);
    fs_mpi_close(mpi);
    return status;
}

int cli_search_person_shards(const cli_globals *g, const char *dir, const char *key, int json,
                             int by_path)
{
    (void)g;
    fs_mpi *mpi;
    fs_mpi_library *lib;
    int status = cli_mpi_library_open(dir, &mpi, &lib);
    if (status)
        return status;
    int rank = fs_mpi_rank(mpi);
    fs_error err;
    status = EXIT_ERROR;
    fs_person p;
    fs_person_faces faces;
    if (fs_mpi_person_faces(lib, key, &p, &faces, &err) != FS_OK) {
        if (rank == 0)
            cli_fail_error(&err);
    } else {
        status = rank == 0 ? print_person(&p, &faces, json, by_path, NULL, 0) : EXIT_MATCH;
        fs_person_faces_free(&faces);
        if (rank == 0)
            fs_person_clear(&p);
    }
    fs_mpi_library_close(lib);
    fs_mpi_close(mpi);
    return status;
}

/* Rank 0's part of edit_unit_shards: face found among faces (those of person from, or without
 * --from the unsure faces), then its unit moved or taken out, or the unsure face placed (in a
 * person whose faces are to_faces). */
static fs_status edit_unit(const people_args *a, int64_t face, const fs_person *from,
                           const fs_person_faces *faces, const fs_person_faces *to_faces,
                           int64_t *person, fs_error *err)
{
    fs_shards_info info;
    fs_library_member unit;
    size_t i = 0;
    fs_status rc = FS_OK;
    if (a->from) {
        rc = fs_shards_open(a->shards, &info, err);
        if (rc == FS_OK)
            rc = fs_library_face_unit(faces, info.count, face, &unit, err);
    } else {
        while (i < faces->count && faces->items[i].face_id != face)
            i++;
        if (i == faces->count) {
            rc = err->code = FS_ERR_NOT_FOUND;
            snprintf(err->message, sizeof err->message,
                     "face %lld is not an unsure face: give --from, the person it is in",
                     (long long)face);
        }
    }
    fs_person to = {0};
    fs_library_member *members = NULL;
    size_t n;
    if (rc == FS_OK && a->to && strcmp(a->to, "new") != 0)
        rc = fs_library_person_find(a->shards, a->to, &to, &members, &n, err);
    free(members);
    if (rc == FS_OK && !a->from)
        rc = fs_library_people_place(a->shards, &faces->items[i], to.id, to_faces, person, err);
    else if (rc == FS_OK && a->to)
        rc = fs_library_people_move(a->shards, &unit, from->id, to.id, person, err);
    else if (rc == FS_OK)
        rc = fs_library_people_reject(a->shards, &unit, from->id, err);
    fs_person_clear(&to);
    return rc;
}

/* people move FACE --to ID|NAME|new [--from ID|NAME] and people reject FACE --from ID|NAME, on a
 * sharded library: the ranks send the --from person's faces (without --from, a move of an
 * unsure face: the unsure faces), rank 0 finds the face among them and moves its unit, takes it
 * out, or places the unsure face in the person (fs_library_people_place). */
static int edit_unit_shards(const people_args *a, int64_t face)
{
    fs_mpi *mpi;
    fs_mpi_library *lib;
    int status = cli_mpi_library_open(a->shards, &mpi, &lib);
    if (status)
        return status;
    int rank = fs_mpi_rank(mpi);
    fs_error err;
    fs_person from = {0};
    fs_person_faces faces = {0};
    fs_person_faces to_faces = {0}; /* an unsure face's destination's, for its photos */
    fs_status rc = a->from ? fs_mpi_person_faces(lib, a->from, &from, &faces, &err)
                           : fs_mpi_people_unsure(lib, &faces, &err);
    if (rc == FS_OK && !a->from && strcmp(a->to, "new") != 0)
        rc = fs_mpi_person_faces(lib, a->to, NULL, &to_faces, &err);
    int64_t person = from.id;
    if (rc == FS_OK && rank == 0)
        rc = edit_unit(a, face, &from, &faces, &to_faces, &person, &err);
    status = rc == FS_OK ? 0 : EXIT_ERROR;
    if (rank == 0 && rc != FS_OK)
        cli_fail_error(&err);
    else if (rank == 0 && a->json)
        printf("{\"done\":\"%s\",\"person\":%lld,\"face\":%lld}\n", a->sub,
               (long long)person, (long long)face);
    fs_person_faces_free(&faces);
    fs_person_faces_free(&to_faces);
    fs_person_clear(&from);
    fs_mpi_library_close(lib);
    fs_mpi_close(mpi);
    return status;
}

/* people unsure --shards: every rank sends the unsure faces of its shards; rank 0 prints them. */
static int unsure_shards(const people_args *a)
{
    fs_mpi *mpi;
    fs_mpi_library *lib;
    int status = cli_mpi_library_open(a->shards, &mpi, &lib);
    if (status)
        return status;
    int rank = fs_mpi_rank(mpi);
    fs_error err;
    fs_person_faces faces;
    if (fs_mpi_people_unsure(lib, &faces, &err) != FS_OK) {
        status = EXIT_ERROR;
        if (rank == 0)
            cli_fail_error(&err);
    } else if (rank == 0) {
        print_unsure(&faces, a->json);
    }
    fs_person_faces_free(&faces);
    fs_mpi_library_close(lib);
    fs_mpi_close(mpi);
    return status;
}
#else
static int update_shards(const cli_globals *g, const people_args *a)
{
    (void)g;
    return cli_fail_no_mpi(a->shards);
}

static int unsure_shards(const people_args *a)
{
    return cli_fail_no_mpi(a->shards);
}

static int edit_unit_shards(const people_args *a, int64_t face)
{
    (void)face;
    return cli_fail_no_mpi(a->shards);
}

int cli_search_person_shards(const cli_globals *g, const char *dir, const char *key, int json,
                             int by_path)
{
    (void)g, (void)key, (void)json, (void)by_path;
    return cli_fail_no_mpi(dir);
}
#endif

/* The library person named or numbered key, into *id; -1 when there is none (said). */
static int library_person(const char *dir, const char *key, int64_t *id)
{
    fs_person p;
    fs_library_member *members;
    size_t n;
    fs_error err;
    if (fs_library_person_find(dir, key, &p, &members, &n, &err) != FS_OK)
        return cli_fail_error(&err);
    *id = p.id;
    free(members);
    fs_person_clear(&p);
    return 0;
}

static int people_shards(const cli_globals *g, const people_args *a)
{
    fs_error err;
    if (!strcmp(a->sub, "update"))
        return update_shards(g, a);
    if (!strcmp(a->sub, "show"))
        return want_args(a, 1, "show ID|NAME --shards DIR")
                   ? EXIT_ERROR
                   : cli_search_person_shards(g, a->shards, a->pos[0], a->json, 0) ==
                             EXIT_ERROR
                         ? EXIT_ERROR
                         : 0;
    if (!strcmp(a->sub, "unsure"))
        return want_args(a, 0, "unsure --shards DIR") ? EXIT_ERROR : unsure_shards(a);
    if (!strcmp(a->sub, "list")) {
        fs_people list;
        if (want_args(a, 0, "list --shards DIR"))
            return EXIT_ERROR;
        if (fs_library_people_list(a->shards, &list, &err) != FS_OK)
            return cli_fail_error(&err);
        print_list(&list, a->json);
        if (!a->json)
            printf("%zu people in the library; %zu unsure face%s, %zu ungrouped, %zu not looked "
                   "at yet\n",
                   list.count, list.unsure, list.unsure == 1 ? "" : "s", list.ungrouped,
                   list.unseen);
        fs_people_free(&list);
        return 0;
    }
    /* the edits of people.db alone */
    int64_t id = 0, other = 0;
    fs_status rc = FS_ERR_ARG;
    if (!strcmp(a->sub, "name")) {
        if (want_args(a, 2, "name ID|NAME \"Name\" --shards DIR") ||
            library_person(a->shards, a->pos[0], &id))
            return EXIT_ERROR;
        rc = fs_library_people_name(a->shards, id, a->pos[1], &err);
    } else if (!strcmp(a->sub, "merge")) {
        if (want_args(a, 2, "merge A B --shards DIR") ||
            library_person(a->shards, a->pos[0], &id) ||
            library_person(a->shards, a->pos[1], &other))
            return EXIT_ERROR;
        rc = fs_library_people_merge(a->shards, id, other, &err);
    } else if (!strcmp(a->sub, "forget")) {
        if (want_args(a, 1, "forget ID|NAME --shards DIR") ||
            library_person(a->shards, a->pos[0], &id))
            return EXIT_ERROR;
        rc = fs_library_people_forget(a->shards, id, &err);
    }
    if (id) {
        if (rc != FS_OK)
            return cli_fail_error(&err);
        if (a->json)
            printf("{\"done\":\"%s\",\"person\":%lld,\"face\":null}\n", a->sub, (long long)id);
        return 0;
    }
    int64_t face;
    if (!strcmp(a->sub, "move")) {
        if (want_args(a, 1, "move FACE --to ID|NAME|new [--from ID|NAME] --shards DIR") ||
            parse_face(a->pos[0], &face))
            return EXIT_ERROR;
        if (!a->to)
            return cli_fail("people move: where to? (--to ID|NAME|new)");
        return edit_unit_shards(a, face); /* without --from: one of the unsure faces */
    }
    if (!strcmp(a->sub, "reject")) {
        if (want_args(a, 1, "reject FACE --from ID|NAME --shards DIR") ||
            parse_face(a->pos[0], &face))
            return EXIT_ERROR;
        if (!a->from)
            return cli_fail("people reject: from whom? (--from ID|NAME)");
        return edit_unit_shards(a, face);
    }
    return cli_fail("people %s: not with --shards (it works on one shard's people: open the "
                    "shard with --db %s/shard-NNN)", a->sub, a->shards);
}

int cmd_people(const cli_globals *g, int argc, char **argv)
{
    people_args a;
    memset(&a, 0, sizeof a);
    if (parse(argc, argv, &a))
        return EXIT_ERROR;
    static const char *const subs[] = {"update", "list", "show", "name", "merge", "move",
                                       "reject", "forget", "import", "unsure"};
    int known = 0;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        known |= !strcmp(a.sub, subs[i]);
    if (!known)
        return cli_fail("people: %s: unknown subcommand (see facesearch people --help)", a.sub);
    if (a.shards)
        return people_shards(g, &a);
    int reading = !strcmp(a.sub, "list") || !strcmp(a.sub, "show") || !strcmp(a.sub, "unsure");
    fs_engine *engine = NULL;
    fs_index *ix;
    fs_error err;
    if (!reading && cli_open_engine(g, 0, 0, &engine))
        return EXIT_ERROR;
    int flags = reading ? FS_INDEX_READ
                        : FS_INDEX_WRITE | FS_INDEX_EXISTING | (g->wait ? FS_INDEX_WAIT : 0);
    if (fs_index_open(g->db, engine, flags, &ix, &err) != FS_OK) {
        fs_engine_close(engine);
        return cli_fail_error(&err);
    }
    int status;
    if (!strcmp(a.sub, "update"))
        status = do_update(ix, &a, g);
    else if (!strcmp(a.sub, "list"))
        status = do_list(ix, &a);
    else if (!strcmp(a.sub, "show"))
        status = want_args(&a, 1, "show ID|NAME")
                     ? EXIT_ERROR
                     : show_person(ix, a.pos[0], a.json, 0, NULL, 0) == EXIT_ERROR ? EXIT_ERROR
                                                                                   : 0;
    else if (!strcmp(a.sub, "unsure"))
        status = do_unsure(ix, &a);
    else if (!strcmp(a.sub, "import"))
        status = do_import(ix, &a, g);
    else
        status = do_edit(ix, &a);
    fs_index_close(ix);
    fs_engine_close(engine);
    return status;
}

int cli_search_person(const cli_globals *g, const char *key, int json,
                      const char *const *roots, size_t n)
{
    fs_index *ix;
    fs_error err;
    if (fs_index_open(g->db, NULL, FS_INDEX_READ, &ix, &err) != FS_OK)
        return cli_fail_error(&err);
    int status = show_person(ix, key, json, 1, roots, n);
    fs_index_close(ix);
    return status;
}
