// Swish (SiLU) and sigmoid, elementwise.
//
//   swish(x)    = x * s(x),  s(x) = 1 / (1 + e^-x)
//   swish'(x)   = s(x) * (1 + x * (1 - s(x)))
//   sigmoid'(x) = y * (1 - y), from the saved output y
//
// Layout-free (n contiguous elements). Forward outputs and input gradients
// are overwritten; nothing accumulates.
#pragma once

#include <cstdint>

#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

void swish_forward(const Tensor& x, Tensor& y, Context& ctx);
void swish_backward(const Tensor& x, const Tensor& dy, Tensor& dx, Context& ctx);
void sigmoid_forward(const Tensor& x, Tensor& y, Context& ctx);
void sigmoid_backward(const Tensor& y, const Tensor& dy, Tensor& dx, Context& ctx);

namespace cpu {
template <class T>
void swish_forward(const T* x, T* y, int64_t n, CudaStream stream);
template <class T>
void swish_backward(const T* x, const T* dy, T* dx, int64_t n, CudaStream stream);
template <class T>
void sigmoid_forward(const T* x, T* y, int64_t n, CudaStream stream);
template <class T>
void sigmoid_backward(const T* y, const T* dy, T* dx, int64_t n, CudaStream stream);
}  // namespace cpu

namespace cuda {
void swish_forward(const float* x, float* y, int64_t n, CudaStream stream);
void swish_backward(const float* x, const float* dy, float* dx, int64_t n, CudaStream stream);
void sigmoid_forward(const float* x, float* y, int64_t n, CudaStream stream);
void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n, CudaStream stream);
}  // namespace cuda

}  // namespace effnet
