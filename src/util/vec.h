/*
 * vec.h — vector maths shared by the face pipeline (similarity of two faces) and the vector index
 * (scan, re-rank, HNSW distances): the fp32 dot product every similarity is computed with, and
 * the exact int8 dot product of quantised codes. Plain C, callable from the C++ bridge.
 */
#ifndef FS_UTIL_VEC_H
#define FS_UTIL_VEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The similarity used everywhere: fp32 dot product of two dim-vectors, summed in a fixed order
 * (so that every path computes bit-identical scores). */
float util_vec_dot(const float *a, const float *b, size_t dim);

/* Exact int8 dot product of two codes (SIMD when the CPU has it). */
int32_t util_code_dot(const int8_t *a, const int8_t *b, size_t dim);

#ifdef __cplusplus
}
#endif
#endif
