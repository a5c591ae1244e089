// Walks the per-channel reduction launches (batch norm, squeeze-excite) on
// the CPU with the kernels' own mapping (kernels/cuda/channel_reduce_map.h):
// every (row, channel) is summed by exactly one thread, and each block writes
// one partial per channel. Runs without a GPU.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/cuda/channel_reduce_map.h"

using namespace effnet::crmap;

TEST(ChannelReduceLaunch, EveryRowAndChannelSummedOnce) {
    // (rows, channels): B0 batch norms at batch 32 and 224 px, and odd shapes.
    for (auto [rows, channels] : {std::make_pair(int64_t(32 * 112 * 112), int64_t(32)), std::make_pair(int64_t(32 * 56 * 56), int64_t(144)),
                                  std::make_pair(int64_t(32 * 7 * 7), int64_t(1280)), std::make_pair(int64_t(7), int64_t(5)),
                                  std::make_pair(int64_t(1), int64_t(1)), std::make_pair(int64_t(1000), int64_t(33))}) {
        const Grid grid = grid_for(rows, channels);
        ASSERT_GE(grid.y, 1u);
        ASSERT_LE(grid.y, unsigned(kMaxSlices));
        std::vector<uint8_t> seen(size_t(rows * channels), 0);
        std::vector<uint8_t> partial(size_t(grid.y) * size_t(channels), 0);
        for (unsigned bx = 0; bx < grid.x; ++bx)
            for (unsigned by = 0; by < grid.y; ++by)
                for (unsigned ty = 0; ty < unsigned(kRows); ++ty)
                    for (unsigned tx = 0; tx < unsigned(kChannels); ++tx) {
                        const int64_t c = channel(bx, tx);
                        if (c >= channels) continue;
                        for (int64_t r = first_row(by, ty); r < rows; r += row_step(grid.y)) ++seen[size_t(r * channels + c)];
                        if (ty == 0) ++partial[size_t(by) * size_t(channels) + size_t(c)];
                    }
        for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << "element " << i << " rows=" << rows;
        for (size_t i = 0; i < partial.size(); ++i) ASSERT_EQ(partial[i], 1) << "partial " << i;
    }
}
