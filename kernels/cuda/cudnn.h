// cuDNN versions of convolution and batch norm (see kernels/cuda/cudnn.cpp):
// the default for the dense stem convolution, and the run-time alternative to
// effnet's depthwise and batch-norm kernels (--kernels cudnn). Same semantics
// as the hand-written kernels: outputs and input gradients overwritten,
// parameter gradients accumulated. `handle` is the Context's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/conv_shape.h"
#include "tensor/gpu_handles.h"

namespace effnet::cuda {

// The convolutions for which cuDNN offered only non-deterministic algorithms
// so far ("backward-filter of cuDNN convolution N=2 ..."); empty when every
// cuDNN convolution chosen is deterministic. A bit-identity check consults it.
std::vector<std::string> cudnn_nondeterministic_choices();

void cudnn_depthwise_forward(CudnnHandle handle, const float* x, const float* w, float* y,
                             const ConvGeometry& g);
void cudnn_depthwise_backward_input(CudnnHandle handle, const float* dy, const float* w, float* dx,
                                    const ConvGeometry& g);
void cudnn_depthwise_backward_weight(CudnnHandle handle, const float* x, const float* dy, float* dw,
                                     const ConvGeometry& g);
// Dense convolution (the stem): `krsc` is conv2d_krsc_floats(g) floats of
// device scratch for the weights in cuDNN's filter order.
size_t conv2d_krsc_floats(const ConvGeometry& g);
void cudnn_conv2d_forward(CudnnHandle handle, const float* x, const float* w, float* y,
                          const ConvGeometry& g, float* krsc, bool tf32, CudaStream stream);
void cudnn_conv2d_backward_input(CudnnHandle handle, const float* dy, const float* w, float* dx,
                                 const ConvGeometry& g, float* krsc, bool tf32, CudaStream stream);
void cudnn_conv2d_backward_weight(CudnnHandle handle, const float* x, const float* dy, float* dw,
                                  const ConvGeometry& g, float* krsc, bool tf32, CudaStream stream);
void cudnn_batchnorm_train_forward(CudnnHandle handle, const float* x, const float* gamma,
                                   const float* beta, float* y, float* save_mean,
                                   float* save_invstd, float* running_mean, float* running_var,
                                   int64_t m, int64_t c, double eps, double momentum);
void cudnn_batchnorm_eval_forward(CudnnHandle handle, const float* x, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float* y, int64_t m, int64_t c,
                                  double eps);
void cudnn_batchnorm_backward(CudnnHandle handle, const float* x, const float* dy,
                              const float* gamma, const float* save_mean, const float* save_invstd,
                              float* dx, float* dgamma, float* dbeta, int64_t m, int64_t c,
                              double eps);

}  // namespace effnet::cuda
