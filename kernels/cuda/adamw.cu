// CUDA AdamW update (kernels/adamw.h). Element-wise, grid-stride, one
// element per thread per iteration; the arithmetic follows the CPU reference
// operation by operation in float32.
#include <cmath>

#include "kernels/adamw.h"
#include "tensor/cuda_check.h"
#include "tensor/launch.h"

namespace effnet::cuda {

namespace {
constexpr int kThreads = 256;

__global__ void adamw_kernel(float* __restrict__ p, const float* __restrict__ g,
                             float* __restrict__ m, float* __restrict__ v, int64_t n, float decay,
                             float b1, float b2, float step_size, float bc2_sqrt, float eps) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        float pi = p[i] * decay;
        const float gi = g[i];
        const float mi = m[i] * b1 + gi * (1.0f - b1);
        const float vi = v[i] * b2 + gi * gi * (1.0f - b2);
        m[i] = mi;
        v[i] = vi;
        const float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = pi - step_size * (mi / denom);
    }
}

}  // namespace

void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWStep& s,
                  CudaStream stream) {
    if (n == 0) return;
    const double bc1 = 1.0 - std::pow(s.beta1, double(s.step)),
                 bc2 = 1.0 - std::pow(s.beta2, double(s.step));
    adamw_kernel<<<grid_stride_blocks(size_t(n), kThreads), kThreads, 0, stream>>>(
        p, g, m, v, n, float(1.0 - s.lr * s.weight_decay), float(s.beta1), float(s.beta2),
        float(s.lr / bc1), float(std::sqrt(bc2)), float(s.eps));
    EFFNET_CHECK_LAUNCH("adamw_kernel", "n=" << n << " step=" << s.step);
}

}  // namespace effnet::cuda
