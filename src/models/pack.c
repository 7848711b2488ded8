/*
 * pack.c — finding a model pack on disk and verifying its files against the manifest compiled into
 * the binary. A pack that fails verification is never used: every command that needs models stops
 * with one line naming the bad file and how to repair it.
 *
 * Where packs live: DATA/models/NAME (see fs_data_dir), then for insightface packs
 * $INSIGHTFACE_HOME/models/NAME or ~/.insightface/models/NAME. A folder path may be given instead
 * of a name; its own `manifest` is used unless the folder is named after a known pack. A folder
 * with no manifest is read as insightface reads a pack folder: the detector and the recognizer are
 * found among its .onnx files by their signatures (identify.c). Another name than a known pack's
 * is such a folder under DATA/models or the insightface models folder (e.g. buffalo_sc).
 *
 * Verification: every listed file must exist; a pinned sha256 must match (that proves the file is
 * the published one, nothing more is checked); a model whose sha256 is not pinned is loaded and
 * its signature checked against its role (detector, recognizer), so that a wrong or damaged file
 * is one clear line here, not a failure at the first photo.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models/identify.h"
#include "models/manifest.h"
#include "models/pack.h"
#include "util/error.h"
#include "util/paths.h"
#include "util/sha256.h"

struct fs_pack {
    char dir[PATH_MAX];
    model_manifest manifest;
    char **paths;         /* full path of each manifest file */
    char (*hashes)[65];   /* sha256 of each file as found on disk (verified where pinned) */
    int identified;       /* no manifest: roles were found (and checked) by signature */
};

/* The threshold of a pack folder without a manifest: that of the insightface packs
 * (models/buffalo_l/manifest), whose recognizers it is meant for. */
#define IDENTIFIED_THRESHOLD 0.5f

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The insightface home: $INSIGHTFACE_HOME, else ~/.insightface. */
static int insightface_models_dir(char *buf, size_t size)
{
    const char *home = getenv("INSIGHTFACE_HOME");
    int n;
    if (home && *home)
        n = snprintf(buf, size, "%s/models", home);
    else if ((home = getenv("HOME")) && *home)
        n = snprintf(buf, size, "%s/.insightface/models", home);
    else
        return -1;
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Finds the folder of a pack given by name; fills dir. */
static fs_status locate(const char *name, const model_manifest *m, char *dir, size_t size,
                        fs_error *err)
{
    char data[PATH_MAX], models[PATH_MAX], where[PATH_MAX] = "~/.insightface/models";
    fs_status rc = fs_data_dir(data, sizeof data, err);
    if (rc)
        return rc;
    if (util_path_join(models, sizeof models, data, "models") ||
        util_path_join(dir, size, models, name))
        return util_fail(err, FS_ERR_LIMIT, "%s: path too long", data);
    if (is_dir(dir) || m->package)
        return FS_OK; /* packages install into the data folder; report it there if missing */
    if (insightface_models_dir(where, sizeof where) == 0 &&
        util_path_join(dir, size, where, name) == 0 && is_dir(dir))
        return FS_OK;
    return util_fail(err, FS_ERR_NOT_FOUND,
                     "%s: model pack not found in %s/models or %s; install it with insightface "
                     "(it downloads its packs to ~/.insightface/models)",
                     name, data, where);
}

/* For a name that is not a known pack's: its folder under DATA/models or the insightface models
 * folder, if there is one (fills dir, returns 1), else 0. */
static int named_folder(const char *name, char *dir, size_t size)
{
    char data[PATH_MAX], models[PATH_MAX];
    if (fs_data_dir(data, sizeof data, NULL) == FS_OK &&
        util_path_join(models, sizeof models, data, "models") == 0 &&
        util_path_join(dir, size, models, name) == 0 && is_dir(dir))
        return 1;
    if (insightface_models_dir(models, sizeof models) == 0 &&
        util_path_join(dir, size, models, name) == 0 && is_dir(dir))
        return 1;
    dir[0] = '\0';
    return 0;
}

static fs_status read_text(const char *path, char **text, size_t *len, fs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return util_fail(err, errno == ENOENT ? FS_ERR_NOT_FOUND : FS_ERR_IO, "%s: %s", path,
                         strerror(errno));
    char *buf = malloc(65536);
    if (!buf) {
        fclose(f);
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, 65536, f);
    int bad = ferror(f) || !feof(f);
    fclose(f);
    if (bad) {
        free(buf);
        return util_fail(err, FS_ERR_FORMAT, "%s: unreadable or larger than 64 KiB", path);
    }
    *text = buf;
    *len = n;
    return FS_OK;
}

static fs_status set_copy(char **dst, const char *src, fs_error *err)
{
    if (!(*dst = strdup(src)))
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    return FS_OK;
}

/* The manifest of a folder without one: its detector and recognizer found by signature, neither
 * pinned, named after the folder, with the insightface threshold. */
static fs_status identified_manifest(fs_pack *p, fs_error *err)
{
    char *det, *rec;
    fs_status rc = model_identify_pack(p->dir, &det, &rec, err);
    if (rc)
        return rc;
    model_manifest *m = &p->manifest;
    m->threshold = IDENTIFIED_THRESHOLD;
    m->detector.file = det;
    m->recognizer.file = rec;
    if (!(m->files = calloc(2, sizeof *m->files)))
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    m->file_count = 2;
    if ((rc = set_copy(&m->name, base_name(p->dir), err)) ||
        (rc = set_copy(&m->detector.kind, "scrfd", err)) ||
        (rc = set_copy(&m->recognizer.kind, "arcface", err)) ||
        (rc = set_copy(&m->files[0].name, det, err)) ||
        (rc = set_copy(&m->files[1].name, rec, err)))
        return rc;
    p->identified = 1;
    return FS_OK;
}

/* Loads the manifest: the built-in one for a known name, else DIR/manifest, else (a folder with
 * no manifest) the one made by identified_manifest. */
static fs_status load_manifest(fs_pack *p, const char *arg, int is_path, fs_error *err)
{
    const char *builtin = model_builtin_manifest(is_path ? base_name(p->dir) : arg);
    if (builtin)
        return model_manifest_parse(builtin, strlen(builtin), arg, &p->manifest, err);
    if (!is_path)
        return util_fail(
            err, FS_ERR_NOT_FOUND,
            "%s: unknown model pack (known: default, dlib, fused, buffalo_l, buffalo_s, antelopev2; "
            "or give a folder path)",
            arg);
    char path[PATH_MAX + 16], *text = NULL;
    size_t len = 0;
    util_path_join(path, sizeof path, p->dir, "manifest");
    fs_error read_err;
    fs_status rc = read_text(path, &text, &len, &read_err);
    if (rc == FS_ERR_NOT_FOUND)
        return identified_manifest(p, err);
    if (rc)
        return util_fail(err, rc, "%s", read_err.message);
    rc = model_manifest_parse(text, len, path, &p->manifest, err);
    free(text);
    return rc;
}

static const char *repair_hint(const fs_pack *p)
{
    return p->manifest.package ? "run 'make models' (scripts/fetch-models.sh) to repair it"
                               : "reinstall the pack with insightface to repair it";
}

/* The index of the manifest file called name, or file_count. */
static size_t file_index(const model_manifest *m, const char *name)
{
    size_t i = 0;
    while (i < m->file_count && strcmp(m->files[i].name, name) != 0)
        i++;
    return i;
}

/* The SCRFD detector and the recognizer, where their sha256 is not pinned, must have the
 * signature of their role. (Ultra-Light detectors and landmark models come pinned.) */
static fs_status check_signatures(fs_pack *p, fs_error *err)
{
    const model_manifest *m = &p->manifest;
    const model_manifest_role *roles[2] = {&m->detector, &m->recognizer};
    const model_role kinds[2] = {FS_ROLE_DETECTOR, FS_ROLE_RECOGNIZER};
    for (size_t r = 0; r < 2; r++) {
        if (!roles[r]->file || (r == 0 && strcmp(roles[r]->kind, "scrfd") != 0))
            continue;
        size_t i = file_index(m, roles[r]->file);
        if (i == m->file_count || m->files[i].sha256[0])
            continue;
        fs_error ferr;
        fs_status rc = model_check_role(p->paths[i], kinds[r], &ferr);
        if (rc == FS_ERR_NOMEM)
            return util_fail(err, rc, "%s", ferr.message);
        if (rc)
            return util_fail(err, rc, "%s; model pack '%s' cannot use it; %s", ferr.message,
                             m->name, repair_hint(p));
    }
    return FS_OK;
}

/* Every listed file must exist and, where the manifest pins it, have the right sha256; where it
 * does not, the detector and recognizer must have the right signature. */
static fs_status verify(fs_pack *p, fs_error *err)
{
    size_t n = p->manifest.file_count ? p->manifest.file_count : 1;
    p->paths = calloc(n, sizeof *p->paths);
    p->hashes = calloc(n, sizeof *p->hashes);
    if (!p->paths || !p->hashes)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < p->manifest.file_count; i++) {
        const model_manifest_file *f = &p->manifest.files[i];
        size_t need = strlen(p->dir) + strlen(f->name) + 2;
        if (!(p->paths[i] = malloc(need)))
            return util_fail(err, FS_ERR_NOMEM, "out of memory");
        snprintf(p->paths[i], need, "%s/%s", p->dir, f->name);
        char *hex = p->hashes[i];
        fs_error ferr;
        fs_status rc = util_sha256_file(p->paths[i], hex, &ferr);
        if (rc == FS_ERR_NOT_FOUND)
            return util_fail(err, rc, "%s: missing from model pack '%s'; %s", p->paths[i],
                             p->manifest.name, repair_hint(p));
        if (rc)
            return util_fail(err, rc, "%s; %s", ferr.message, repair_hint(p));
        if (f->sha256[0] && strcmp(hex, f->sha256) != 0)
            return util_fail(err, FS_ERR_INTEGRITY,
                             "%s: sha256 mismatch, the file is corrupted or not the one pack '%s' "
                             "expects; %s", p->paths[i], p->manifest.name, repair_hint(p));
    }
    return p->identified ? FS_OK : check_signatures(p, err);
}

fs_status fs_pack_open(const char *name_or_path, fs_pack **out, fs_error *err)
{
    *out = NULL;
    if (!name_or_path || !*name_or_path)
        return util_fail(err, FS_ERR_ARG, "no model pack given");
    fs_pack *p = calloc(1, sizeof *p);
    if (!p)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");

    int is_path = strchr(name_or_path, '/') != NULL || strcmp(name_or_path, ".") == 0;
    fs_status rc = FS_OK;
    if (!is_path && !model_builtin_manifest(name_or_path) && name_or_path[0] != '.')
        is_path = named_folder(name_or_path, p->dir, sizeof p->dir);
    if (is_path && !p->dir[0]) {
        if (snprintf(p->dir, sizeof p->dir, "%s", name_or_path) >= (int)sizeof p->dir)
            rc = util_fail(err, FS_ERR_LIMIT, "%s: path too long", name_or_path);
        else if (!is_dir(p->dir))
            rc = util_fail(err, FS_ERR_NOT_FOUND, "%s: no such model pack folder", name_or_path);
        while (rc == FS_OK && strlen(p->dir) > 1 && p->dir[strlen(p->dir) - 1] == '/')
            p->dir[strlen(p->dir) - 1] = '\0';
    }
    if (rc == FS_OK)
        rc = load_manifest(p, name_or_path, is_path, err);
    if (rc == FS_OK && !is_path)
        rc = locate(name_or_path, &p->manifest, p->dir, sizeof p->dir, err);
    if (rc == FS_OK)
        rc = verify(p, err);
    if (rc != FS_OK) {
        fs_pack_close(p);
        return rc;
    }
    *out = p;
    return FS_OK;
}

void fs_pack_close(fs_pack *p)
{
    if (!p)
        return;
    if (p->paths)
        for (size_t i = 0; i < p->manifest.file_count; i++)
            free(p->paths[i]);
    free(p->paths);
    free(p->hashes);
    model_manifest_free(&p->manifest);
    free(p);
}

const char *fs_pack_name(const fs_pack *p) { return p->manifest.name; }
const char *fs_pack_dir(const fs_pack *p) { return p->dir; }
float fs_pack_threshold(const fs_pack *p) { return p->manifest.threshold; }
size_t fs_pack_file_count(const fs_pack *p) { return p->manifest.file_count; }

const char *fs_pack_file_name(const fs_pack *p, size_t i)
{
    return i < p->manifest.file_count ? p->manifest.files[i].name : NULL;
}

const char *fs_pack_file_path(const fs_pack *p, size_t i)
{
    return i < p->manifest.file_count ? p->paths[i] : NULL;
}

const char *fs_pack_file_sha256(const fs_pack *p, size_t i)
{
    return i < p->manifest.file_count ? p->hashes[i] : NULL;
}

fs_pack_kind fs_pack_kind_of(const fs_pack *p)
{
    return strcmp(p->manifest.detector.kind, "scrfd") == 0 ? FS_PACK_INSIGHTFACE : FS_PACK_DEFAULT;
}

static const model_manifest_role *role_of(const fs_pack *p, const char *role)
{
    return strcmp(role, "detector") == 0     ? &p->manifest.detector
           : strcmp(role, "landmarks") == 0  ? &p->manifest.landmarks
           : strcmp(role, "recognizer") == 0 ? &p->manifest.recognizer
           : strcmp(role, "recognizer2") == 0 ? &p->manifest.recognizer2
                                              : NULL;
}

const char *model_pack_role_kind(const fs_pack *p, const char *role)
{
    const model_manifest_role *r = role_of(p, role);
    return r ? r->kind : NULL;
}

float model_pack_fusion(const fs_pack *p)
{
    return p->manifest.recognizer2.file ? p->manifest.fusion : 1.0f;
}

const model_manifest_outputs *model_pack_outputs(const fs_pack *p, const char *role, int small)
{
    const model_manifest_role *r = role_of(p, role);
    return !r ? NULL : small ? &r->small : &r->all;
}

const char *fs_pack_role_path(const fs_pack *p, const char *role)
{
    const model_manifest_role *r = role_of(p, role);
    if (!r || !r->file)
        return NULL;
    for (size_t i = 0; i < p->manifest.file_count; i++)
        if (strcmp(p->manifest.files[i].name, r->file) == 0)
            return p->paths[i];
    return NULL;
}

/* Lists sub-folders of parent that hold something; calls visit for each. */
static void list_folder(const char *parent, void (*visit)(const char *, const char *, void *),
                        void *ctx)
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char dir[PATH_MAX];
        if (util_path_join(dir, sizeof dir, parent, e->d_name) || !is_dir(dir))
            continue;
        visit(e->d_name, dir, ctx);
    }
    closedir(d);
}

fs_status fs_pack_list(void (*visit)(const char *name, const char *dir, void *ctx), void *ctx,
                       fs_error *err)
{
    char data[PATH_MAX], where[PATH_MAX];
    fs_status rc = fs_data_dir(data, sizeof data, err);
    if (rc)
        return rc;
    if (util_path_join(where, sizeof where, data, "models") == 0)
        list_folder(where, visit, ctx);
    if (insightface_models_dir(where, sizeof where) == 0)
        list_folder(where, visit, ctx);
    return FS_OK;
}
