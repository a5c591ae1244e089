// Fully connected layer: y = x W^T + b.
//
// Layout: x [N, in], W [out, in] (PyTorch; a 1x1 conv weight [out, in, 1, 1]
// is the same memory), b [out] (may be null: no bias), y [N, out].
//
// Writes: y and dx overwritten (dx may be null when the input needs no
// gradient); dW and db ACCUMULATE.
#pragma once

#include <cstdint>

#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

// `bias` and `dbias` may be undefined tensors (no bias).
void linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y, Context& ctx);
void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw,
                     Tensor& dbias, Context& ctx);

namespace cpu {
template <class T>
void linear_forward(const T* x, const T* w, const T* b, T* y, int64_t n, int64_t in, int64_t out,
                    CudaStream stream);
template <class T>
void linear_backward(const T* x, const T* w, const T* dy, T* dx, T* dw, T* db, int64_t n,
                     int64_t in, int64_t out, CudaStream stream);
}  // namespace cpu

namespace cuda {
// cuBLAS GEMMs plus small bias kernels; `cublas` is the Context's handle.
void linear_forward(const float* x, const float* w, const float* b, float* y, int64_t n, int64_t in,
                    int64_t out, CublasHandle cublas, CudaStream stream);
void linear_backward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* db, int64_t n, int64_t in, int64_t out, CublasHandle cublas,
                     CudaStream stream);
}  // namespace cuda

}  // namespace effnet
