// Elementwise tensor arithmetic used between layers.
//
//   add:            y = a + b                        (the MBConv residual)
//   add_inplace:    y += a                           (gradient fan-in at a residual)
//   moving_average: y = decay * y + (1 - decay) * x  (the weight average of --ema, train/ema.h)
//
// Layout-free, float32; y overwritten by add, accumulated by add_inplace,
// updated in place by moving_average (in float: decay * y first, then
// (1 - decay) * x added).
#pragma once

#include <cstdint>

#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

void add(const Tensor& a, const Tensor& b, Tensor& y, Context& ctx);
void add_inplace(Tensor& y, const Tensor& a, Context& ctx);
// decay in [0, 1].
void moving_average(Tensor& y, const Tensor& x, float decay, Context& ctx);

namespace cpu {
template <class T>
void add(const T* a, const T* b, T* y, int64_t n, CudaStream stream);
template <class T>
void add_inplace(T* y, const T* a, int64_t n, CudaStream stream);
template <class T>
void moving_average(T* y, const T* x, T decay, int64_t n, CudaStream stream);
}  // namespace cpu

namespace cuda {
void add(const float* a, const float* b, float* y, int64_t n, CudaStream stream);
void add_inplace(float* y, const float* a, int64_t n, CudaStream stream);
void moving_average(float* y, const float* x, float decay, int64_t n, CudaStream stream);
}  // namespace cuda

}  // namespace effnet
