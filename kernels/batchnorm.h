// Batch normalisation over NHWC activations viewed as M = N*H*W rows of C
// channels (PyTorch semantics).
//
// Training:  mean_c = (1/M) sum x,  var_c = (1/M) sum (x - mean_c)^2  (biased)
//            y = (x - mean_c) * invstd_c * gamma_c + beta_c,  invstd_c = 1/sqrt(var_c + eps)
//            running_mean = (1 - momentum) * running_mean + momentum * mean_c
//            running_var  = (1 - momentum) * running_var  + momentum * var_c * M/(M-1)  (unbiased)
// Eval:      y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta
// Backward (training statistics), xhat = (x - mean) * invstd:
//            dbeta += sum dy,  dgamma += sum dy * xhat
//            dx = gamma * invstd / M * (M*dy - sum dy - xhat * sum dy*xhat)
//
// Writes: y, save_mean, save_invstd and dx are overwritten; running stats are
// updated in place (skipped when null); dgamma and dbeta ACCUMULATE.
// Sums are accumulated in double.
//
// Synchronised batch norm (--sync-bn, data-parallel training): with a
// ChannelSumReducer, M, sum x and sum (x - mean)^2 in forward, and M, sum dy,
// sum dy*xhat in backward, are added over all ranks before use, so each rank
// normalises with the statistics of the global batch (PyTorch's
// SyncBatchNorm); dgamma and dbeta still accumulate this rank's own sums (the
// gradient all-reduce averages them). CPU tensors only for now: the CUDA
// kernels keep their sums in device partials (a ContractError says so).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/context.h"
#include "tensor/tensor.h"

namespace effnet {

// Adds every rank's per-channel sums: in place, each of the `n` values
// becomes its sum over the ranks, identical on all of them (dist/ implements
// it over the job's communicator). Every rank calls it at the same layers in
// the same order.
class ChannelSumReducer {
public:
    virtual ~ChannelSumReducer() = default;
    virtual void sum(double* values, size_t n) = 0;
};

struct BatchNormParams {
    double eps = 1e-5;
    double momentum = 0.1;
    ChannelSumReducer* sync =
        nullptr;  // training forward: statistics over all ranks (null: this batch)
};

void batchnorm_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                             Tensor& save_mean, Tensor& save_invstd, Tensor& running_mean,
                             Tensor& running_var, const BatchNormParams& p, Context& ctx);
void batchnorm_eval_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                            const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                            const BatchNormParams& p, Context& ctx);
// `eps` must be the forward's (only cuDNN's backward uses it), `sync` too.
void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                        const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                        Tensor& dgamma, Tensor& dbeta, Context& ctx, double eps = 1e-5,
                        ChannelSumReducer* sync = nullptr);

namespace cpu {
template <class T>
void batchnorm_train_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                             T* save_invstd, T* running_mean, T* running_var, int64_t m, int64_t c,
                             double eps, double momentum, CudaStream stream);
template <class T>
void batchnorm_eval_forward(const T* x, const T* gamma, const T* beta, const T* running_mean,
                            const T* running_var, T* y, int64_t m, int64_t c, double eps,
                            CudaStream stream);
template <class T>
void batchnorm_backward(const T* x, const T* dy, const T* gamma, const T* save_mean,
                        const T* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t m, int64_t c,
                        CudaStream stream);
// --sync-bn (no cuda:: twin yet): the same passes with every sum added over the ranks by `sync`.
template <class T>
void batchnorm_train_forward_synced(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                                    T* save_invstd, T* running_mean, T* running_var, int64_t m,
                                    int64_t c, double eps, double momentum,
                                    ChannelSumReducer& sync);
template <class T>
void batchnorm_backward_synced(const T* x, const T* dy, const T* gamma, const T* save_mean,
                               const T* save_invstd, T* dx, T* dgamma, T* dbeta, int64_t m,
                               int64_t c, ChannelSumReducer& sync);
}  // namespace cpu

// CUDA: `workspace` holds batchnorm_workspace_bytes(m, c) of device scratch
// (the dispatch functions take it from the Context): the double partials of
// the per-channel sums (mapping in kernels/cuda/channel_reduce_map.h; their
// count follows the GPU's SM count). The training forward reads x twice: one
// pass for the statistics (sums of x - x[row 0] and of its square, in double,
// so the variance does not cancel), one to normalise.
namespace cuda {
size_t batchnorm_workspace_bytes(int64_t m, int64_t c);
void batchnorm_train_forward(const float* x, const float* gamma, const float* beta, float* y,
                             float* save_mean, float* save_invstd, float* running_mean,
                             float* running_var, int64_t m, int64_t c, double eps, double momentum,
                             void* workspace, CudaStream stream);
void batchnorm_eval_forward(const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float* y,
                            int64_t m, int64_t c, double eps, CudaStream stream);
void batchnorm_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                        const float* save_invstd, float* dx, float* dgamma, float* dbeta, int64_t m,
                        int64_t c, void* workspace, CudaStream stream);
}  // namespace cuda

}  // namespace effnet
