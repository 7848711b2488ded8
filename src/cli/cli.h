/*
 * cli.h — what the command-line tool's files share: global options, the command table, and the
 * helpers that print errors the way SPEC.md §2 says (one line on stderr, "facesearch: ...").
 * The tool uses only the public API in facesearch.h.
 */
#ifndef FS_CLI_H
#define FS_CLI_H

#include <stdio.h>

#include "facesearch.h"
#ifdef FACESEARCH_MPI
#include "facesearch_mpi.h"
#endif

/* Exit statuses, like grep. */
enum { EXIT_MATCH = 0, EXIT_NO_MATCH = 1, EXIT_ERROR = 2 };

typedef struct cli_globals {
    const char *models;   /* --models PACK (name or folder); default: the index's own pack, or
                           * "default" when there is no index yet */
    int models_given;     /* --models was given (else a sharded library's manifest names it) */
    const char *db;       /* --db PATH, else $FACESEARCH_DB, else NULL = the default index */
    int threads;          /* --threads N; 0 = all cores */
    fs_precision precision; /* --precision, else $FACESEARCH_PRECISION, else auto */
    int quiet, verbose;
    int wait;             /* --wait: a writer waits for a running writer instead of failing */
} cli_globals;

typedef struct cli_command {
    const char *name;
    const char *summary;  /* one line for `facesearch --help` */
    const char *usage;    /* full text for `facesearch NAME --help` */
    /* NULL: not built yet. argv[0] is the command name. */
    int (*run)(const cli_globals *g, int argc, char **argv);
} cli_command;

extern const cli_command cli_commands[];

/* Prints "facesearch: MESSAGE" on stderr and returns EXIT_ERROR. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "facesearch: " + err->message on stderr and returns EXIT_ERROR. */
int cli_fail_error(const fs_error *err);
/* True when argv holds --help or -h before any "--". */
int cli_wants_help(int argc, char **argv);

/* Output and option helpers (output.c). The parse functions print the error and return -1. */
void cli_json_string(FILE *out, const char *s);
void cli_csv_field(FILE *out, const char *s);
void cli_json_face(FILE *out, const fs_face *f);
/* A path in a table: as is, but with control characters as \xNN when out is a terminal. */
void cli_print_path(FILE *out, const char *path);
/* After getopt_long returned '?': the argument that held the unknown option ("-dash.png", not
 * the command's name). */
const char *cli_bad_option(int argc, char **argv);
int cli_parse_float(const char *opt, const char *text, float lo, float hi, float *out);
int cli_parse_int(const char *opt, const char *text, long lo, long hi, long *out);
/* Opens the engine for the global --models pack; prints the error and returns EXIT_ERROR. */
int cli_open_engine(const cli_globals *g, int min_face, float det_threshold, fs_engine **out);

/* The canonical spelling of path (fs_path_canonical), malloc'd; NULL after printing the error. */
char *cli_canonical(const char *path);
/* The canonical paths of those of the n args that exist, into roots (*kept of them, malloc'd);
 * each one that does not is reported. 0, or EXIT_ERROR if any was reported. */
int cli_existing_roots(char *const *args, size_t n, char **roots, size_t *kept);
/* cli_index_roots' status when another writer holds the index and busy_ok was set: the note is
 * printed, nothing was indexed. */
enum { CLI_INDEX_BUSY = 3 };
/* Indexes the roots with engine (opened with the pack's face floor: the index keeps every face),
 * progress and summary on stderr, leaving out the folder skip (may be NULL); an exit status, or
 * CLI_INDEX_BUSY (see above). */
int cli_index_roots(const cli_globals *g, fs_engine *engine, const char *const *roots, size_t n,
                    int hidden, const char *skip, int busy_ok, fs_index_progress *summary);

/* "DIR: --shards needs facesearch built with MPI ..." (a build without libopenmpi-dev); returns
 * EXIT_ERROR. */
int cli_fail_no_mpi(const char *dir);
/* The pack of a sharded library's shards: --models if given, else the manifest's (into buf),
 * else g->models. */
const char *cli_shards_pack(const cli_globals *g, const char *dir, char *buf, size_t size);
#ifdef FACESEARCH_MPI
/* Under mpirun: MPI and the sharded library dir opened into *mpi and *lib; 0, or an exit status
 * on every rank after the error is said (on rank 0), with nothing left open. */
int cli_mpi_library_open(const char *dir, fs_mpi **mpi, fs_mpi_library **lib);
#endif

/* Output file names (outnames.c), SPEC.md §5: never over an existing file, unique names. */
/* The last component of path (a pointer into it). */
const char *cli_basename(const char *path);
/* The name of the folder holding path ("" if path has no folder part). */
void cli_parent_name(const char *path, char *buf, size_t size);
/* clash[i] = 1 when another of the n paths (a different string) has the same base name; 0 or -1
 * when out of memory. */
int cli_basename_clashes(const char *const *paths, size_t n, unsigned char *clash);
/* buf = dir/stem+ext if no file has that name, else dir/stem-2+ext, -3, ...: 0, or -1 when the
 * name does not fit in size (or 10000 are taken). */
int cli_free_path(const char *dir, const char *stem, const char *ext, char *buf, size_t size);

int cmd_index(const cli_globals *g, int argc, char **argv);
int cmd_remove(const cli_globals *g, int argc, char **argv);
int cmd_stats(const cli_globals *g, int argc, char **argv);
int cmd_models(const cli_globals *g, int argc, char **argv);
int cmd_detect(const cli_globals *g, int argc, char **argv);
int cmd_compare(const cli_globals *g, int argc, char **argv);
int cmd_search(const cli_globals *g, int argc, char **argv);
int cmd_serve(const cli_globals *g, int argc, char **argv);
int cmd_people(const cli_globals *g, int argc, char **argv);
/* search --person KEY: every face of the person named (or numbered) KEY, by photo, restricted
 * to the canonical roots when n > 0. An exit status: 0 some, 1 none, 2 error. */
int cli_search_person(const cli_globals *g, const char *key, int json,
                      const char *const *roots, size_t n);
/* The same over the sharded library dir, under mpirun (every rank calls it): every face of the
 * library's person KEY (people update --shards), by photo when by_path. */
int cli_search_person_shards(const cli_globals *g, const char *dir, const char *key, int json,
                             int by_path);

#endif
