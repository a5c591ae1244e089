// The register-blocked inner kernel of the inference GEMMs, with the
// epilogue applied to the accumulators before they leave the registers:
//
//   acc[r][v*8 + j] = sum_p a[r*lda + p] * b[v*bstride + p*8 + j]
//                     for r < MR, v < NV, j < 8, p < k
//   then, when `raw` is null (a tile whose NV*8 columns all exist):
//   z = acc + bias[j'];  z = swish(z) if swish;  z += residual[r*ld + j'];
//   out[r*ld + j'] = z if out;  colsum[j'] += z over r if colsum
//   (j' = v*8 + j: bias, residual, out and colsum point at the tile's first
//   column); when `raw` is set, acc is stored there instead (row stride
//   kTileStride) for the caller's column-tail epilogue.
//
// `a`: MR rows of the activation matrix (row-major, stride lda), read as
// broadcast scalars, unpacked. `b`: NV column groups of 8 of the packed
// weight (PackedMatrix: [group][k][8], bstride = k*8 floats between groups,
// 32-byte aligned).
//
// With AVX2 + FMA (the EFFNET_NATIVE build on x86) the MR*NV accumulators are
// ymm registers (4x3, 6x2 and 3x4 use 12, leaving 4 for b and the broadcast).
// Elsewhere, plain loops the compiler vectorises as it can.
#pragma once

#include <cstdint>

#include "infer/cpu/vector_math.h"
#include "kernels/cpu/swish_math.h"

namespace effnet::infer::cpu {

constexpr int kGroup = 8;      // columns per packed group (one ymm)
constexpr int kMaxRows = 6;    // largest MR
constexpr int kMaxGroups = 4;  // largest NV
constexpr int kTileStride = kMaxGroups * kGroup;

struct TileEpilogue {
    const float* bias = nullptr;
    bool swish = false;
    const float* residual = nullptr;
    float* out = nullptr;
    int64_t ld = 0;
    float* colsum = nullptr;
};

template <int MR, int NV>
void gemm_microkernel(int64_t k, const float* a, int64_t lda, const float* b, int64_t bstride,
                      const TileEpilogue& ep, float* raw) {
#if EFFNET_INFER_AVX2
    __m256 acc[MR][NV];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
    for (int64_t p = 0; p < k; ++p) {
        __m256 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            bv[v] = _mm256_load_ps(b + v * bstride + p * kGroup);
            // In a register when accumulators, b and the broadcast fit in the 16 ymm.
            if constexpr (MR * NV + NV + 1 <= 16) keep_in_register(bv[v]);
        }
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            const __m256 av = _mm256_broadcast_ss(a + r * lda + p);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    if (raw) {
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v)
                _mm256_storeu_ps(raw + r * kTileStride + v * kGroup, acc[r][v]);
        return;
    }
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
        const __m256 bias = _mm256_loadu_ps(ep.bias + v * kGroup);
        __m256 sum = _mm256_setzero_ps();
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            __m256 z = _mm256_add_ps(acc[r][v], bias);
            if (ep.swish) z = swish8(z);
            if (ep.residual)
                z = _mm256_add_ps(z, _mm256_loadu_ps(ep.residual + r * ep.ld + v * kGroup));
            if (ep.out) _mm256_storeu_ps(ep.out + r * ep.ld + v * kGroup, z);
            sum = _mm256_add_ps(sum, z);
        }
        if (ep.colsum)
            _mm256_storeu_ps(ep.colsum + v * kGroup,
                             _mm256_add_ps(_mm256_loadu_ps(ep.colsum + v * kGroup), sum));
    }
#else
    float acc[MR][NV * kGroup] = {};
    for (int64_t p = 0; p < k; ++p)
        for (int r = 0; r < MR; ++r) {
            const float av = a[r * lda + p];
            for (int v = 0; v < NV; ++v)
#pragma omp simd
                for (int j = 0; j < kGroup; ++j)
                    acc[r][v * kGroup + j] += av * b[v * bstride + p * kGroup + j];
        }
    if (raw) {
        for (int r = 0; r < MR; ++r)
            for (int j = 0; j < NV * kGroup; ++j) raw[r * kTileStride + j] = acc[r][j];
        return;
    }
    for (int r = 0; r < MR; ++r)
#pragma omp simd
        for (int j = 0; j < NV * kGroup; ++j) {
            float z = acc[r][j] + ep.bias[j];
            if (ep.swish) z = effnet::cpu::swish(z);
            if (ep.residual) z += ep.residual[r * ep.ld + j];
            if (ep.out) ep.out[r * ep.ld + j] = z;
            if (ep.colsum) ep.colsum[j] += z;
        }
#endif
}

using MicroKernel = void (*)(int64_t, const float*, int64_t, const float*, int64_t,
                             const TileEpilogue&, float*);

// The kernel for `rows` x `groups` (1..kMaxRows, 1..kMaxGroups).
MicroKernel gemm_microkernel_for(int rows, int groups);

}  // namespace effnet::infer::cpu
