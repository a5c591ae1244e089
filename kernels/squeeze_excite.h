// The two tensor ops of squeeze-and-excite that are not GEMMs: global average
// pooling (the squeeze; also the network's final pool) and the channel-wise
// scale by the sigmoid gate (the excite). The two small FCs are linear ops
// (kernels/linear.h) on [N, C] with the 1x1 conv weights viewed as matrices.
//
//   pool:   y[n,c] = (1/HW) sum_{h,w} x[n,h,w,c]          dx[n,h,w,c] = dy[n,c] / HW
//   scale:  y[n,h,w,c] = x[n,h,w,c] * g[n,c]             dx = dy * g,  dg[n,c] = sum_{h,w} dy * x
//
// Layout: x [N,H,W,C] NHWC, pooled/gate [N,C]. Every output and gradient here
// is an activation (gradient): all are overwritten.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

void global_avg_pool_forward(const Tensor& x, Tensor& y, Context& ctx);
void global_avg_pool_backward(const Tensor& dy, Tensor& dx, Context& ctx);
void channel_scale_forward(const Tensor& x, const Tensor& gate, Tensor& y, Context& ctx);
void channel_scale_backward(const Tensor& x, const Tensor& gate, const Tensor& dy, Tensor& dx,
                            Tensor& dgate, Context& ctx);

namespace cpu {
template <class T>
void global_avg_pool_forward(const T* x, T* y, int64_t n, int64_t hw, int64_t c, CudaStream stream);
template <class T>
void global_avg_pool_backward(const T* dy, T* dx, int64_t n, int64_t hw, int64_t c,
                              CudaStream stream);
template <class T>
void channel_scale_forward(const T* x, const T* gate, T* y, int64_t n, int64_t hw, int64_t c,
                           CudaStream stream);
template <class T>
void channel_scale_backward(const T* x, const T* gate, const T* dy, T* dx, T* dgate, int64_t n,
                            int64_t hw, int64_t c, CudaStream stream);
}  // namespace cpu

// CUDA: the per-(image, channel) sums (pool forward, gate gradient) take
// `workspace`, squeeze_excite_workspace_bytes(n, hw, c) of device scratch for
// their double partials (the dispatch functions above take it from the
// Context); mapping in kernels/cuda/channel_reduce_map.h.
namespace cuda {
size_t squeeze_excite_workspace_bytes(int64_t n, int64_t hw, int64_t c);
void global_avg_pool_forward(const float* x, float* y, int64_t n, int64_t hw, int64_t c,
                             void* workspace, CudaStream stream);
void global_avg_pool_backward(const float* dy, float* dx, int64_t n, int64_t hw, int64_t c,
                              CudaStream stream);
void channel_scale_forward(const float* x, const float* gate, float* y, int64_t n, int64_t hw,
                           int64_t c, CudaStream stream);
void channel_scale_backward(const float* x, const float* gate, const float* dy, float* dx,
                            float* dgate, int64_t n, int64_t hw, int64_t c, void* workspace,
                            CudaStream stream);
}  // namespace cuda

}  // namespace effnet
