/*
 * sha256.c — SHA-256 as specified in FIPS 180-4, written from the standard.
 *
 * Two block functions: a portable one, and one on the x86 SHA extensions (SHA-NI: AMD since Zen,
 * Intel since Ice Lake / Goldmont), chosen per hash by what the CPU reports. On this project's
 * machines the SHA-NI one hashes about ten times faster, which counts for the model files
 * verified at every start (7 MB) and for every photo an index run reads.
 */
#include "util/sha256.h"

#include <cpuid.h>
#include <ctype.h>
#include <errno.h>
#include <immintrin.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}

static void compress_portable(uint32_t s[8], const uint8_t p[64])
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 =
            h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

/* K[i..i+3] as one vector (lane 0 = K[i]). */
#define K4(i) _mm_loadu_si128((const __m128i *)&K[i])

/* `blocks` 64-byte blocks on the SHA extensions. The state is kept as the two vectors the
 * round instruction works on, ABEF and CDGH; the message schedule four words at a time:
 * W[t..t+3] = msg2(msg1(W[t-16..], W[t-12..]) + W[t-7..t-4], W[t-4..t-1]). */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_shani(uint32_t s[8],
                                                                       const uint8_t *p,
                                                                       size_t blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)&s[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&s[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
    for (; blocks > 0; blocks--, p += 64) {
        __m128i abef_in = abef, cdgh_in = cdgh, w[4];
        for (int g = 0; g < 16; g++) { /* four rounds per group, w[g % 4] = W[4g .. 4g+3] */
            if (g < 4) {
                w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
            } else {
                __m128i t = _mm_sha256msg1_epu32(w[g % 4], w[(g + 1) % 4]);
                t = _mm_add_epi32(t, _mm_alignr_epi8(w[(g + 3) % 4], w[(g + 2) % 4], 4));
                w[g % 4] = _mm_sha256msg2_epu32(t, w[(g + 3) % 4]);
            }
            __m128i m = _mm_add_epi32(w[g % 4], K4(4 * g));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(m, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&s[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&s[4], _mm_alignr_epi8(dchg, feba, 8));
}

/* CPUID: SHA extensions (leaf 7, EBX bit 29) and SSE4.1 (leaf 1, ECX bit 19). */
static bool cpu_has_sha(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)))
        return false;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}

static void compress(util_sha256 *h, const uint8_t *p, size_t blocks)
{
    if (h->accelerated) {
        compress_shani(h->state, p, blocks);
        return;
    }
    for (; blocks > 0; blocks--, p += 64)
        compress_portable(h->state, p);
}

void util_sha256_init(util_sha256 *h)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(h->state, iv, sizeof iv);
    h->length = 0;
    h->used = 0;
    h->accelerated = cpu_has_sha();
}

void util_sha256_update(util_sha256 *h, const void *data, size_t size)
{
    const uint8_t *p = data;
    h->length += size;
    if (h->used) {
        size_t take = 64 - h->used < size ? 64 - h->used : size;
        memcpy(h->block + h->used, p, take);
        h->used += take; p += take; size -= take;
        if (h->used < 64)
            return;
        compress(h, h->block, 1);
        h->used = 0;
    }
    compress(h, p, size / 64);
    p += size / 64 * 64;
    size %= 64;
    memcpy(h->block, p, size);
    h->used = size;
}

void util_sha256_final(util_sha256 *h, uint8_t digest[32])
{
    uint64_t bits = h->length * 8;
    uint8_t pad = 0x80;
    util_sha256_update(h, &pad, 1);
    pad = 0;
    while (h->used != 56)
        util_sha256_update(h, &pad, 1);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    util_sha256_update(h, len, 8);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(h->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(h->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(h->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)h->state[i];
    }
}

void util_sha256_hex(const uint8_t digest[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

static int nibble(char c)
{
    static const char digits[] = "0123456789abcdef";
    const char *at = c ? strchr(digits, tolower((unsigned char)c)) : NULL;
    return at ? (int)(at - digits) : -1;
}

int util_sha256_from_hex(const char *hex, uint8_t digest[32])
{
    for (int i = 0; i < 32; i++) {
        int hi = nibble(hex[2 * i]);
        int lo = hi < 0 ? -1 : nibble(hex[2 * i + 1]); /* stops at the end of the string */
        if (lo < 0)
            return -1;
        digest[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[64] == '\0' ? 0 : -1;
}

fs_status util_sha256_file(const char *path, char hex[65], fs_error *err)
{
    uint8_t digest[32];
    fs_status rc = util_sha256_file_digest(path, digest, err);
    if (rc == FS_OK)
        util_sha256_hex(digest, hex);
    return rc;
}

fs_status util_sha256_file_digest(const char *path, uint8_t digest[32], fs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return util_fail(err, errno == ENOENT ? FS_ERR_NOT_FOUND : FS_ERR_IO, "%s: %s", path,
                         strerror(errno));
    util_sha256 h;
    util_sha256_init(&h);
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        util_sha256_update(&h, buf, n);
    int failed = ferror(f);
    fclose(f);
    if (failed)
        return util_fail(err, FS_ERR_IO, "%s: read error", path);
    util_sha256_final(&h, digest);
    return FS_OK;
}
