// Batch norm followed by swish, fused: y = swish(z), z = BN(x) (formulas in
// kernels/batchnorm.h and kernels/activation.h). Saves one pass over the
// activation in each direction compared with the two ops apart; the pair
// follows most convolutions of EfficientNet.
//
// Training forward: z = x * scale + shift per channel, with scale and shift
// computed in double from the double batch statistics and saved as
// save_affine = [scale (C), shift (C)].
// Backward: recomputes z exactly as the forward did, from x and save_affine
// (recomputing it from the float-rounded mean instead moves z by
// ~1e-7 * |mean| / std, which matters where a channel's mean dwarfs its
// spread), then dz = dy * swish'(z) and the batch-norm backward with dz.
// Eval: y = swish(z) with z from the running statistics (inference).
// With Context::batchnorm_kernels == CUDNN on the GPU, the batch-norm part
// runs in cuDNN and swish apart (z and dz in the context's workspace), so an
// A/B run covers every batch norm of the model.
// Writes: y, save_mean, save_invstd, save_affine, dx overwritten; running
// stats updated in place (skipped when null); dgamma, dbeta ACCUMULATE.
// --sync-bn as in kernels/batchnorm.h (BatchNormParams::sync; CPU only).
#pragma once

#include <cstdint>

#include "kernels/batchnorm.h"

namespace effnet {

void bn_swish_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                            Tensor& save_mean, Tensor& save_invstd, Tensor& save_affine,
                            Tensor& running_mean, Tensor& running_var, const BatchNormParams& p,
                            Context& ctx);
void bn_swish_eval_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                           const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                           const BatchNormParams& p, Context& ctx);
// `eps` must be the forward's (only the cuDNN path uses it), `sync` too.
void bn_swish_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                       const Tensor& save_mean, const Tensor& save_invstd,
                       const Tensor& save_affine, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                       Context& ctx, double eps = 1e-5, ChannelSumReducer* sync = nullptr);

namespace cpu {
template <class T>
void bn_swish_train_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                            T* save_invstd, T* save_affine, T* running_mean, T* running_var,
                            int64_t m, int64_t c, double eps, double momentum, CudaStream stream);
template <class T>
void bn_swish_eval_forward(const T* x, const T* gamma, const T* beta, const T* running_mean,
                           const T* running_var, T* y, int64_t m, int64_t c, double eps,
                           CudaStream stream);
template <class T>
void bn_swish_backward(const T* x, const T* dy, const T* gamma, const T* save_mean,
                       const T* save_invstd, const T* save_affine, T* dx, T* dgamma, T* dbeta,
                       int64_t m, int64_t c, CudaStream stream);
// --sync-bn (no cuda:: twin yet): the same passes with every sum added over the ranks by `sync`.
template <class T>
void bn_swish_train_forward_synced(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                                   T* save_invstd, T* save_affine, T* running_mean, T* running_var,
                                   int64_t m, int64_t c, double eps, double momentum,
                                   ChannelSumReducer& sync);
template <class T>
void bn_swish_backward_synced(const T* x, const T* dy, const T* gamma, const T* save_mean,
                              const T* save_invstd, const T* save_affine, T* dx, T* dgamma,
                              T* dbeta, int64_t m, int64_t c, ChannelSumReducer& sync);
}  // namespace cpu

namespace cuda {
void bn_swish_train_forward(const float* x, const float* gamma, const float* beta, float* y,
                            float* save_mean, float* save_invstd, float* save_affine,
                            float* running_mean, float* running_var, int64_t m, int64_t c,
                            double eps, double momentum, void* workspace, CudaStream stream);
void bn_swish_eval_forward(const float* x, const float* gamma, const float* beta,
                           const float* running_mean, const float* running_var, float* y, int64_t m,
                           int64_t c, double eps, CudaStream stream);
void bn_swish_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                       const float* save_invstd, const float* save_affine, float* dx, float* dgamma,
                       float* dbeta, int64_t m, int64_t c, void* workspace, CudaStream stream);
// Pieces of the cuDNN composition: save_affine from cuDNN's saved statistics,
// and dz = dy * swish'(x * scale + shift), the swish half of the backward.
void bn_affine_from_stats(const float* gamma, const float* beta, const float* save_mean,
                          const float* save_invstd, float* save_affine, int64_t c,
                          CudaStream stream);
void swish_grad_of_bn(const float* x, const float* dy, const float* save_affine, float* dz,
                      int64_t m, int64_t c, CudaStream stream);
}  // namespace cuda

}  // namespace effnet
