// Device fills: a constant, and the counter-based random streams of
// tensor/philox.h (identical values to the CPU fills for the same seed).
//
// Thread mapping: grid-stride loop, one element per thread per iteration.
#include "tensor/cuda_check.h"
#include "tensor/gpu_runtime.h"
#include "tensor/launch.h"
#include "tensor/philox.h"
#include "tensor/random.h"

namespace effnet {
namespace {

__global__ void fill_f32_kernel(float* dst, size_t n, float value) {
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
         i += size_t(gridDim.x) * blockDim.x)
        dst[i] = value;
}

__global__ void fill_uniform_kernel(float* dst, size_t n, uint64_t seed, uint64_t stream, float lo,
                                    float hi) {
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
         i += size_t(gridDim.x) * blockDim.x)
        dst[i] = lo + (hi - lo) * philox_uniform(seed, stream, i);
}

__global__ void fill_normal_kernel(float* dst, size_t n, uint64_t seed, uint64_t stream, float mean,
                                   float stddev) {
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
         i += size_t(gridDim.x) * blockDim.x)
        dst[i] = mean + stddev * philox_normal(seed, stream, i);
}

constexpr int kThreads = 256;

}  // namespace

void gpu::fill_f32(float* d_dst, size_t n, float value, CudaStream stream) {
    if (n == 0) return;
    fill_f32_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(d_dst, n, value);
    EFFNET_CHECK_LAUNCH("fill_f32_kernel", "n=" << n);
}

namespace cuda {

void fill_uniform(float* d_dst, size_t n, uint64_t seed, uint64_t stream_id, float lo, float hi,
                  CudaStream stream) {
    if (n == 0) return;
    fill_uniform_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(
        d_dst, n, seed, stream_id, lo, hi);
    EFFNET_CHECK_LAUNCH("fill_uniform_kernel", "n=" << n);
}

void fill_normal(float* d_dst, size_t n, uint64_t seed, uint64_t stream_id, float mean,
                 float stddev, CudaStream stream) {
    if (n == 0) return;
    fill_normal_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream>>>(
        d_dst, n, seed, stream_id, mean, stddev);
    EFFNET_CHECK_LAUNCH("fill_normal_kernel", "n=" << n);
}

}  // namespace cuda
}  // namespace effnet
