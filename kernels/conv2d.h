// Dense 2-D convolution (any kernel, stride, symmetric padding, groups), no bias.
//
//   y[n,oy,ox,co] = sum_{ky,kx,ci in group(co)} x[n, oy*s-p+ky, ox*s-p+kx, ci] * w[co, ci', ky, kx]
//
// Layout: x [N,H,W,Cin] and y [N,Ho,Wo,Cout] NHWC; w [Cout, Cin/groups, kH, kW]
// (PyTorch). Used for the stem (3x3/2) and every 1x1 (pointwise) convolution;
// a pointwise convolution is one GEMM over N*H*W rows.
//
// Writes: forward overwrites y; backward_input overwrites dx;
// backward_weight ACCUMULATES into dw (+=), as every parameter gradient does.
#pragma once

#include <string>
#include <vector>

#include "kernels/conv_shape.h"
#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g,
                    Context& ctx);
void conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g,
                           Context& ctx);
void conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g,
                            Context& ctx);

// The cuDNN convolutions (dense and depthwise) for which cuDNN offered only
// non-deterministic algorithms so far (kernels/cuda/cudnn.h); always empty in
// the CPU-only build. A bit-identity check consults it.
std::vector<std::string> cudnn_nondeterministic_choices();

namespace cpu {
template <class T>
void conv2d_forward(const T* x, const T* w, T* y, const ConvGeometry& g, CudaStream stream);
template <class T>
void conv2d_backward_input(const T* dy, const T* w, T* dx, const ConvGeometry& g,
                           CudaStream stream);
template <class T>
void conv2d_backward_weight(const T* x, const T* dy, T* dw, const ConvGeometry& g,
                            CudaStream stream);
}  // namespace cpu

namespace cuda {
// Pointwise convolutions are one cuBLAS GEMM; others im2col (kernel) + GEMM,
// or cuDNN (kernels/cuda/cudnn.h) when Context::conv_kernels says so.
// `workspace` holds conv2d_workspace_floats(g) floats.
size_t conv2d_workspace_floats(const ConvGeometry& g);
// Weights [Cout][Cin/g][kH][kW] to tap-major [Cout][kH][kW][Cin/g] (cuDNN's
// NHWC filter order), and back, ACCUMULATING into the PyTorch-ordered w.
void conv2d_weight_to_krsc(const float* w, float* wr, const ConvGeometry& g, CudaStream stream);
void conv2d_weight_from_krsc_add(const float* wr, float* w, const ConvGeometry& g,
                                 CudaStream stream);
void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g,
                    float* workspace, CublasHandle cublas, CudaStream stream);
void conv2d_backward_input(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                           float* workspace, CublasHandle cublas, CudaStream stream);
void conv2d_backward_weight(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            float* workspace, CublasHandle cublas, CudaStream stream);
}  // namespace cuda

}  // namespace effnet
