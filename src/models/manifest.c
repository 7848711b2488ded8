/*
 * manifest.c — parser for model-pack manifests (format in manifest.h).
 */
#include "models/manifest.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#define MAX_WORDS 10

/* Splits line into at most MAX_WORDS whitespace-separated words, in place. Returns the count. */
static int split_words(char *line, char *words[MAX_WORDS])
{
    int n = 0;
    char *p = line;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            break;
        if (n == MAX_WORDS)
            return MAX_WORDS + 1;
        words[n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
            return 0;
    return 1;
}

static fs_status set_string(char **dst, const char *src, fs_error *err)
{
    char *copy = strdup(src);
    if (!copy)
        return util_fail(err, FS_ERR_NOMEM, "out of memory reading a manifest");
    free(*dst);
    *dst = copy;
    return FS_OK;
}

static fs_status set_role(model_manifest_role *role, char **words, int n, const char *origin,
                          int lineno, fs_error *err)
{
    if (n != 3)
        return util_fail(err, FS_ERR_FORMAT, "%s:%d: '%s' takes KIND FILE", origin, lineno,
                         words[0]);
    fs_status rc = set_string(&role->kind, words[1], err);
    return rc ? rc : set_string(&role->file, words[2], err);
}

static model_manifest_role *role_named(model_manifest *m, const char *name)
{
    return strcmp(name, "detector") == 0     ? &m->detector
           : strcmp(name, "landmarks") == 0  ? &m->landmarks
           : strcmp(name, "recognizer") == 0 ? &m->recognizer
           : strcmp(name, "recognizer2") == 0 ? &m->recognizer2
                                              : NULL;
}

/* outputs ROLE all|small TENSOR...: at most MODEL_MAX_OUTPUTS names, given once per set. */
static fs_status set_outputs(model_manifest *m, char **words, int n, const char *origin,
                             int lineno, fs_error *err)
{
    model_manifest_role *role = n >= 4 ? role_named(m, words[1]) : NULL;
    model_manifest_outputs *set = !role                            ? NULL
                                  : strcmp(words[2], "all") == 0   ? &role->all
                                  : strcmp(words[2], "small") == 0 ? &role->small
                                                                   : NULL;
    if (!set)
        return util_fail(err, FS_ERR_FORMAT,
                         "%s:%d: 'outputs' takes detector|landmarks|recognizer|recognizer2 "
                         "all|small TENSOR...",
                         origin, lineno);
    if (set->count)
        return util_fail(err, FS_ERR_FORMAT, "%s:%d: outputs %s %s given twice", origin, lineno,
                         words[1], words[2]);
    if ((size_t)n - 3 > MODEL_MAX_OUTPUTS)
        return util_fail(err, FS_ERR_FORMAT, "%s:%d: more than %d outputs", origin, lineno,
                         MODEL_MAX_OUTPUTS);
    for (int i = 3; i < n; i++) {
        fs_status rc = set_string(&set->names[set->count], words[i], err);
        if (rc != FS_OK)
            return rc;
        set->count++;
    }
    return FS_OK;
}

static fs_status push_file(model_manifest *m, const char *name, const char *sha256,
                           const char *origin, int lineno, fs_error *err)
{
    if (strchr(name, '/') || strcmp(name, "..") == 0)
        return util_fail(err, FS_ERR_FORMAT, "%s:%d: file name must not contain '/'", origin,
                         lineno);
    for (size_t i = 0; i < m->file_count; i++)
        if (strcmp(m->files[i].name, name) == 0)
            return util_fail(err, FS_ERR_FORMAT, "%s:%d: file '%s' listed twice", origin, lineno,
                             name);
    model_manifest_file *grown = realloc(m->files, (m->file_count + 1) * sizeof *grown);
    if (!grown)
        return util_fail(err, FS_ERR_NOMEM, "out of memory reading a manifest");
    m->files = grown;
    model_manifest_file *f = &m->files[m->file_count];
    memset(f, 0, sizeof *f);
    if (!(f->name = strdup(name)))
        return util_fail(err, FS_ERR_NOMEM, "out of memory reading a manifest");
    if (sha256)
        memcpy(f->sha256, sha256, 65);
    m->file_count++;
    return FS_OK;
}

static fs_status add_file(model_manifest *m, char **words, int n, const char *origin, int lineno,
                          fs_error *err)
{
    int unpinned = n == 4 && strcmp(words[3], "-") == 0;
    if (n != 4 || (!unpinned && !is_hex64(words[3])))
        return util_fail(err, FS_ERR_FORMAT, "%s:%d: 'file' takes NAME SOURCE SHA256", origin,
                         lineno);
    return push_file(m, words[1], unpinned ? NULL : words[3], origin, lineno, err);
}

static int is_tool_name(const char *s)
{
    for (const char *p = s; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
            return 0;
    return *s != '\0';
}

/* convert NAME TOOL FROM SHA256: made by scripts/TOOL.py from a file listed before it. */
static fs_status add_converted(model_manifest *m, char **words, int n, const char *origin,
                               int lineno, fs_error *err)
{
    if (n != 5 || !is_tool_name(words[2]) || !is_hex64(words[4]))
        return util_fail(err, FS_ERR_FORMAT, "%s:%d: 'convert' takes NAME TOOL FROM SHA256",
                         origin, lineno);
    size_t i = 0;
    while (i < m->file_count && strcmp(m->files[i].name, words[3]) != 0)
        i++;
    if (i == m->file_count)
        return util_fail(err, FS_ERR_FORMAT, "%s:%d: converts '%s', which no line before lists",
                         origin, lineno, words[3]);
    return push_file(m, words[1], words[4], origin, lineno, err);
}

static fs_status parse_line(model_manifest *m, char *line, const char *origin, int lineno,
                            fs_error *err)
{
    char *w[MAX_WORDS];
    int n = split_words(line, w);
    if (n == 0)
        return FS_OK;
    if (n > MAX_WORDS)
        return util_fail(err, FS_ERR_FORMAT, "%s:%d: too many words", origin, lineno);
    if (strcmp(w[0], "file") == 0)
        return add_file(m, w, n, origin, lineno, err);
    if (strcmp(w[0], "convert") == 0)
        return add_converted(m, w, n, origin, lineno, err);
    if (strcmp(w[0], "outputs") == 0)
        return set_outputs(m, w, n, origin, lineno, err);
    model_manifest_role *role = role_named(m, w[0]);
    if (role)
        return set_role(role, w, n, origin, lineno, err);
    if (n != 2)
        return util_fail(err, FS_ERR_FORMAT, "%s:%d: '%s' takes one value", origin, lineno, w[0]);
    if (strcmp(w[0], "name") == 0)
        return set_string(&m->name, w[1], err);
    if (strcmp(w[0], "package") == 0) /* several packages: the first names the pack's source */
        return m->package ? FS_OK : set_string(&m->package, w[1], err);
    if (strcmp(w[0], "package_sha256") == 0)
        return is_hex64(w[1]) ? FS_OK
                              : util_fail(err, FS_ERR_FORMAT, "%s:%d: bad sha256", origin, lineno);
    if (strcmp(w[0], "fusion") == 0) {
        char *end;
        errno = 0;
        float f = strtof(w[1], &end);
        if (errno || *end || !(f > 0.0f && f < 1.0f))
            return util_fail(err, FS_ERR_FORMAT, "%s:%d: fusion must be in (0, 1)", origin,
                             lineno);
        m->fusion = f;
        return FS_OK;
    }
    if (strcmp(w[0], "threshold") == 0) {
        char *end;
        errno = 0;
        float t = strtof(w[1], &end);
        if (errno || *end || !(t >= -1.0f && t <= 1.0f))
            return util_fail(err, FS_ERR_FORMAT, "%s:%d: threshold must be in [-1, 1]", origin,
                             lineno);
        m->threshold = t;
        return FS_OK;
    }
    return util_fail(err, FS_ERR_FORMAT, "%s:%d: unknown key '%s'", origin, lineno, w[0]);
}

/* Every role must name a file the manifest lists. */
static fs_status check_roles(const model_manifest *m, const char *origin, fs_error *err)
{
    if (!m->name)
        return util_fail(err, FS_ERR_FORMAT, "%s: no 'name'", origin);
    const model_manifest_role *roles[] = {&m->detector, &m->landmarks, &m->recognizer,
                                          &m->recognizer2};
    for (size_t r = 0; r < 4; r++) {
        if (!roles[r]->file)
            continue;
        size_t i = 0;
        while (i < m->file_count && strcmp(m->files[i].name, roles[r]->file) != 0)
            i++;
        if (i == m->file_count)
            return util_fail(err, FS_ERR_FORMAT, "%s: role file '%s' is not listed with 'file'",
                             origin, roles[r]->file);
    }
    if (!m->detector.file || !m->recognizer.file)
        return util_fail(err, FS_ERR_FORMAT, "%s: needs a detector and a recognizer", origin);
    if ((m->recognizer2.file != NULL) != (m->fusion > 0))
        return util_fail(err, FS_ERR_FORMAT, "%s: 'recognizer2' and 'fusion' go together", origin);
    return FS_OK;
}

fs_status model_manifest_parse(const char *text, size_t len, const char *origin,
                               model_manifest *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    out->threshold = 0.5f;
    char *copy = malloc(len + 1);
    if (!copy)
        return util_fail(err, FS_ERR_NOMEM, "out of memory reading %s", origin);
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (memchr(copy, '\0', len)) {
        free(copy);
        return util_fail(err, FS_ERR_FORMAT, "%s: not a text file", origin);
    }

    fs_status rc = FS_OK;
    int lineno = 0;
    for (char *line = copy; line && rc == FS_OK; lineno++) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        rc = parse_line(out, line, origin, lineno + 1, err);
        line = next;
    }
    free(copy);
    if (rc == FS_OK)
        rc = check_roles(out, origin, err);
    if (rc != FS_OK)
        model_manifest_free(out);
    return rc;
}

void model_manifest_free(model_manifest *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->package);
    model_manifest_role *roles[] = {&m->detector, &m->landmarks, &m->recognizer, &m->recognizer2};
    for (size_t r = 0; r < 4; r++) {
        free(roles[r]->kind);
        free(roles[r]->file);
        for (size_t i = 0; i < roles[r]->all.count; i++)
            free(roles[r]->all.names[i]);
        for (size_t i = 0; i < roles[r]->small.count; i++)
            free(roles[r]->small.names[i]);
    }
    for (size_t i = 0; i < m->file_count; i++)
        free(m->files[i].name);
    free(m->files);
    memset(m, 0, sizeof *m);
}
