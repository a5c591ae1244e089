// CUDA kernels for kernels/elementwise.h. Grid-stride loops, one element per
// thread per iteration.
#include "kernels/elementwise.h"
#include "tensor/cuda_check.h"
#include "tensor/launch.h"

namespace effnet::cuda {

namespace {
constexpr int kThreads = 256;

__global__ void add_kernel(const float* __restrict__ a, const float* __restrict__ b,
                           float* __restrict__ y, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x)
        y[i] = a[i] + b[i];
}

__global__ void add_inplace_kernel(float* __restrict__ y, const float* __restrict__ a, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x)
        y[i] += a[i];
}
// decay * y first, then (1 - decay) * x added, as the CPU reference (__fmul_rn
// keeps the compiler from fusing the two into one FMA that rounds differently).
__global__ void moving_average_kernel(float* __restrict__ y, const float* __restrict__ x,
                                      float decay, float keep, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x)
        y[i] = __fadd_rn(__fmul_rn(decay, y[i]), __fmul_rn(keep, x[i]));
}
}  // namespace

void add(const float* a, const float* b, float* y, int64_t n, CudaStream stream) {
    if (n == 0) return;
    add_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(a, b, y, n);
    EFFNET_CHECK_LAUNCH("add_kernel", "n=" << n);
}

void add_inplace(float* y, const float* a, int64_t n, CudaStream stream) {
    if (n == 0) return;
    add_inplace_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(y, a, n);
    EFFNET_CHECK_LAUNCH("add_inplace_kernel", "n=" << n);
}

void moving_average(float* y, const float* x, float decay, int64_t n, CudaStream stream) {
    if (n == 0) return;
    moving_average_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(
        y, x, decay, 1.0f - decay, n);
    EFFNET_CHECK_LAUNCH("moving_average_kernel", "n=" << n);
}

}  // namespace effnet::cuda
