// CUDA fused batch norm + swish (kernels/bn_swish.h): the batch-norm passes
// of kernels/cuda/batchnorm.cu with swish applied in the normalising pass and
// dz = dy * swish'(z) formed inside the backward sums and dx pass; plus the
// two pieces of the cuDNN composition (--kernels batchnorm=cudnn).
#include "kernels/bn_swish.h"
#include "kernels/cuda/batchnorm_passes.h"
#include "tensor/cuda_check.h"
#include "tensor/launch.h"

namespace effnet::cuda {

namespace {
constexpr int kThreads = 256;

__global__ void swish_grad_of_bn_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                        const float* __restrict__ affine, float* __restrict__ dz,
                                        int64_t n, int64_t C) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = i % C;
        dz[i] = bn_swish_grad(dy[i], x[i], affine[c], affine[C + c]);
    }
}

// One thread per channel: [scale, shift] from saved statistics.
__global__ void affine_from_stats_kernel(const float* __restrict__ gamma,
                                         const float* __restrict__ beta,
                                         const float* __restrict__ mean,
                                         const float* __restrict__ invstd,
                                         float* __restrict__ affine, int64_t C) {
    const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (c >= C) return;
    affine[c] = float(double(gamma[c]) * invstd[c]);
    affine[C + c] = float(double(beta[c]) - double(mean[c]) * gamma[c] * invstd[c]);
}
}  // namespace

void bn_swish_train_forward(const float* x, const float* gamma, const float* beta, float* y,
                            float* save_mean, float* save_invstd, float* save_affine,
                            float* running_mean, float* running_var, int64_t m, int64_t c,
                            double eps, double momentum, void* workspace, CudaStream stream) {
    batchnorm_pass_train_forward(true, x, gamma, beta, y, save_mean, save_invstd, save_affine,
                                 running_mean, running_var, m, c, eps, momentum, workspace, stream);
}

void bn_swish_eval_forward(const float* x, const float* gamma, const float* beta,
                           const float* running_mean, const float* running_var, float* y, int64_t m,
                           int64_t c, double eps, CudaStream stream) {
    batchnorm_pass_eval_forward(true, x, gamma, beta, running_mean, running_var, y, m, c, eps,
                                stream);
}

void bn_swish_backward(const float* x, const float* dy, const float* gamma, const float* save_mean,
                       const float* save_invstd, const float* save_affine, float* dx, float* dgamma,
                       float* dbeta, int64_t m, int64_t c, void* workspace, CudaStream stream) {
    batchnorm_pass_backward(true, x, dy, gamma, save_affine, save_mean, save_invstd, dx, dgamma,
                            dbeta, m, c, workspace, stream);
}

void swish_grad_of_bn(const float* x, const float* dy, const float* save_affine, float* dz,
                      int64_t m, int64_t c, CudaStream stream) {
    swish_grad_of_bn_kernel<<<grid_stride_blocks(size_t(m * c), kThreads), kThreads, 0, stream>>>(
        x, dy, save_affine, dz, m * c, c);
    EFFNET_CHECK_LAUNCH("swish_grad_of_bn_kernel", "M=" << m << " C=" << c);
}

void bn_affine_from_stats(const float* gamma, const float* beta, const float* save_mean,
                          const float* save_invstd, float* save_affine, int64_t c,
                          CudaStream stream) {
    affine_from_stats_kernel<<<unsigned(ceil_div<int64_t>(c, kThreads)), kThreads, 0, stream>>>(
        gamma, beta, save_mean, save_invstd, save_affine, c);
    EFFNET_CHECK_LAUNCH("affine_from_stats_kernel", "C=" << c);
}

}  // namespace effnet::cuda
