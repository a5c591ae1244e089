// Seeded random fills from the counter-based Philox stream (tensor/philox.h):
// element i of a fill with (seed, stream) is the same on the CPU and the GPU
// and independent of thread count. `stream` separates independent uses of
// one seed (each parameter tensor, each dropout layer and step, ...).
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace effnet {

// Device tensors are filled on the device stream (the stream rule, tensor/tensor.h).
void fill_uniform(Tensor& t, uint64_t seed, uint64_t stream, float lo, float hi);
void fill_normal(Tensor& t, uint64_t seed, uint64_t stream, float mean, float stddev);

namespace cpu {
void fill_uniform(float* dst, size_t n, uint64_t seed, uint64_t stream, float lo, float hi,
                  CudaStream cuda_stream);
void fill_normal(float* dst, size_t n, uint64_t seed, uint64_t stream, float mean, float stddev,
                 CudaStream cuda_stream);
}  // namespace cpu

namespace cuda {
void fill_uniform(float* d_dst, size_t n, uint64_t seed, uint64_t stream, float lo, float hi,
                  CudaStream cuda_stream);
void fill_normal(float* d_dst, size_t n, uint64_t seed, uint64_t stream, float mean, float stddev,
                 CudaStream cuda_stream);
}  // namespace cuda

// A 64-bit mix (splitmix64) for deriving stream ids from names and indices.
inline uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

}  // namespace effnet
