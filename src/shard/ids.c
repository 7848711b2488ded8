/*
 * ids.c — photo and face ids across a sharded library. Each shard numbers its photos and faces
 * itself (SQLite row ids), so the same number names a different face in every shard; a server
 * over the whole library (serve --shards) gives out library ids instead: the shard's id times the
 * shard count, plus the shard. A one-shard library's ids are its shard's, as one index's.
 */
#include <stdint.h>

#include "facesearch.h"

int64_t fs_library_id(int64_t shard_id, int k, int count)
{
    if (shard_id <= 0 || count < 1 || k < 0 || k >= count ||
        shard_id > (INT64_MAX - k) / count)
        return 0;
    return shard_id * count + k;
}

int fs_library_id_split(int64_t id, int count, int *k, int64_t *shard_id)
{
    if (id <= 0 || count < 1 || id / count == 0)
        return -1;
    *k = (int)(id % count);
    *shard_id = id / count;
    return 0;
}
