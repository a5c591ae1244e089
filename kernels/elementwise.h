// Elementwise tensor arithmetic used between layers.
//
//   add:         y = a + b          (the MBConv residual)
//   add_inplace: y += a             (gradient fan-in at a residual)
//
// Layout-free; y overwritten by add, accumulated by add_inplace.
#pragma once

#include <cstdint>

#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

void add(const Tensor& a, const Tensor& b, Tensor& y, Context& ctx);
void add_inplace(Tensor& y, const Tensor& a, Context& ctx);

namespace cpu {
template <class T> void add(const T* a, const T* b, T* y, int64_t n, CudaStream stream);
template <class T> void add_inplace(T* y, const T* a, int64_t n, CudaStream stream);
}  // namespace cpu

namespace cuda {
void add(const float* a, const float* b, float* y, int64_t n, CudaStream stream);
void add_inplace(float* y, const float* a, int64_t n, CudaStream stream);
}  // namespace cuda

}  // namespace effnet
