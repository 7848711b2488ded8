/*
 * photo_list.c — the photos of a walk as a list (fs_walk_photos), and which of them an index
 * already holds unchanged (fs_index_unchanged). A sharded index run walks once, on one rank, and
 * gives each shard its share of this list (fs_index_options.photos); the list is sorted and
 * deduplicated exactly as an index run's own walk (run.c).
 */
#include "index/index_internal.h"

#include <stdlib.h>
#include <string.h>

#include "index/walk.h"
#include "util/error.h"
#include "util/grow.h"

typedef struct list_ctx {
    fs_photo_list *list;
    size_t cap;
    int nomem;
    void (*on_problem)(const char *message, void *ctx);
    void *ctx;
} list_ctx;

static int add_photo(const char *path, const struct stat *st, void *ctx)
{
    list_ctx *c = ctx;
    fs_photo_list *l = c->list;
    fs_photo_entry *grown = util_grow(l->items, &c->cap, l->count + 1, sizeof *grown, 1024);
    if (!grown)
        return c->nomem = 1;
    l->items = grown;
    fs_photo_entry *e = &l->items[l->count];
    if (!(e->path = strdup(path)))
        return c->nomem = 1;
    e->size = (int64_t)st->st_size;
    e->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    l->count++;
    return 0;
}

static void pass_problem(const char *message, void *ctx)
{
    list_ctx *c = ctx;
    if (c->on_problem)
        c->on_problem(message, c->ctx);
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const fs_photo_entry *)a)->path, ((const fs_photo_entry *)b)->path);
}

fs_status fs_walk_photos(const char *const *roots, size_t n_roots, int include_hidden,
                         const char *skip, void (*on_problem)(const char *message, void *ctx),
                         void *ctx, fs_photo_list *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    list_ctx c = {.list = out, .on_problem = on_problem, .ctx = ctx};
    index_walk_seen seen = {0};
    char *skip_canon = NULL;
    fs_status rc = skip ? fs_path_canonical(skip, &skip_canon, err) : FS_OK;
    index_walk_callbacks cb = {.file = add_photo, .problem = pass_problem, .ctx = &c,
                               .seen = &seen, .skip = skip_canon};
    for (size_t i = 0; i < n_roots && rc == FS_OK; i++) {
        char *root = NULL;
        rc = fs_path_canonical(roots[i], &root, err);
        if (rc == FS_OK)
            rc = index_walk(root, include_hidden, &cb, err);
        if (rc == FS_OK && c.nomem)
            rc = util_fail(err, FS_ERR_NOMEM, "out of memory listing %s", roots[i]);
        free(root);
    }
    index_walk_seen_free(&seen);
    free(skip_canon);
    if (rc != FS_OK) {
        fs_photo_list_free(out);
        return rc;
    }
    if (out->count > 1)
        qsort(out->items, out->count, sizeof *out->items, by_path);
    size_t kept = 0; /* the same photo reached through two roots counts once */
    for (size_t i = 0; i < out->count; i++) {
        if (kept && strcmp(out->items[kept - 1].path, out->items[i].path) == 0)
            free(out->items[i].path);
        else
            out->items[kept++] = out->items[i];
    }
    out->count = kept;
    return FS_OK;
}

void fs_photo_list_free(fs_photo_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].path);
    free(list->items);
    memset(list, 0, sizeof *list);
}

fs_status fs_index_unchanged(fs_index *ix, const fs_photo_list *photos, unsigned char *unchanged,
                             fs_error *err)
{
    for (size_t i = 0; i < photos->count; i++) {
        const fs_photo_entry *p = &photos->items[i];
        store_file f;
        int found;
        fs_status rc = store_file_by_path(ix->store, p->path, &f, &found, err);
        if (rc)
            return rc;
        /* as an index run classifies (run.c): a photo not even read last time is tried again */
        unchanged[i] = found && f.size == p->size && f.mtime_ns == p->mtime_ns &&
                       !(f.status == FS_FILE_FAILED && f.sha256[0] == '\0');
    }
    return FS_OK;
}
