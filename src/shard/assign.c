/*
 * assign.c — which shard a photo belongs to: fixed by its content (sha256), the hash every index
 * run computes anyway, so that a moved, renamed or copied photo stays in its shard (where the
 * index finds its faces and copies them instead of embedding again) and every photo is in one
 * shard only.
 */
#include <stdlib.h>
#include <string.h>

#include "facesearch.h"
#include "util/sha256.h"

int fs_shard_of(const uint8_t sha256[32], int count)
{
    uint64_t prefix = 0;
    for (int i = 0; i < 8; i++)
        prefix = prefix << 8 | sha256[i];
    return count > 0 ? (int)(prefix % (uint64_t)count) : 0;
}

int fs_photo_shard(const char *path, int count)
{
    uint8_t digest[32];
    if (util_sha256_file_digest(path, digest, NULL) != FS_OK) {
        /* unreadable: by its path, so that its failure is recorded in one shard */
        util_sha256 h;
        util_sha256_init(&h);
        util_sha256_update(&h, path, strlen(path));
        util_sha256_final(&h, digest);
    }
    return fs_shard_of(digest, count);
}
