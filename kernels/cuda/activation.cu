// CUDA kernels for kernels/activation.h.
//
// Thread mapping: grid-stride loop, one element per thread per iteration;
// memory-bound, so the only goal is coalesced access.
#include "kernels/activation.h"
#include "tensor/cuda_check.h"
#include "tensor/launch.h"

namespace effnet::cuda {

namespace {
constexpr int kThreads = 256;

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

__global__ void swish_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                     int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x)
        y[i] = x[i] * sigmoidf(x[i]);
}

__global__ void swish_backward_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                      float* __restrict__ dx, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        float s = sigmoidf(x[i]);
        dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

__global__ void sigmoid_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                       int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x)
        y[i] = sigmoidf(x[i]);
}

__global__ void sigmoid_backward_kernel(const float* __restrict__ y, const float* __restrict__ dy,
                                        float* __restrict__ dx, int64_t n) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x)
        dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

}  // namespace

void swish_forward(const float* x, float* y, int64_t n, CudaStream stream) {
    if (n == 0) return;
    swish_forward_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(x, y, n);
    EFFNET_CHECK_LAUNCH("swish_forward_kernel", "n=" << n);
}

void swish_backward(const float* x, const float* dy, float* dx, int64_t n, CudaStream stream) {
    if (n == 0) return;
    swish_backward_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(x, dy, dx, n);
    EFFNET_CHECK_LAUNCH("swish_backward_kernel", "n=" << n);
}

void sigmoid_forward(const float* x, float* y, int64_t n, CudaStream stream) {
    if (n == 0) return;
    sigmoid_forward_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(x, y, n);
    EFFNET_CHECK_LAUNCH("sigmoid_forward_kernel", "n=" << n);
}

void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n, CudaStream stream) {
    if (n == 0) return;
    sigmoid_backward_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(y, dy, dx, n);
    EFFNET_CHECK_LAUNCH("sigmoid_backward_kernel", "n=" << n);
}

}  // namespace effnet::cuda
