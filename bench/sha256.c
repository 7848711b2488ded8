/*
 * sha256.c — how fast facesearch hashes: model files are verified at every start (7 MB for the
 * default pack) and every photo an index run reads is hashed. Hashes a buffer of SIZE MB in memory
 * with the block function the CPU allows (SHA instructions where present) and with the portable
 * one, and the peer, OpenSSL's `openssl dgst -sha256` (or coreutils' sha256sum) on the same bytes
 * from a file in the page cache, interleaved, ROUNDS rounds; medians:
 *   RESULT sha256 path=<ours_accelerated|ours_portable|peer_sha256sum|peer_openssl> mb_per_s=...
 * Usage: sha256 [SIZE_MB] [ROUNDS] (defaults 64, 5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/sha256.h"

#define MAX_ROUNDS 51

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double time_ours(const unsigned char *buf, size_t size, int accelerated)
{
    util_sha256 h;
    unsigned char digest[32];
    double t = now_s();
    util_sha256_init(&h);
    h.accelerated = h.accelerated && accelerated;
    util_sha256_update(&h, buf, size);
    util_sha256_final(&h, digest);
    return now_s() - t;
}

static double time_command(const char *command)
{
    double t = now_s();
    if (system(command) != 0)
        return -1;
    return now_s() - t;
}

int main(int argc, char **argv)
{
    int mb = argc > 1 ? atoi(argv[1]) : 64, rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (mb < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: sha256 [SIZE_MB] [ROUNDS <= %d]\n", MAX_ROUNDS);
        return 2;
    }
    size_t size = (size_t)mb << 20;
    unsigned char *buf = malloc(size);
    if (!buf)
        return 2;
    for (size_t i = 0; i < size; i++)
        buf[i] = (unsigned char)(i * 2654435761u >> 13);
    char path[] = "/tmp/fs_bench_sha256_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f || fwrite(buf, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "sha256: cannot write %s\n", path);
        return 2;
    }
    char peer_sum[600], peer_ssl[600];
    snprintf(peer_sum, sizeof peer_sum, "sha256sum %s >/dev/null", path);
    snprintf(peer_ssl, sizeof peer_ssl, "openssl dgst -sha256 %s >/dev/null 2>&1", path);
    int have_ssl = system("command -v openssl >/dev/null") == 0;
    double t[4][MAX_ROUNDS];
    time_command(peer_sum); /* page cache */
    for (int r = 0; r < rounds; r++) {
        t[0][r] = time_ours(buf, size, 1);
        t[1][r] = time_ours(buf, size, 0);
        t[2][r] = time_command(peer_sum);
        t[3][r] = have_ssl ? time_command(peer_ssl) : -1;
    }
    util_sha256 probe;
    util_sha256_init(&probe);
    const char *names[4] = {probe.accelerated ? "ours_accelerated" : "ours_default",
                            "ours_portable", "peer_sha256sum", "peer_openssl"};
    for (int k = 0; k < 4; k++) {
        if (t[k][0] < 0)
            continue;
        printf("RESULT sha256 path=%s size_mb=%d mb_per_s=%.0f\n", names[k], mb,
               mb / median(t[k], rounds));
    }
    remove(path);
    free(buf);
    return 0;
}
