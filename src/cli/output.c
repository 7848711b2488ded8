/*
 * output.c — printing results: JSON strings (paths may hold any bytes), CSV fields, numbers
 * parsed from options with clear errors, and opening the engine with the global options.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Length of the valid UTF-8 sequence at s, or 0 if s does not start one. */
static size_t utf8_sequence(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (n == 2 && s[0] < 0xC2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* Paths are bytes, JSON is UTF-8: valid UTF-8 is written as is; any other byte bb is written as
 * the escape \udcbb, a lone low surrogate (Python's "surrogateescape" convention: json.loads then
 * os.fsencode gives the original bytes back), so that a Latin-1 "\xe9" and a UTF-8 "é" stay two
 * different names. */
void cli_json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    while (*p) {
        size_t n = utf8_sequence(p);
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else if (n == 0)
            fprintf(out, "\\udc%02x", *p);
        else {
            fwrite(p, 1, n, out);
            p += n;
            continue;
        }
        p++;
    }
    fputc('"', out);
}

void cli_print_path(FILE *out, const char *path)
{
    if (!isatty(fileno(out))) {
        fputs(path, out);
        return;
    }
    /* on a terminal, a name's line breaks and escape sequences would be acted on: shown as \xNN */
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
}

const char *cli_bad_option(int argc, char **argv)
{
    if (optopt == 0 || optind < 1) /* an unknown long option: the argument just taken */
        return argv[optind > 0 ? optind - 1 : 0];
    /* a short option inside a cluster ("-dash.png"): the argument that holds it */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (argv[i][0] == '-' && argv[i][1] != '-' && strchr(argv[i] + 1, optopt))
            return argv[i];
    return argv[optind - 1];
}

/* A CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
void cli_csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

int cli_parse_float(const char *opt, const char *text, float lo, float hi, float *out)
{
    char *end;
    errno = 0;
    float v = strtof(text, &end);
    if (errno || end == text || *end || !(v >= lo && v <= hi)) {
        cli_fail("%s: '%s' is not a number in [%g, %g]", opt, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_int(const char *opt, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        cli_fail("%s: '%s' is not a whole number from %ld to %ld", opt, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

void cli_json_face(FILE *out, const fs_face *f)
{
    fprintf(out, "\"box\":[%.1f,%.1f,%.1f,%.1f],\"landmarks\":[", f->box[0], f->box[1], f->box[2],
            f->box[3]);
    for (int k = 0; k < 5; k++)
        fprintf(out, "%s[%.1f,%.1f]", k ? "," : "", f->landmarks[2 * k], f->landmarks[2 * k + 1]);
    fprintf(out, "],\"score\":%.4f,\"quality\":%.4f", f->score, f->quality);
}

int cli_open_engine(const cli_globals *g, int min_face, float det_threshold, fs_engine **out)
{
    fs_engine_options o = {.threads = g->threads, .precision = g->precision,
                           .min_face = min_face, .det_threshold = det_threshold};
    fs_error err;
    if (fs_engine_open(g->models, &o, out, &err) != FS_OK)
        return cli_fail_error(&err);
    /* bf16 asked for where oneDNN cannot compute it (below AVX-512): the engine runs fp32 */
    if (g->precision == FS_PRECISION_BF16 && strcmp(fs_engine_precision(*out), "bf16") != 0 &&
        !g->quiet)
        fprintf(stderr, "facesearch: note: bf16 needs a CPU with AVX-512; running in fp32\n");
    return 0;
}

int cli_fail_no_mpi(const char *dir)
{
    return cli_fail("%s: --shards needs facesearch built with MPI (install Debian's "
                    "libopenmpi-dev, then build again)", dir);
}

const char *cli_shards_pack(const cli_globals *g, const char *dir, char *buf, size_t size)
{
    fs_shards_info info;
    if (g->models_given || fs_shards_open(dir, &info, NULL) != FS_OK)
        return g->models;
    snprintf(buf, size, "%s", info.pack);
    return buf;
}

#ifdef FACESEARCH_MPI
int cli_mpi_library_open(const char *dir, fs_mpi **mpi, fs_mpi_library **lib)
{
    fs_error err;
    *lib = NULL;
    if (fs_mpi_open(mpi, &err) != FS_OK)
        return cli_fail_error(&err);
    if (fs_mpi_library_open(*mpi, dir, lib, &err) != FS_OK) {
        /* said before MPI ends: once a rank has exited with an error, mpirun ends the others */
        int status = fs_mpi_rank(*mpi) == 0 ? cli_fail_error(&err) : EXIT_ERROR;
        fs_mpi_close(*mpi);
        *mpi = NULL;
        return status;
    }
    return 0;
}
#endif
