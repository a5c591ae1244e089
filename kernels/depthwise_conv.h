// Depthwise 2-D convolution (groups = channels, one k x k filter per channel),
// no bias, symmetric padding k/2 for odd k.
//
//   y[n,oy,ox,c] = sum_{ky,kx} x[n, oy*s-p+ky, ox*s-p+kx, c] * w[c, 0, ky, kx]
//
// Layout: x [N,H,W,C], y [N,Ho,Wo,C] NHWC; w [C, 1, k, k] (PyTorch).
// Channels are innermost, so the inner loop runs over contiguous channels.
//
// Writes: forward overwrites y; backward_input overwrites dx;
// backward_weight ACCUMULATES into dw (+=).
#pragma once

#include "kernels/conv_shape.h"
#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

void depthwise_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g,
                              Context& ctx);
void depthwise_conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx,
                                     const ConvGeometry& g, Context& ctx);
void depthwise_conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw,
                                      const ConvGeometry& g, Context& ctx);

namespace cpu {
template <class T>
void depthwise_conv2d_forward(const T* x, const T* w, T* y, const ConvGeometry& g,
                              CudaStream stream);
template <class T>
void depthwise_conv2d_backward_input(const T* dy, const T* w, T* dx, const ConvGeometry& g,
                                     CudaStream stream);
template <class T>
void depthwise_conv2d_backward_weight(const T* x, const T* dy, T* dw, const ConvGeometry& g,
                                      CudaStream stream);
}  // namespace cpu

// The CUDA versions need device scratch: `d_wt` holds the tap-major weights
// (C*k*k floats), `d_partial` the weight-gradient partials
// (depthwise_weight_workspace_floats: slices x k*k x C floats, the slice count
// following the GPU's SM count). The dispatch functions above take it from
// the Context's workspace. Thread mappings: kernels/cuda/depthwise_map.h.
// The backward passes run fast variants for 3x3 / 5x5 kernels at stride 1 / 2
// with 32-bit indices, and a generic one otherwise (64-bit indices; the weight
// gradient supports kernel sides up to 5 and throws beyond).
namespace cuda {
void depthwise_conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g,
                              float* d_wt, CudaStream stream);
void depthwise_conv2d_backward_input(const float* dy, const float* w, float* dx,
                                     const ConvGeometry& g, float* d_wt, CudaStream stream);
void depthwise_conv2d_backward_weight(const float* x, const float* dy, float* dw,
                                      const ConvGeometry& g, float* d_partial, CudaStream stream);
size_t depthwise_weight_workspace_floats(const ConvGeometry& g);
}  // namespace cuda

}  // namespace effnet
