// The register-blocked inner kernel of the inference GEMMs:
//
//   tile[r][v*8 + j] = sum_p a[r*lda + p] * b[v*bstride + p*8 + j]
//   for r < MR, v < NV, j < 8, p < k
//
// `a`: MR rows of the activation matrix (row-major, stride lda), read as
// broadcast scalars, unpacked. `b`: NV column groups of 8 of the packed
// weight (PackedMatrix: [group][k][8], bstride = k*8 floats between groups).
// `tile`: MR x (NV*8) floats, row stride kTileStride, overwritten (the
// caller applies bias, activation etc. while it is hot in L1).
//
// With AVX2 + FMA (the EFFNET_NATIVE build on x86) the MR*NV accumulators are
// ymm registers: MR=4, NV=3 uses 12 of the 16 for accumulators, 3 for b and
// 1 for the broadcast a. Elsewhere a plain loop the compiler vectorises as
// it can (same arithmetic, in the same order per output element).
#pragma once

#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define EFFNET_INFER_AVX2 1
#endif

namespace effnet::infer::cpu {

constexpr int kGroup = 8;        // columns per packed group (one ymm)
constexpr int kMaxRows = 6;      // MR of the largest micro-kernel
constexpr int kMaxGroups = 3;    // NV of the largest micro-kernel
constexpr int kTileStride = kMaxGroups * kGroup;

template <int MR, int NV>
inline void gemm_microkernel(int64_t k, const float* a, int64_t lda, const float* b, int64_t bstride, float* tile) {
#if EFFNET_INFER_AVX2
    __m256 acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
    for (int64_t p = 0; p < k; ++p) {
        __m256 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(b + v * bstride + p * kGroup);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) _mm256_storeu_ps(tile + r * kTileStride + v * kGroup, acc[r][v]);
#else
    float acc[MR][NV * kGroup] = {};
    for (int64_t p = 0; p < k; ++p)
        for (int r = 0; r < MR; ++r) {
            const float av = a[r * lda + p];
            for (int v = 0; v < NV; ++v)
#pragma omp simd
                for (int j = 0; j < kGroup; ++j) acc[r][v * kGroup + j] += av * b[v * bstride + p * kGroup + j];
        }
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < NV * kGroup; ++j) tile[r * kTileStride + j] = acc[r][j];
#endif
}

using MicroKernel = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float*);

// The kernel for `rows` x `groups` (1..kMaxRows, 1..kMaxGroups).
MicroKernel gemm_microkernel_for(int rows, int groups);

}  // namespace effnet::infer::cpu
