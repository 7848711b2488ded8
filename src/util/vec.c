/*
 * vec.c — vector maths (vec.h): the fp32 dot product behind every similarity and the int8 dot
 * product of the vector index's codes.
 */
#include "util/vec.h"

#include <assert.h>

float util_vec_dot(const float *a, const float *b, size_t dim)
{
    /* 16 independent partial sums: vectorised by the compiler without reassociation, and the
     * order of additions is fixed, so every caller gets bit-identical scores. */
    assert(dim == 0 || (a && b));
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= dim; i += 16)
        for (size_t j = 0; j < 16; j++)
            acc[j] += a[i + j] * b[i + j];
    for (size_t j = 0; i < dim; i++, j++)
        acc[j] += a[i] * b[i];
    for (size_t w = 8; w >= 1; w /= 2)
        for (size_t j = 0; j < w; j++)
            acc[j] += acc[j + w];
    return acc[0];
}

/* int8 dot product. With AVX2 (checked at run time): |a| * (b * sign(a)) with maddubs gives
 * exact 16-bit pair sums (at most 2 * 127 * 127 < 32767), widened with madd: 32 codes per step. */
#if defined(__x86_64__) || defined(__i386__)
#include <assert.h>
#include <immintrin.h>
__attribute__((target("avx2"))) static int32_t code_dot_avx2(const int8_t *a, const int8_t *b,
                                                             size_t dim)
{
    __m256i acc = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(a + i));
        __m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(b + i));
        __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    int32_t r = _mm_cvtsi128_si32(s);
    for (; i < dim; i++)
        r += (int32_t)a[i] * (int32_t)b[i];
    return r;
}
#define HAVE_AVX2_PATH 1
#endif

static int32_t code_dot_plain(const int8_t *a, const int8_t *b, size_t dim)
{
    int32_t s = 0;
    for (size_t i = 0; i < dim; i++)
        s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

int32_t util_code_dot(const int8_t *a, const int8_t *b, size_t dim)
{
#ifdef HAVE_AVX2_PATH
    if (__builtin_cpu_supports("avx2"))
        return code_dot_avx2(a, b, dim);
#endif
    return code_dot_plain(a, b, dim);
}
