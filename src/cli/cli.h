/*
 * cli.h — what the command-line tool's files share: global options, the command table, and the
 * helpers that print errors the way SPEC.md §2 says (one line on stderr, "facesearch: ...").
 * The tool uses only the public API in facesearch.h.
 */
#ifndef FS_CLI_H
#define FS_CLI_H

#include "facesearch.h"

/* Exit statuses, like grep. */
enum { EXIT_MATCH = 0, EXIT_NO_MATCH = 1, EXIT_ERROR = 2 };

typedef struct cli_globals {
    const char *models;   /* --models PACK (name or folder); default "default" */
    const char *db;       /* --db PATH, else $FACESEARCH_DB, else NULL = the default index */
    int threads;          /* --threads N; 0 = all cores */
    int quiet, verbose;
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

int cmd_models(const cli_globals *g, int argc, char **argv);

#endif
