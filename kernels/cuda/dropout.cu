// CUDA dropout / drop-path masks (kernels/dropout.h). Element-wise,
// grid-stride, one element per thread per iteration; masks come from the same
// Philox stream as on the CPU, so both devices drop the same elements.
#include "kernels/dropout.h"
#include "tensor/cuda_check.h"
#include "tensor/launch.h"
#include "tensor/philox.h"

namespace effnet::cuda {

namespace {
constexpr int kThreads = 256;

__global__ void dropout_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n,
                               float p, float scale, uint64_t seed, uint64_t stream,
                               uint64_t first) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x)
        y[i] = philox_uniform(seed, stream, first + uint64_t(i)) >= p ? x[i] * scale : 0.0f;
}

__global__ void drop_path_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n,
                                 int64_t per_sample, float p, float scale, uint64_t seed,
                                 uint64_t stream, uint64_t first) {
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x) {
        const uint64_t sample = first + uint64_t(i / per_sample);
        y[i] = philox_uniform(seed, stream, sample) >= p ? x[i] * scale : 0.0f;
    }
}

}  // namespace

void dropout_apply(const float* x, float* y, int64_t n, float p, uint64_t seed, uint64_t stream_id,
                   uint64_t first, CudaStream stream) {
    if (n == 0) return;
    dropout_kernel<<<grid_stride_blocks(size_t(n), kThreads), kThreads, 0, stream>>>(
        x, y, n, p, float(1.0 / (1.0 - double(p))), seed, stream_id, first);
    EFFNET_CHECK_LAUNCH("dropout_kernel", "n=" << n << " p=" << p);
}

void drop_path_apply(const float* x, float* y, int64_t batch, int64_t per_sample, float p,
                     uint64_t seed, uint64_t stream_id, uint64_t first, CudaStream stream) {
    const int64_t n = batch * per_sample;
    if (n == 0) return;
    drop_path_kernel<<<grid_stride_blocks(size_t(n), kThreads), kThreads, 0, stream>>>(
        x, y, n, per_sample, p, float(1.0 / (1.0 - double(p))), seed, stream_id, first);
    EFFNET_CHECK_LAUNCH("drop_path_kernel", "batch=" << batch << " p=" << p);
}

}  // namespace effnet::cuda
