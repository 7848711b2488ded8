/*
 * sha256.h — SHA-256 (FIPS 180-4), used to verify model files and to hash photo contents for
 * change detection. Streaming interface plus a whole-file helper.
 */
#ifndef FS_UTIL_SHA256_H
#define FS_UTIL_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facesearch.h"

typedef struct util_sha256 {
    uint32_t state[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t block[64];
    size_t used;          /* bytes waiting in block */
    bool accelerated;     /* blocks hashed with the CPU's SHA instructions (set by init; a test
                           * may clear it to run the portable code) */
} util_sha256;

void util_sha256_init(util_sha256 *h);
void util_sha256_update(util_sha256 *h, const void *data, size_t size);
void util_sha256_final(util_sha256 *h, uint8_t digest[32]);

/* Lower-case hex of a digest into hex[65] (NUL-terminated). */
void util_sha256_hex(const uint8_t digest[32], char hex[65]);
/* The digest written as hex (64 hex digits, then the end of the string): 0, or -1 if malformed. */
int util_sha256_from_hex(const char *hex, uint8_t digest[32]);

/* Hashes a whole file; hex receives 64 lower-case hex digits. */
fs_status util_sha256_file(const char *path, char hex[65], fs_error *err);
/* The same, the digest's 32 bytes into digest. */
fs_status util_sha256_file_digest(const char *path, uint8_t digest[32], fs_error *err);

#endif
