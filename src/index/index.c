/*
 * index.c — the persistent index as the tool sees it (facesearch.h): opening it for a model pack
 * (readers, or the one writer holding the writer lock), closing it, removing photos and folders,
 * and its statistics. Index runs are run.c, indexed searches search.c; storage itself (SQLite,
 * vector file, crash safety) is src/store/.
 */
#include "index/index_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "face/face.h"
#include "index/writer_lock.h"
#include "util/error.h"
#include "util/paths.h"

fs_status fs_index_default_dir(char *buf, size_t size, fs_error *err)
{
    const char *env = getenv("FACESEARCH_DB");
    if (env && *env) {
        if (snprintf(buf, size, "%s", env) >= (int)size)
            return util_fail(err, FS_ERR_LIMIT, "FACESEARCH_DB is too long");
        return FS_OK;
    }
    char data[PATH_MAX];
    fs_status rc = fs_data_dir(data, sizeof data, err);
    if (rc)
        return rc;
    if (util_path_join(buf, size, data, "index"))
        return util_fail(err, FS_ERR_LIMIT, "%s: path too long", data);
    return FS_OK;
}

fs_status fs_index_open(const char *dir, fs_engine *engine, int flags, fs_index **out,
                        fs_error *err)
{
    int write = (flags & FS_INDEX_WRITE) != 0;
    *out = NULL;
    char def[PATH_MAX];
    if (!dir) {
        fs_status rc = fs_index_default_dir(def, sizeof def, err);
        if (rc)
            return rc;
        dir = def;
    }
    if (write && !engine)
        return util_fail(err, FS_ERR_ARG, "writing an index needs a model pack");
    fs_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    ix->engine = engine;
    ix->lock_fd = -1;

    const fs_pack *pack = engine ? fs_engine_pack(engine) : NULL;
    size_t n = pack ? fs_pack_file_count(pack) : 0;
    const char *names[16], *hashes[16];
    if (n > 16)
        n = 16;
    for (size_t i = 0; i < n; i++) {
        names[i] = fs_pack_file_name(pack, i);
        hashes[i] = fs_pack_file_sha256(pack, i);
    }
    store_pack_id id = {.name = pack ? fs_pack_name(pack) : NULL, .file_count = n,
                        .file_names = names, .file_sha256 = hashes,
                        .embedding_dim = engine ? fs_engine_embedding_dim(engine) : 0,
                        .pipeline = FS_PIPELINE_VERSION};
    unsigned mode = !write ? FS_STORE_READ
                    : (flags & FS_INDEX_EXISTING) ? FS_STORE_WRITE : FS_STORE_CREATE;
    fs_status rc = store_open(dir, pack ? &id : NULL, mode, &ix->store, err);
    /* the lock is taken once the folder exists; until the first batch, nothing was written but
     * the creation (or migration) of the schema, which SQLite serialises by itself */
    if (rc == FS_OK && write)
        rc = index_writer_lock(dir, dir, (flags & FS_INDEX_WAIT) != 0, &ix->lock_fd, err);
    if (rc == FS_OK && write) {
        int64_t refresh;
        rc = store_face_floor(ix->store, face_engine_floor(engine), &refresh, err);
    }
    if (rc) {
        store_close(ix->store);
        index_writer_unlock(ix->lock_fd);
        free(ix);
        return rc;
    }
    *out = ix;
    return FS_OK;
}

fs_status fs_index_pack(const char *dir, char *buf, size_t size, fs_error *err)
{
    fs_index *ix = NULL;
    fs_status rc = fs_index_open(dir, NULL, FS_INDEX_READ, &ix, err);
    if (rc != FS_OK)
        return rc;
    const char *name = store_pack_name(ix->store);
    if (strlen(name) >= size)
        rc = util_fail(err, FS_ERR_LIMIT, "model pack name '%s' too long", name);
    else
        memcpy(buf, name, strlen(name) + 1);
    fs_index_close(ix);
    return rc;
}

void fs_index_close(fs_index *ix)
{
    if (!ix)
        return;
    store_close(ix->store);
    index_writer_unlock(ix->lock_fd);
    free(ix);
}

fs_status fs_index_remove(fs_index *ix, const char *path, size_t *removed, fs_error *err)
{
    int64_t files = 0, under = 0;
    char *canon;
    fs_status rc = fs_path_canonical(path, &canon, err);
    if (rc != FS_OK)
        return rc;
    rc = store_remove_path(ix->store, canon, &files, err);
    if (rc == FS_OK)
        rc = store_remove_folder(ix->store, canon, &under, err);
    free(canon);
    if (rc == FS_OK)
        rc = store_sync_vectors(ix->store, err);
    if (removed)
        *removed = (size_t)(files + under);
    return rc;
}

fs_status fs_index_stats_get(fs_index *ix, fs_index_stats *out, fs_error *err)
{
    store_stats s;
    fs_status rc = store_stats_get(ix->store, &s, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->files = s.files;
    out->failed = s.failed;
    out->faces = s.faces;
    out->folders = s.folders;
    out->bytes = s.db_bytes + s.vector_bytes;
    snprintf(out->pack, sizeof out->pack, "%s", s.pack);
    return FS_OK;
}
