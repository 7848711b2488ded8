/*
 * merge.c — the results of one search over several shards made one (fs_matches_merge): every
 * shard's best top, ranked in the order of one index's search (index/matches.c), and cut to the
 * top. Exact: a face of the overall top is in its own shard's top.
 */
#include <stdlib.h>
#include <string.h>

#include "index/matches.h"
#include "util/error.h"

fs_status fs_matches_merge(fs_matches *parts, size_t n, size_t top, fs_matches *out,
                           fs_error *err)
{
    memset(out, 0, sizeof *out);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].count;
    if (total && !(out->items = malloc(total * sizeof *out->items)))
        return util_fail(err, FS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (parts[i].count)
            memcpy(out->items + out->count, parts[i].items, parts[i].count * sizeof *out->items);
        out->count += parts[i].count;
        out->files += parts[i].files;
        out->files_failed += parts[i].files_failed;
        out->faces += parts[i].faces;
        free(parts[i].items);
        memset(&parts[i], 0, sizeof parts[i]);
    }
    index_matches_rank(out, top);
    return FS_OK;
}
