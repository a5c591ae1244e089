// Batch norm followed by swish, fused: y = swish(z), z = BN(x) (formulas in
// kernels/batchnorm.h and kernels/activation.h). Saves one pass over the
// activation in each direction compared with the two ops apart; the pair
// follows most convolutions of EfficientNet.
//
// Backward recomputes z from x and the saved statistics (nothing else is
// stored): dz = dy * swish'(z), then the batch-norm backward with dz.
// Writes: y, save_mean, save_invstd, dx overwritten; running stats updated
// in place (skipped when null); dgamma, dbeta ACCUMULATE.
#pragma once

#include <cstdint>

#include "kernels/batchnorm.h"

namespace effnet {

void bn_swish_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y, Tensor& save_mean,
                            Tensor& save_invstd, Tensor& running_mean, Tensor& running_var, const BatchNormParams& p,
                            Context& ctx);
void bn_swish_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& beta, const Tensor& save_mean,
                       const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta, Context& ctx);

namespace cpu {
template <class T>
void bn_swish_train_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_invstd, T* running_mean,
                            T* running_var, int64_t m, int64_t c, double eps, double momentum, void* stream);
template <class T>
void bn_swish_backward(const T* x, const T* dy, const T* gamma, const T* beta, const T* save_mean, const T* save_invstd,
                       T* dx, T* dgamma, T* dbeta, int64_t m, int64_t c, void* stream);
}  // namespace cpu

namespace cuda {
void bn_swish_train_forward(const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                            float* save_invstd, float* running_mean, float* running_var, int64_t m, int64_t c, double eps,
                            double momentum, void* workspace, void* stream);
void bn_swish_backward(const float* x, const float* dy, const float* gamma, const float* beta, const float* save_mean,
                       const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t m, int64_t c,
                       void* workspace, void* stream);
}  // namespace cuda

}  // namespace effnet
