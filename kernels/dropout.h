// Dropout and drop-path (stochastic depth), with masks from the counter-based
// Philox stream so that the same (seed, stream) gives the same mask on every
// device and backward recomputes the mask instead of storing it.
//
//   dropout:   keep_i = u(seed, stream, first + i) >= p;   y_i = keep_i ? x_i / (1-p) : 0
//   drop-path: keep_n = u(seed, stream, first + n) >= p;   y[n,...] = keep_n ? x[n,...] / (1-p) : 0
//   backward:  dx = dy * (the same factor)
//
// `first` places the tensor in a larger batch: a data-parallel rank whose rows
// start at row r0 of the global batch passes r0 * per_sample (dropout) or r0
// (drop-path), and draws exactly the masks a single process would for those
// rows. 0 for a whole batch.
//
// Layout-free: `n` elements, or `batch` samples of `per_sample` elements.
// Outputs and input gradients are overwritten. p = 0 is the identity; p must be < 1.
#pragma once

#include <cstdint>

#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

void dropout_forward(const Tensor& x, Tensor& y, float p, uint64_t seed, uint64_t stream,
                     uint64_t first, Context& ctx);
void dropout_backward(const Tensor& dy, Tensor& dx, float p, uint64_t seed, uint64_t stream,
                      uint64_t first, Context& ctx);
void drop_path_forward(const Tensor& x, Tensor& y, float p, uint64_t seed, uint64_t stream,
                       uint64_t first, Context& ctx);
void drop_path_backward(const Tensor& dy, Tensor& dx, float p, uint64_t seed, uint64_t stream,
                        uint64_t first, Context& ctx);

namespace cpu {
// The same kernel serves forward and backward (y = x * factor_i).
template <class T>
void dropout_apply(const T* x, T* y, int64_t n, float p, uint64_t seed, uint64_t stream,
                   uint64_t first, CudaStream cuda_stream);
template <class T>
void drop_path_apply(const T* x, T* y, int64_t batch, int64_t per_sample, float p, uint64_t seed,
                     uint64_t stream, uint64_t first, CudaStream cuda_stream);
}  // namespace cpu

namespace cuda {
void dropout_apply(const float* x, float* y, int64_t n, float p, uint64_t seed, uint64_t stream,
                   uint64_t first, CudaStream cuda_stream);
void drop_path_apply(const float* x, float* y, int64_t batch, int64_t per_sample, float p,
                     uint64_t seed, uint64_t stream, uint64_t first, CudaStream cuda_stream);
}  // namespace cuda

}  // namespace effnet
