// Launch-geometry helpers shared by every CUDA kernel and by the CPU tests
// that walk launch configurations. Host and device, no CUDA headers needed.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define EFFNET_HD __host__ __device__
#else
#define EFFNET_HD
#endif

namespace effnet {

// ceil(a / b) for positive b.
template <class T>
EFFNET_HD constexpr T ceil_div(T a, T b) {
    return (a + b - 1) / b;
}

// Blocks for a grid-stride loop over n elements: enough to fill the GPU,
// capped so that huge tensors loop instead of exceeding grid limits.
inline unsigned grid_stride_blocks(size_t n, unsigned threads, unsigned max_blocks = 65535u * 4) {
    size_t b = ceil_div<size_t>(n, threads);
    if (b < 1) b = 1;
    return static_cast<unsigned>(b < max_blocks ? b : max_blocks);
}

}  // namespace effnet
