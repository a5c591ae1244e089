// cuBLAS row-major GEMM wrappers (kernels/cuda/gemm.h).
#include "kernels/cuda/gemm.h"
#include "tensor/cuda_check.h"

namespace effnet::cuda {

// Row-major C (m x n) = col-major C' (n x m) = B'^? A'^? with A, B read as their transposes.
void gemm_nt(CublasHandle h, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
             const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    // C' = B_rm * A_rm^T in column-major terms: op(B') = T (B' is k x n col-major), op(A') = N (A' is k x m).
    EFFNET_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, int(n), int(m), int(k), &one, b,
                                    int(ldb), a, int(lda), &beta, c, int(ldc)),
                        "gemm_nt M=" << m << " N=" << n << " K=" << k);
}

void gemm_nn(CublasHandle h, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
             const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    // C' (n x m) = B' (n x k) * A' (k x m), all column-major views of the row-major data.
    EFFNET_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, int(n), int(m), int(k), &one, b,
                                    int(ldb), a, int(lda), &beta, c, int(ldc)),
                        "gemm_nn M=" << m << " N=" << n << " K=" << k);
}

void gemm_tn(CublasHandle h, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
             const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
    const float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    // A is k x m row-major = A' (m x k) column-major; C' (n x m) = B' (n x k) * A'^T.
    EFFNET_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, int(n), int(m), int(k), &one, b,
                                    int(ldb), a, int(lda), &beta, c, int(ldc)),
                        "gemm_tn M=" << m << " N=" << n << " K=" << k);
}

}  // namespace effnet::cuda
