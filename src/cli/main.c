/*
 * main.c — the facesearch command: global options, dispatch to a command, help and version.
 * Global options (SPEC.md §2) may stand before or after the command name.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("facesearch: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_ERROR;
}

int cli_fail_error(const fs_error *err)
{
    return cli_fail("%s", err->message[0] ? err->message : fs_strerror(err->code));
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: facesearch COMMAND [options]\n"
            "\n"
            "Find every photo in which a person appears, on this machine.\n"
            "\n"
            "Commands:\n");
    for (const cli_command *c = cli_commands; c->name; c++)
        fprintf(out, "  %-9s %s\n", c->name, c->summary);
    fprintf(out,
            "\n"
            "Global options:\n"
            "  --models PACK   model pack name or folder (default: the index's own pack, else\n"
            "                  default)\n"
            "  --db PATH       index folder (default: $FACESEARCH_DB, else the data folder)\n"
            "  --threads N     worker threads (default: all cores)\n"
            "  --precision P   auto, fp32 or bf16: the networks' arithmetic (default:\n"
            "                  $FACESEARCH_PRECISION, else auto: bf16 where the CPU computes\n"
            "                  it faster than fp32)\n"
            "  --quiet         print only results and errors\n"
            "  --verbose       also print timings (detect: per stage and image)\n"
            "  --wait          index, remove, search -t: wait for another index run to finish\n"
            "                  (by default a second writer fails at once)\n"
            "  --help          this text; `facesearch COMMAND --help` for a command\n"
            "  --version       print the version\n");
}

/* Takes a global option's value: "--opt VALUE" or "--opt=VALUE". Returns NULL if absent. */
static const char *option_value(const char *opt, int argc, char **argv, int *i)
{
    size_t n = strlen(opt);
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int is_option(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* Moves global options out of argv into g; the rest (command and its arguments) stays in argv
 * in order. Returns the new argc, or -1 after printing an error. */
static int take_globals(cli_globals *g, int argc, char **argv)
{
    int out = 1, i;
    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *v;
        if (is_option(argv[i], "--models")) {
            if (!(v = option_value("--models", argc, argv, &i)) || !*v)
                return cli_fail("--models needs a pack name or folder"), -1;
            g->models = v;
            g->models_given = 1;
        } else if (is_option(argv[i], "--db")) {
            if (!(v = option_value("--db", argc, argv, &i)) || !*v)
                return cli_fail("--db needs a path"), -1;
            g->db = v;
        } else if (is_option(argv[i], "--threads")) {
            char *end;
            if (!(v = option_value("--threads", argc, argv, &i)))
                return cli_fail("--threads needs a number"), -1;
            long n = strtol(v, &end, 10);
            if (*v == '\0' || *end || n < 1 || n > 1024)
                return cli_fail("--threads: '%s' is not a thread count (1 to 1024)", v), -1;
            g->threads = (int)n;
        } else if (is_option(argv[i], "--precision")) {
            fs_error err;
            if (!(v = option_value("--precision", argc, argv, &i)))
                return cli_fail("--precision needs auto, fp32 or bf16"), -1;
            if (fs_precision_parse(v, &g->precision, &err) != FS_OK)
                return cli_fail("--precision: %s", err.message), -1;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            g->quiet = 1;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            g->verbose = 1;
        } else if (strcmp(argv[i], "--wait") == 0) {
            g->wait = 1;
        } else {
            argv[out++] = argv[i];
        }
    }
    while (i < argc)
        argv[out++] = argv[i++];
    argv[out] = NULL;
    return out;
}

/* OpenMP threads that wait at a barrier spin by default (libgomp: 300000 rounds) before they
 * sleep. When another program keeps the cores busy, the thread being waited for is not running
 * and the spinning ones burn its time: a `compare` measured 8.5 s instead of 0.35 s on a loaded
 * 2-core machine. libgomp reads its policy from the environment once, in its initialiser, and a
 * variable set before that is lost (libc's own initialiser resets the environment), so unless the
 * user chose a policy the tool starts itself again with OMP_WAIT_POLICY=PASSIVE. It does so from
 * the executable's preinit array, which the dynamic loader runs before any library initialiser:
 * the ~100 libraries libvips brings are loaded twice but initialised once (this used to be done
 * from main, 80 ms per command). If the exec fails the tool runs on with the default policy.
 * tests/cli/test_cli_basics.sh checks the spin count libgomp ends up with (OMP_DISPLAY_ENV). */
static void prefer_passive_waits(int argc, char **argv, char **envp)
{
    (void)argc;
    size_t n = 0;
    for (; envp && envp[n]; n++)
        if (strncmp(envp[n], "OMP_WAIT_POLICY=", 16) == 0 ||
            strncmp(envp[n], "GOMP_SPINCOUNT=", 15) == 0)
            return;
    char **env = malloc((n + 2) * sizeof *env);
    if (!env)
        return;
    memcpy(env, envp, n * sizeof *env);
    env[n] = "OMP_WAIT_POLICY=PASSIVE";
    env[n + 1] = NULL;
    execve("/proc/self/exe", argv, env);
    free(env);
}

__attribute__((section(".preinit_array"), used)) static void (*const passive_waits)(
    int, char **, char **) = prefer_passive_waits;

int main(int argc, char **argv)
{
    cli_globals g = {.db = getenv("FACESEARCH_DB")};
    if (g.db && !*g.db)
        g.db = NULL;
    const char *precision = getenv("FACESEARCH_PRECISION");
    fs_error err;
    if (precision && *precision && fs_precision_parse(precision, &g.precision, &err) != FS_OK)
        return cli_fail("FACESEARCH_PRECISION: %s", err.message), EXIT_ERROR;
    argc = take_globals(&g, argc, argv);
    if (argc < 0)
        return EXIT_ERROR;
    /* no --models: the pack the index was built with, so that an index made with --models X
     * needs no --models again; "default" when there is no index (or it cannot be read: the
     * command itself then says why) */
    char index_pack[256];
    if (!g.models)
        g.models = fs_index_pack(g.db, index_pack, sizeof index_pack, &err) == FS_OK ? index_pack
                                                                                  : "default";
    if (argc < 2) {
        print_help(stderr);
        return EXIT_ERROR;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("facesearch %s\n", fs_version());
        return 0;
    }
    for (const cli_command *c = cli_commands; c->name; c++) {
        if (strcmp(c->name, name) != 0)
            continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            fputs(c->usage, stdout);
            return 0;
        }
        if (!c->run)
            return cli_fail("%s: not available yet", c->name);
        return c->run(&g, argc - 1, argv + 1);
    }
    if (name[0] == '-')
        return cli_fail("%s: unknown option (see facesearch --help)", name);
    return cli_fail("%s: unknown command (see facesearch --help)", name);
}
