/*
 * manifest.c — the manifest of a sharded library (facesearch.h, "Sharded libraries"): the text
 * file DIR/manifest saying which model pack and pipeline version the shards' faces come from, how
 * many shards there are and how photos are assigned to them:
 *
 *     facesearch-shards 1
 *     pack default
 *     pipeline 4
 *     count 3
 *     assign sha256-prefix-mod
 *
 * It is written once, atomically (a temporary file linked into place, so a reader never sees half
 * of it and two writers never replace each other's), and never rewritten: a library keeps its
 * count, since the count fixes every photo's shard.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "face/face.h"
#include "util/error.h"
#include "util/paths.h"

#define MANIFEST_NAME "manifest"
#define ASSIGN_RULE "sha256-prefix-mod"
#define MAX_SHARDS 999

fs_status fs_shard_dir(const char *dir, int k, char *buf, size_t size, fs_error *err)
{
    if (k < 0 || k >= MAX_SHARDS)
        return util_fail(err, FS_ERR_ARG, "shard %d: out of range", k);
    if (snprintf(buf, size, "%s/shard-%03d", dir, k) >= (int)size)
        return util_fail(err, FS_ERR_LIMIT, "%s: path too long", dir);
    return FS_OK;
}

static fs_status manifest_path(const char *dir, char *buf, size_t size, fs_error *err)
{
    if (util_path_join(buf, size, dir, MANIFEST_NAME))
        return util_fail(err, FS_ERR_LIMIT, "%s: path too long", dir);
    return FS_OK;
}

/* Reads "KEY VALUE" lines; every key must be there once, the first line must be the magic. */
static fs_status parse_manifest(const char *path, FILE *f, fs_shards_info *out, fs_error *err)
{
    char line[256], assign[64] = "";
    int have_magic = 0, have_count = 0;
    memset(out, 0, sizeof *out);
    for (int n = 0; fgets(line, sizeof line, f); n++) {
        line[strcspn(line, "\n")] = '\0';
        char *value = strchr(line, ' ');
        if (!value)
            return util_fail(err, FS_ERR_FORMAT, "%s: malformed line '%s'", path, line);
        *value++ = '\0';
        if (n == 0 && strcmp(line, "facesearch-shards") == 0 && strcmp(value, "1") == 0)
            have_magic = 1;
        else if (n == 0)
            return util_fail(err, FS_ERR_FORMAT, "%s: not a facesearch shards manifest", path);
        else if (strcmp(line, "pack") == 0)
            snprintf(out->pack, sizeof out->pack, "%s", value);
        else if (strcmp(line, "pipeline") == 0)
            snprintf(out->pipeline, sizeof out->pipeline, "%s", value);
        else if (strcmp(line, "assign") == 0)
            snprintf(assign, sizeof assign, "%s", value);
        else if (strcmp(line, "count") == 0) {
            char *end;
            long count = strtol(value, &end, 10);
            if (*end || count < 1 || count > MAX_SHARDS)
                return util_fail(err, FS_ERR_FORMAT, "%s: bad count '%s'", path, value);
            out->count = (int)count;
            have_count = 1;
        } else
            return util_fail(err, FS_ERR_FORMAT, "%s: unknown key '%s'", path, line);
    }
    if (!have_magic || !have_count || !out->pack[0] || !out->pipeline[0])
        return util_fail(err, FS_ERR_FORMAT, "%s: incomplete manifest", path);
    if (strcmp(assign, ASSIGN_RULE) != 0)
        return util_fail(err, FS_ERR_UNSUPPORTED, "%s: unknown assignment '%s'", path, assign);
    return FS_OK;
}

/* Reads the manifest as written, whatever its pipeline version. */
static fs_status read_manifest(const char *dir, fs_shards_info *out, fs_error *err)
{
    char path[PATH_MAX];
    fs_status rc = manifest_path(dir, path, sizeof path, err);
    if (rc)
        return rc;
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT)
        return util_fail(err, FS_ERR_NOT_FOUND, "%s: not a sharded library (no %s)", dir, path);
    if (!f)
        return util_fail(err, FS_ERR_IO, "%s: %s", path, strerror(errno));
    rc = parse_manifest(path, f, out, err);
    fclose(f);
    return rc;
}

fs_status fs_shards_open(const char *dir, fs_shards_info *out, fs_error *err)
{
    fs_status rc = read_manifest(dir, out, err);
    if (rc == FS_OK && strcmp(out->pipeline, FS_PIPELINE_VERSION) != 0)
        return util_fail(err, FS_ERR_ARG,
                         "%s: its shards hold faces of face pipeline %s, this facesearch makes %s "
                         "(index into a new folder)", dir, out->pipeline, FS_PIPELINE_VERSION);
    return rc;
}

/* The manifest already in dir against the one asked for. */
static fs_status check_same(const char *dir, const char *pack, int count, fs_error *err)
{
    fs_shards_info have;
    fs_status rc = fs_shards_open(dir, &have, err);
    if (rc)
        return rc;
    if (strcmp(have.pack, pack) != 0)
        return util_fail(err, FS_ERR_ARG, "%s: the library holds faces of model pack %s, not %s",
                         dir, have.pack, pack);
    if (have.count != count)
        return util_fail(err, FS_ERR_ARG, "%s: the library has %d shards, not %d (run with -np %d)",
                         dir, have.count, count, have.count);
    return FS_OK;
}

/* Writes text into a new temporary file beside path and links it to path (then syncs the
 * folder): EEXIST in *exists. */
static fs_status write_once(const char *path, const char *text, int *exists, fs_error *err)
{
    char tmp[PATH_MAX];
    *exists = 0;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return util_fail(err, FS_ERR_LIMIT, "%s: path too long", path);
    unlink(tmp); /* left by a process killed here whose pid has come round again */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return util_fail(err, FS_ERR_IO, "%s: %s", tmp, strerror(errno));
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    fs_status rc = FS_OK;
    if (!ok)
        rc = util_fail(err, FS_ERR_IO, "%s: %s", tmp, strerror(saved));
    else if (link(tmp, path) != 0) {
        if (errno == EEXIST)
            *exists = 1;
        else
            rc = util_fail(err, FS_ERR_IO, "%s: %s", path, strerror(errno));
    }
    unlink(tmp);
    if (rc == FS_OK && !*exists) { /* the new name survives a power loss: sync the folder */
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0)
            rc = util_fail(err, FS_ERR_IO, "%s: cannot sync its folder: %s", path,
                           strerror(errno));
        if (dfd >= 0)
            close(dfd);
    }
    return rc;
}

fs_status fs_shards_create(const char *dir, const char *pack, int count, fs_error *err)
{
    if (count < 1 || count > MAX_SHARDS)
        return util_fail(err, FS_ERR_ARG, "%s: %d shards: between 1 and %d", dir, count,
                         MAX_SHARDS);
    if (!pack[0] || strchr(pack, '\n'))
        return util_fail(err, FS_ERR_ARG, "model pack name '%s' cannot be recorded", pack);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return util_fail(err, FS_ERR_IO, "%s: %s", dir, strerror(errno));
    char path[PATH_MAX];
    fs_status rc = manifest_path(dir, path, sizeof path, err);
    struct stat st;
    if (rc == FS_OK && stat(path, &st) == 0)
        return check_same(dir, pack, count, err);
    char text[512];
    if (snprintf(text, sizeof text, "facesearch-shards 1\npack %s\npipeline %s\ncount %d\n"
                 "assign " ASSIGN_RULE "\n", pack, FS_PIPELINE_VERSION, count) >= (int)sizeof text)
        return util_fail(err, FS_ERR_LIMIT, "model pack name too long");
    int exists = 0;
    if (rc == FS_OK)
        rc = write_once(path, text, &exists, err);
    if (rc == FS_OK && exists) /* another process made it meanwhile */
        rc = check_same(dir, pack, count, err);
    return rc;
}
