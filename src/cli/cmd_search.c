/*
 * cmd_search.c — `facesearch search -q QUERY [-t DIR...]`: find the query person (SPEC.md §2).
 * Several query photos of one person (-q A -q B, or -q FOLDER: the photos in it) are matched by
 * their best face (--match max) or by their template (--match mean, fs_face_template).
 * Output: a table, JSON Lines or CSV, best match first; -o writes a crop of every match.
 * Exit 0 at least one match, 1 none, 2 an error (a photo that could not be read included).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#ifdef FACESEARCH_MPI
#include "facesearch_mpi.h"
#endif

#define MAX_TARGETS 256
#define MAX_QUERIES 256

typedef struct search_args {
    const char *queries[MAX_QUERIES]; /* -q: photos or folders, in the order given */
    size_t n_queries;
    int match_mean;         /* --match mean: one template of the query faces; else max */
    const char *person;     /* --person NAME|ID */
    const char *targets[MAX_TARGETS];
    size_t n_targets;
    int no_index, json, csv, hidden;
    long top, min_size;
    float threshold;
    int has_threshold;
    long face;              /* 0 = largest, -1 = all, N = the N-th face */
    const char *output;
    const char *shards;     /* --shards DIR: a sharded library, searched under mpirun */
} search_args;

static int parse_face(const char *text, long *face)
{
    if (strcmp(text, "largest") == 0)
        *face = 0;
    else if (strcmp(text, "all") == 0)
        *face = -1;
    else if (cli_parse_int("--face", text, 1, 100000, face))
        return -1;
    return 0;
}

static int parse(int argc, char **argv, search_args *a)
{
    static const struct option opts[] = {
        {"query", required_argument, NULL, 'q'},   {"target", required_argument, NULL, 't'},
        {"no-index", no_argument, NULL, 'n'},      {"top", required_argument, NULL, 'k'},
        {"threshold", required_argument, NULL, 'T'}, {"min-size", required_argument, NULL, 'm'},
        {"face", required_argument, NULL, 'f'},    {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},          {"csv", no_argument, NULL, 'c'},
        {"hidden", no_argument, NULL, 'H'},        {"match", required_argument, NULL, 'M'},
        {"person", required_argument, NULL, 'P'},
        {"shards", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":q:t:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'q':
            if (a->n_queries == MAX_QUERIES)
                return cli_fail("search: at most %d query photos or folders", MAX_QUERIES), -1;
            a->queries[a->n_queries++] = optarg;
            break;
        case 'M':
            if (strcmp(optarg, "max") != 0 && strcmp(optarg, "mean") != 0)
                return cli_fail("search: --match %s: expected max or mean", optarg), -1;
            a->match_mean = strcmp(optarg, "mean") == 0;
            break;
        case 't':
            if (a->n_targets == MAX_TARGETS)
                return cli_fail("search: at most %d folders", MAX_TARGETS), -1;
            a->targets[a->n_targets++] = optarg;
            break;
        case 'n': a->no_index = 1; break;
        case 'k':
            if (cli_parse_int("--top", optarg, 0, LONG_MAX, &a->top))
                return -1;
            break;
        case 'T':
            if (cli_parse_float("--threshold", optarg, -1.0f, 1.0f, &a->threshold))
                return -1;
            a->has_threshold = 1;
            break;
        case 'm':
            if (cli_parse_int("--min-size", optarg, 1, 100000, &a->min_size))
                return -1;
            break;
        case 'f':
            if (parse_face(optarg, &a->face))
                return -1;
            break;
        case 'o': a->output = optarg; break;
        case 'j': a->json = 1; break;
        case 'c': a->csv = 1; break;
        case 'H': a->hidden = 1; break;
        case 'P': a->person = optarg; break;
        case 'S': a->shards = optarg; break;
        case ':': return cli_fail("search: %s needs a value", argv[optind - 1]), -1;
        default: return cli_fail("search: %s: unknown option", cli_bad_option(argc, argv)), -1;
        }
    }
    if (optind < argc)
        return cli_fail("search: %s: unexpected argument (folders go after -t)", argv[optind]), -1;
    if (a->n_queries && a->person)
        return cli_fail("search: choose one of -q QUERY and --person NAME"), -1;
    if (!a->n_queries && !a->person)
        return cli_fail("search: no query photo (-q QUERY)"), -1;
    if (a->person && (a->csv || a->no_index || a->output))
        return cli_fail("search: --person takes --json and -t, not --csv, --no-index nor -o"),
               -1;
    if (a->json && a->csv)
        return cli_fail("search: choose one of --json and --csv"), -1;
    if (a->shards && (a->n_targets || a->no_index))
        return cli_fail("search: --shards searches a whole sharded library: not with -t nor "
                        "--no-index (index it with index --shards)"), -1;
    if (a->match_mean && a->face == -1)
        return cli_fail("search: --match mean folds one face per query photo (not --face all)"),
               -1;
    return 0;
}

/* The faces of one query photo chosen by --face, embedded, appended to *all (n of them, room for
 * cap). An exit status: 0, or EXIT_ERROR after printing why (the photo unreadable, no face, none
 * at least --min-size, no N-th face). */
static int photo_faces(fs_worker *w, const search_args *a, const char *photo, fs_face **all,
                       size_t *n, size_t *cap)
{
    fs_faces faces;
    fs_error err;
    if (fs_detect_file(w, photo, 1, &faces, &err) != FS_OK)
        return cli_fail_error(&err);
    if (faces.count == 0) {
        fs_faces_free(&faces);
        return cli_fail("%s: no face found in the query photo", photo);
    }
    /* --min-size applies to the query's faces too (they are numbered among those kept) */
    size_t found = faces.count, kept = 0;
    for (size_t i = 0; i < found; i++) {
        const float *b = faces.faces[i].box;
        if (b[2] - b[0] >= (float)a->min_size && b[3] - b[1] >= (float)a->min_size)
            faces.faces[kept++] = faces.faces[i];
    }
    faces.count = kept;
    int status = 0;
    size_t from = 0, count = kept;
    if (kept == 0)
        status = cli_fail("%s: %zu face%s, all smaller than %ld px (--min-size)", photo, found,
                          found == 1 ? "" : "s", a->min_size);
    else if (a->face != -1) {
        from = a->face == 0 ? (size_t)fs_faces_largest(&faces) : (size_t)a->face - 1;
        count = 1;
        if (from >= kept)
            status = cli_fail("%s: --face %ld, but the query photo has %zu face%s", photo, a->face,
                              kept, kept == 1 ? "" : "s");
    }
    if (status == 0 && *n + count > *cap) {
        size_t grown = (*n + count) * 2;
        fs_face *more = realloc(*all, grown * sizeof *more);
        if (!more)
            status = cli_fail("out of memory");
        else
            *all = more, *cap = grown;
    }
    if (status == 0) {
        memcpy(*all + *n, faces.faces + from, count * sizeof **all);
        *n += count;
    }
    fs_faces_free(&faces);
    return status;
}

static int by_name(const void *pa, const void *pb)
{
    return strcmp(*(char *const *)pa, *(char *const *)pb);
}

/* The photos of a query folder: its files (not hidden, not in subfolders), sorted by name, into
 * *paths (malloc'd, each malloc'd; caller frees). An exit status. */
static int folder_photos(const char *dir, char ***paths, size_t *n)
{
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return cli_fail("%s: %s", dir, strerror(errno));
    size_t cap = 0;
    int status = 0;
    struct dirent *e;
    while (status == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        struct stat st;
        if (!path) {
            status = cli_fail("out of memory");
            break;
        }
        snprintf(path, len, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **more = realloc(*paths, cap * sizeof *more);
            if (!more) {
                free(path);
                status = cli_fail("out of memory");
                break;
            }
            *paths = more;
        }
        (*paths)[(*n)++] = path;
    }
    closedir(d);
    if (status == 0 && *n > 1)
        qsort(*paths, *n, sizeof **paths, by_name);
    return status;
}

/* The query faces of every -q, in order: a photo's faces chosen by --face (a photo without one
 * is an error), a folder's photos' likewise (a file of the folder that gives no query face is
 * reported and skipped, *skipped counts them; a folder that gives none at all is an error). With
 * --match mean, the faces folded into their template. On success query holds them (caller frees
 * with fs_faces_free). An exit status. */
static int query_faces(fs_engine *engine, const search_args *a, fs_faces *query, size_t *skipped)
{
    memset(query, 0, sizeof *query);
    *skipped = 0;
    fs_worker *w;
    fs_error err;
    if (fs_worker_new(engine, 0, &w, &err) != FS_OK)
        return cli_fail_error(&err);
    fs_face *all = NULL;
    size_t n = 0, cap = 0;
    int status = 0;
    for (size_t q = 0; status == 0 && q < a->n_queries; q++) {
        struct stat st;
        if (stat(a->queries[q], &st) != 0 || !S_ISDIR(st.st_mode)) {
            status = photo_faces(w, a, a->queries[q], &all, &n, &cap);
            continue;
        }
        char **photos;
        size_t n_photos, before = n;
        status = folder_photos(a->queries[q], &photos, &n_photos);
        for (size_t i = 0; i < n_photos; i++) {
            if (status == 0 && photo_faces(w, a, photos[i], &all, &n, &cap) != 0)
                ++*skipped; /* reported: "PATH: why" */
            free(photos[i]);
        }
        free(photos);
        if (status == 0 && n == before)
            status = cli_fail("%s: no query face in this folder", a->queries[q]);
    }
    fs_worker_free(w);
    if (status == 0 && a->match_mean && n > 1) {
        if (fs_face_template(all, n, &all[0], &err) != FS_OK)
            status = cli_fail_error(&err);
        n = 1;
    }
    if (status != 0) {
        free(all);
        return status;
    }
    query->faces = all;
    query->count = n;
    return 0;
}

static void print_match(const fs_match *m, const search_args *a)
{
    const float *b = m->face.box;
    if (a->json) {
        fputs("{\"path\":", stdout);
        cli_json_string(stdout, m->path);
        printf(",\"similarity\":%.4f,", m->similarity);
        cli_json_face(stdout, &m->face);
        printf(",\"face\":%d}\n", m->face_number);
    } else if (a->csv) {
        cli_csv_field(stdout, m->path);
        printf(",%.4f,%d,%.1f,%.1f,%.1f,%.1f,%.4f\n", m->similarity, m->face_number, b[0], b[1],
               b[2], b[3], m->face.score);
    } else {
        printf("%.4f  face %-2d [%.0f,%.0f,%.0f,%.0f]  ", m->similarity, m->face_number, b[0],
               b[1], b[2], b[3]);
        cli_print_path(stdout, m->path);
        putchar('\n');
    }
}

/* Crop file name: similarity, source name and face number, e.g. 0.7312_party_face2.jpg; with the
 * folder's name in front when two matched photos share a base name (0.7312_a_IMG_1_face1.jpg),
 * and a counter when the name is taken (SPEC.md §5: never over an existing file). */
static int write_crop(fs_engine *engine, const char *dir, const fs_match *m, int clash)
{
    const char *base = cli_basename(m->path);
    const char *dot = strrchr(base, '.');
    int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    char parent[NAME_MAX + 1] = "", name[PATH_MAX], out[PATH_MAX];
    if (clash)
        cli_parent_name(m->path, parent, sizeof parent);
    if (snprintf(name, sizeof name, "%.4f_%s%s%.*s_face%d", m->similarity, parent,
                 *parent ? "_" : "", stem, base, m->face_number) >= (int)sizeof name ||
        cli_free_path(dir, name, ".jpg", out, sizeof out) != 0)
        return cli_fail("%s: no free name for the crop of %s", dir, m->path);
    fs_error err;
    if (fs_save_face_crop(engine, m->path, &m->face, out, &err) != FS_OK)
        return cli_fail_error(&err);
    return 0;
}

/* Writes a crop of every match into dir (made if absent). An exit status. */
static int write_crops(fs_engine *engine, const char *dir, const fs_matches *matches)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return cli_fail("%s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cli_fail("%s: not a folder", dir);
    const char **paths = malloc(matches->count * sizeof *paths);
    unsigned char *clash = malloc(matches->count);
    int status = 0;
    if (!paths || !clash)
        status = cli_fail("out of memory");
    for (size_t i = 0; status == 0 && i < matches->count; i++)
        paths[i] = matches->items[i].path;
    if (status == 0 && cli_basename_clashes(paths, matches->count, clash) != 0)
        status = cli_fail("out of memory");
    for (size_t i = 0; status == 0 && i < matches->count; i++)
        status = write_crop(engine, dir, &matches->items[i], clash[i]);
    free(paths);
    free(clash);
    return status;
}

static void print_problem(const char *message, void *ctx)
{
    (void)ctx;
    cli_fail("%s", message);
}

/* Prints the matches, writes crops, and turns the outcome into an exit status. */
static int report(const cli_globals *g, const search_args *a, fs_engine *engine,
                  fs_matches *matches)
{
    int status = 0;
    if (a->csv)
        puts("path,similarity,face,x1,y1,x2,y2,score");
    for (size_t i = 0; i < matches->count; i++)
        print_match(&matches->items[i], a);
    if (a->output && matches->count)
        status = write_crops(engine, a->output, matches);
    fflush(stdout); /* results first, then the summary, even when both go to one pipe */
    if (!g->quiet && !a->json && !a->csv)
        fprintf(stderr, "%zu match%s\n", matches->count, matches->count == 1 ? "" : "es");
    if (status == 0)
        status = matches->files_failed ? EXIT_ERROR : matches->count ? EXIT_MATCH : EXIT_NO_MATCH;
    return status;
}

static float threshold_of(const search_args *a, fs_engine *engine)
{
    return a->has_threshold ? a->threshold : fs_pack_threshold(fs_engine_pack(engine));
}

/* --no-index: the classic script's behaviour, nothing written. */
static int search_on_the_fly(const cli_globals *g, const search_args *a, fs_engine *engine,
                             const fs_faces *query, char *const *roots, size_t n)
{
    fs_scan_options so = {
        .workers = g->threads, .include_hidden = a->hidden, .top = (size_t)a->top,
        .threshold = threshold_of(a, engine), .on_problem = print_problem, .skip = a->output,
        .min_face = (int)a->min_size,
    };
    fs_matches matches = {0};
    fs_error err;
    if (fs_search_folders(engine, query->faces, query->count, (const char *const *)roots, n, &so,
                          &matches, &err) != FS_OK)
        return cli_fail_error(&err);
    if (!g->quiet && !a->json && !a->csv)
        fprintf(stderr, "searched %zu photo%s (%zu face%s)%s\n", matches.files,
                matches.files == 1 ? "" : "s", matches.faces, matches.faces == 1 ? "" : "s",
                matches.files_failed ? "; some photos could not be read" : "");
    int status = report(g, a, engine, &matches);
    fs_matches_free(&matches);
    return status;
}

/* The index: the folders (if any) are indexed first, then the search is restricted to them. */
static int search_index(const cli_globals *g, const search_args *a, fs_engine *engine,
                        const fs_faces *query, char *const *roots, size_t n)
{
    int indexing = 0;
    if (n) {
        fs_index_progress summary;
        indexing = cli_index_roots(g, engine, (const char *const *)roots, n, a->hidden,
                                   a->output, 1, &summary);
        if (indexing == CLI_INDEX_BUSY)
            indexing = 0; /* another run writes: search what is indexed (the note is printed) */
        else if (indexing && summary.total == 0)
            return indexing; /* nothing could be indexed at all (the error is printed) */
    }
    fs_index *ix;
    fs_error err;
    if (fs_index_open(g->db, engine, FS_INDEX_READ, &ix, &err) != FS_OK)
        return cli_fail_error(&err);
    fs_matches matches = {0};
    fs_status rc = fs_index_search(ix, query->faces, query->count, (const char *const *)roots, n,
                                   threshold_of(a, engine), (size_t)a->top, (int)a->min_size,
                                   &matches, &err);
    fs_index_close(ix);
    if (rc != FS_OK)
        return cli_fail_error(&err);
    int status = report(g, a, engine, &matches);
    fs_matches_free(&matches);
    return status == EXIT_NO_MATCH || indexing == 0 ? status : indexing;
}

#ifdef FACESEARCH_MPI
/* --shards DIR under mpirun: rank 0 embeds the query faces, every rank searches its shards
 * (fs_mpi_search), rank 0 prints the merged matches. A failure on rank 0 before the search (no
 * face in the query) still enters it, with no query faces, so that the other ranks end too. */
static int search_shards(const cli_globals *g, const search_args *a)
{
    fs_mpi *mpi;
    fs_mpi_library *lib;
    int status = cli_mpi_library_open(a->shards, &mpi, &lib);
    if (status)
        return status;
    int rank = fs_mpi_rank(mpi);
    fs_error err;
    fs_engine *engine = NULL;
    fs_faces query = {0};
    size_t skipped = 0;
    float threshold = 0;
    if (rank == 0) {
        char pack[256];
        cli_globals gs = *g;
        gs.models = cli_shards_pack(g, a->shards, pack, sizeof pack);
        status = cli_open_engine(&gs, 0, 0, &engine);
        if (status == 0)
            status = query_faces(engine, a, &query, &skipped);
        if (status == 0)
            threshold = threshold_of(a, engine);
    }
    fs_matches matches = {0};
    fs_status rc = fs_mpi_search(lib, query.faces, status ? 0 : query.count, threshold,
                                 (size_t)a->top, (int)a->min_size, &matches, &err);
    if (rc != FS_OK && status == 0)
        status = rank == 0 ? cli_fail_error(&err) : EXIT_ERROR;
    else if (rc == FS_OK && rank == 0) {
        status = report(g, a, engine, &matches);
        if (skipped && status != EXIT_ERROR)
            status = EXIT_ERROR; /* a query photo was skipped: reported, as a bad photo is */
    }
    fs_matches_free(&matches);
    fs_faces_free(&query);
    fs_engine_close(engine);
    fs_mpi_library_close(lib);
    fs_mpi_close(mpi);
    return status;
}
#else
static int search_shards(const cli_globals *g, const search_args *a)
{
    (void)g;
    return cli_fail_no_mpi(a->shards);
}
#endif

int cmd_search(const cli_globals *g, int argc, char **argv)
{
    search_args a = {.top = 50, .min_size = 20};
    if (parse(argc, argv, &a))
        return EXIT_ERROR;
    if (a.shards && a.person)
        return cli_search_person_shards(g, a.shards, a.person, a.json, 1);
    if (a.shards)
        return search_shards(g, &a);
    if (a.no_index && a.n_targets == 0)
        return cli_fail("search: --no-index needs folders to search (-t DIR)");

    /* a folder that cannot be read is reported, the others are searched (exit 2) */
    char *roots[MAX_TARGETS];
    size_t n;
    int missing = cli_existing_roots((char *const *)a.targets, a.n_targets, roots, &n);
    if (a.n_targets && n == 0)
        return EXIT_ERROR;
    if (a.person) {
        int status = cli_search_person(g, a.person, a.json, (const char *const *)roots, n);
        for (size_t k = 0; k < n; k++)
            free(roots[k]);
        return missing && status != EXIT_ERROR ? missing : status;
    }
    fs_engine *engine;
    /* faces are detected down to the pack's floor, whatever --min-size: it is applied to the
     * results, identically for the index (which keeps every face) and --no-index */
    int status = cli_open_engine(g, 0, 0, &engine);
    if (status == 0) {
        fs_faces query;
        size_t skipped;
        status = query_faces(engine, &a, &query, &skipped);
        if (status == 0) {
            status = a.no_index ? search_on_the_fly(g, &a, engine, &query, roots, n)
                                : search_index(g, &a, engine, &query, roots, n);
            fs_faces_free(&query);
            if (skipped && status != EXIT_ERROR)
                status = EXIT_ERROR; /* a query photo was skipped: reported, as a bad photo is */
        }
        fs_engine_close(engine);
    }
    for (size_t k = 0; k < n; k++)
        free(roots[k]);
    return missing && status != EXIT_ERROR ? missing : status;
}
