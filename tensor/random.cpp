#include "tensor/random.h"

#include "tensor/gpu_runtime.h"
#include "tensor/philox.h"

namespace effnet {

namespace cpu {
void fill_uniform(float* dst, size_t n, uint64_t seed, uint64_t stream, float lo, float hi,
                  CudaStream) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < static_cast<int64_t>(n); ++i)
        dst[i] = lo + (hi - lo) * philox_uniform(seed, stream, i);
}
void fill_normal(float* dst, size_t n, uint64_t seed, uint64_t stream, float mean, float stddev,
                 CudaStream) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < static_cast<int64_t>(n); ++i)
        dst[i] = mean + stddev * philox_normal(seed, stream, i);
}
}  // namespace cpu

// The CUDA branches compile away in the CPU-only build (no CUDA tensor exists there).
void fill_uniform(Tensor& t, uint64_t seed, uint64_t stream, float lo, float hi) {
    const size_t n = static_cast<size_t>(t.numel());
    if constexpr (kWithCuda) {
        if (t.is_cuda())
            return cuda::fill_uniform(t.f32(), n, seed, stream, lo, hi, gpu::device_stream());
    }
    cpu::fill_uniform(t.f32(), n, seed, stream, lo, hi, nullptr);
}

void fill_normal(Tensor& t, uint64_t seed, uint64_t stream, float mean, float stddev) {
    const size_t n = static_cast<size_t>(t.numel());
    if constexpr (kWithCuda) {
        if (t.is_cuda())
            return cuda::fill_normal(t.f32(), n, seed, stream, mean, stddev, gpu::device_stream());
    }
    cpu::fill_normal(t.f32(), n, seed, stream, mean, stddev, nullptr);
}

}  // namespace effnet
