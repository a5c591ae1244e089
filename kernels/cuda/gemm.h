// Row-major GEMMs on cuBLAS (column-major underneath), mirroring
// kernels/cpu/gemm.h: a row-major M x N matrix is cuBLAS's column-major
// N x M, so C = A B^T (row-major) is C^T = B A^T (column-major).
// Precision is the handle's math mode, set once per Context
// (gpu::set_cublas_tf32): exact FP32 unless --tf32.
#pragma once

#include <cstdint>

#include "tensor/gpu_handles.h"

namespace effnet::cuda {

// C[m x n] (+)= A[m x k] * B[n x k]^T
void gemm_nt(CublasHandle cublas, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
             const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate);
// C[m x n] (+)= A[m x k] * B[k x n]
void gemm_nn(CublasHandle cublas, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
             const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate);
// C[m x n] (+)= A[k x m]^T * B[k x n]
void gemm_tn(CublasHandle cublas, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
             const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate);

}  // namespace effnet::cuda
