// Thread-to-data mapping of the per-channel reductions over NHWC rows (batch
// norm statistics and backward sums; squeeze-excite pooling), as
// __host__ __device__ functions that CPU tests walk.
//
// blockDim = (kChannels, kRows). For a reduction over `rows` rows of C
// channels, block (bx, by) owns channels [bx*kChannels, +kChannels) and rows
// r = by*kRows + threadIdx.y + k*gridDim.y*kRows. Consecutive threadIdx.x
// read consecutive channels of one row: coalesced. Each block writes one
// partial per channel (summed over its kRows thread rows in shared memory, in
// a fixed order); a second pass sums the gridDim.y partials in order, so the
// result is deterministic. Partials are double.
#pragma once

#include <cstdint>

#include "tensor/launch.h"

namespace effnet::crmap {

constexpr int kChannels = 32;
constexpr int kRows = 8;
constexpr int kMaxSlices = 128;

struct Grid {
    unsigned x, y;
};

// Row slices: enough blocks to fill the GPU, ~16 rows per thread, at most kMaxSlices.
inline Grid grid_for(int64_t rows, int64_t channels) {
    Grid g;
    g.x = unsigned(ceil_div<int64_t>(channels, kChannels));
    int64_t slices = ceil_div<int64_t>(rows, int64_t(kRows) * 16);
    g.y = unsigned(slices < 1 ? 1 : (slices > kMaxSlices ? kMaxSlices : slices));
    return g;
}

EFFNET_HD inline int64_t first_row(unsigned by, unsigned ty) { return int64_t(by) * kRows + ty; }
EFFNET_HD inline int64_t row_step(unsigned grid_y) { return int64_t(grid_y) * kRows; }
EFFNET_HD inline int64_t channel(unsigned bx, unsigned tx) { return int64_t(bx) * kChannels + tx; }

}  // namespace effnet::crmap
