// Thread-to-data mapping of the depthwise-convolution CUDA kernels, as
// __host__ __device__ functions so CPU tests can walk every (block, thread) of
// the launches actually used (tests/kernels/test_depthwise_launch.cpp).
//
// Elements are handled in channel vectors of `vec` floats (4 when C % 4 == 0:
// one float4 load per tap, coalesced along the innermost NHWC dimension).
//   forward / backward_input: one thread per (n, y, x, channel-vector) of the
//     output (forward) or of the input (backward_input), grid-stride.
//   backward_weight: blockDim = (kWgChannels, kWgRows). Block (bx, by) owns
//     channel vectors [bx*kWgChannels, +kWgChannels) and output rows
//     r = by*kWgRows + threadIdx.y + k*gridDim.y*kWgRows (k = 0, 1, ...),
//     a row being one (n, oy). Each thread keeps all k*k taps of its channel
//     vector in registers over its rows, the block sums its kWgRows partials
//     in shared memory, and writes one partial per (by, tap, channel) to a
//     workspace that a second kernel sums over `by` in a fixed order, so the
//     result is deterministic.
#pragma once

#include <cstdint>

#include "kernels/conv_shape.h"
#include "tensor/launch.h"

namespace effnet::dwmap {

constexpr int kThreads = 256;
constexpr int kWgChannels = 32;  // channel vectors per weight-gradient block
constexpr int kWgRows = 8;       // row groups per weight-gradient block
constexpr int kMaxTaps = 25;     // 5x5

EFFNET_HD inline int vector_width(int64_t channels) { return channels % 4 == 0 ? 4 : 1; }

struct Pixel {
    int64_t n, y, x, cv;  // image, row, column, channel vector
};

// Linear index over [n][y][x][cv] of an H x W image with `cvecs` channel vectors.
EFFNET_HD inline Pixel unflatten(int64_t i, int64_t h, int64_t w, int64_t cvecs) {
    Pixel p;
    p.cv = i % cvecs;
    i /= cvecs;
    p.x = i % w;
    i /= w;
    p.y = i % h;
    p.n = i / h;
    return p;
}

// Output pixel (oy, ox) reads input (oy*s - pad + ky, ox*s - pad + kx).
EFFNET_HD inline int64_t input_row(const ConvGeometry& g, int64_t oy, int64_t ky) { return oy * g.stride - g.pad + ky; }
EFFNET_HD inline int64_t input_col(const ConvGeometry& g, int64_t ox, int64_t kx) { return ox * g.stride - g.pad + kx; }

// For backward_input: the output row reached from input row iy through tap ky, or -1.
EFFNET_HD inline int64_t output_row_from(const ConvGeometry& g, int64_t iy, int64_t ky) {
    const int64_t t = iy + g.pad - ky;
    if (t < 0 || t % g.stride) return -1;
    const int64_t o = t / g.stride;
    return o < g.ho() ? o : -1;
}
EFFNET_HD inline int64_t output_col_from(const ConvGeometry& g, int64_t ix, int64_t kx) {
    const int64_t t = ix + g.pad - kx;
    if (t < 0 || t % g.stride) return -1;
    const int64_t o = t / g.stride;
    return o < g.wo() ? o : -1;
}

// Grid of the element-wise (forward / backward_input) kernels.
inline unsigned elementwise_blocks(int64_t elements) { return grid_stride_blocks(size_t(elements), kThreads); }

// Grid of the weight-gradient kernel: (channel-vector tiles, row slices).
struct WgradGrid {
    unsigned x, y;
};
inline WgradGrid wgrad_grid(const ConvGeometry& g) {
    const int64_t cvecs = g.cin / vector_width(g.cin);
    const int64_t rows = g.n * g.ho();
    WgradGrid grid;
    grid.x = unsigned(ceil_div<int64_t>(cvecs, kWgChannels));
    int64_t slices = ceil_div<int64_t>(rows, kWgRows * 4);  // ~4 rows per thread
    grid.y = unsigned(slices < 1 ? 1 : (slices > 64 ? 64 : slices));
    return grid;
}

}  // namespace effnet::dwmap
