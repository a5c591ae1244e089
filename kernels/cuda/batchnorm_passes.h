// The batch-norm passes of kernels/cuda/batchnorm.cu with swish fused or not,
// for the fused BN+swish entry points (kernels/cuda/bn_swish.cu). `affine`
// is [scale (C), shift (C)]: written by the training forward, read by the
// fused backward (null for a plain batch norm: the map stays in the workspace).
#pragma once

#include <cstdint>

#include "tensor/gpu_handles.h"

namespace effnet::cuda {

void batchnorm_pass_train_forward(bool swish, const float* x, const float* gamma, const float* beta,
                                  float* y, float* save_mean, float* save_invstd, float* affine,
                                  float* running_mean, float* running_var, int64_t m, int64_t c,
                                  double eps, double momentum, void* workspace, CudaStream stream);
void batchnorm_pass_eval_forward(bool swish, const float* x, const float* gamma, const float* beta,
                                 const float* running_mean, const float* running_var, float* y,
                                 int64_t m, int64_t c, double eps, CudaStream stream);
void batchnorm_pass_backward(bool swish, const float* x, const float* dy, const float* gamma,
                             const float* affine, const float* save_mean, const float* save_invstd,
                             float* dx, float* dgamma, float* dbeta, int64_t m, int64_t c,
                             void* workspace, CudaStream stream);

#if defined(__CUDACC__)
// dL/dz for y = swish(z), z = x * scale + shift, rounded as the swish kernels
// of kernels/cuda/activation.cu round.
__device__ __forceinline__ float bn_swish_grad(float dy, float x, float scale, float shift) {
    const float z = x * scale + shift;
    const float s = 1.0f / (1.0f + expf(-z));
    return dy * s * (1.0f + z * (1.0f - s));
}
#endif

}  // namespace effnet::cuda
