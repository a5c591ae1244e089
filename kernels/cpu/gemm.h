// Row-major GEMM helpers over Eigen for the CPU reference. Eigen runs them on
// OpenMP threads. Leading dimensions are in elements; beta is 0 (overwrite)
// or 1 (accumulate).
#pragma once

#include <Eigen/Core>
#include <cstdint>

namespace effnet::cpu {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstMatMap = Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>>;
template <class T>
using MatMap = Eigen::Map<RowMatrix<T>, 0, Eigen::OuterStride<>>;

// C[m x n] = A[m x k] * B[n x k]^T (+ C when accumulate)
template <class T>
void gemm_nt(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
             T* c, int64_t ldc, bool accumulate) {
    ConstMatMap<T> A(a, m, k, Eigen::OuterStride<>(lda));
    ConstMatMap<T> B(b, n, k, Eigen::OuterStride<>(ldb));
    MatMap<T> C(c, m, n, Eigen::OuterStride<>(ldc));
    if (accumulate)
        C.noalias() += A * B.transpose();
    else
        C.noalias() = A * B.transpose();
}

// C[m x n] = A[m x k] * B[k x n] (+ C)
template <class T>
void gemm_nn(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
             T* c, int64_t ldc, bool accumulate) {
    ConstMatMap<T> A(a, m, k, Eigen::OuterStride<>(lda));
    ConstMatMap<T> B(b, k, n, Eigen::OuterStride<>(ldb));
    MatMap<T> C(c, m, n, Eigen::OuterStride<>(ldc));
    if (accumulate)
        C.noalias() += A * B;
    else
        C.noalias() = A * B;
}

// C[m x n] = A[k x m]^T * B[k x n] (+ C)
template <class T>
void gemm_tn(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
             T* c, int64_t ldc, bool accumulate) {
    ConstMatMap<T> A(a, k, m, Eigen::OuterStride<>(lda));
    ConstMatMap<T> B(b, k, n, Eigen::OuterStride<>(ldb));
    MatMap<T> C(c, m, n, Eigen::OuterStride<>(ldc));
    if (accumulate)
        C.noalias() += A.transpose() * B;
    else
        C.noalias() = A.transpose() * B;
}

}  // namespace effnet::cpu
