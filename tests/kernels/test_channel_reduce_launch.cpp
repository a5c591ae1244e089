// Walks the per-channel reduction launches (batch norm, squeeze-excite) on
// the CPU with the kernels' own mapping (kernels/cuda/channel_reduce_map.h),
// for a 132-SM GPU (H100/H200): in the partial pass every (group, row,
// channel) is read by exactly one thread, in bounds and vector-aligned; every
// shared-memory slot a summing thread reads was written once; every partial is
// written once; the final pass reads every partial once and writes every
// output once. B0's shapes at batch 32 must give at least 2 blocks per SM.
// Runs without a GPU.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/b0_shapes.h"
#include "kernels/cuda/channel_reduce_map.h"

using namespace effnet;
using namespace effnet::crmap;

namespace {

constexpr int kSms = 132;

struct Case {
    int64_t groups, rows, channels;
    bool b0;  // a B0 shape at batch 32: the occupancy target applies
    std::string str() const {
        return "groups=" + std::to_string(groups) + " rows=" + std::to_string(rows) +
               " C=" + std::to_string(channels);
    }
};

std::vector<Case> cases() {
    std::vector<Case> v;
    const test::B0Shapes b0 = test::b0_shapes(32);
    for (const test::BnShape& s : b0.batchnorm) v.push_back({1, s.rows, s.c, true});
    for (const test::SeShape& s : b0.se) v.push_back({s.n, s.h * s.w, s.c, true});
    // Odd sizes: tiny, channel counts that are not multiples of 4 or of the tile, one row, many channels.
    for (Case c : {Case{1, 7, 5, false}, Case{1, 1, 1, false}, Case{1, 1000, 33, false},
                   Case{3, 13, 35, false}, Case{2, 5, 1, false}, Case{1, 50, 1282, false},
                   Case{5, 1, 40, false}, Case{1, 3, 4100, false}, Case{7, 9, 12, false}})
        v.push_back(c);
    return v;
}

// Walks one launch; returns an empty string when every check holds.
std::string walk(const Map& m) {
    const int64_t total = m.groups * m.rows * m.channels;
    std::vector<uint8_t> seen(size_t(total), 0);
    const size_t partials = partial_count(m);
    std::vector<uint8_t> written(partials, 0), read(partials, 0);
    std::vector<uint8_t> slot(size_t(kThreads) * m.vec);
    for (unsigned g = 0; g < m.groups; ++g)
        for (unsigned by = 0; by < m.slices; ++by)
            for (unsigned bx = 0; bx < m.tiles; ++bx) {
                std::fill(slot.begin(), slot.end(), 0);
                for (unsigned t = 0; t < unsigned(kThreads); ++t) {
                    const Lane l = lane(m, bx, t);
                    if (l.loads)
                        for (int64_t r = first_row(m, by, l.row_lane); r < m.rows;
                             r += row_step(m)) {
                            const int64_t i = element(m, g, r, l.cv);
                            if (i < 0 || i + m.vec > total || i % m.vec)
                                return "bad read at " + std::to_string(i);
                            for (int v = 0; v < m.vec; ++v) ++seen[size_t(i + v)];
                        }
                    if (l.row_lane < m.row_lanes)
                        for (int v = 0; v < m.vec; ++v) {
                            const int s = shared_slot(m, l.row_lane, l.local * m.vec + v);
                            if (s < 0 || s >= kThreads * m.vec) return "shared slot out of range";
                            ++slot[size_t(s)];
                        }
                }
                // After the barrier: thread j sums its channel over the row lanes.
                for (int j = 0; j < kThreads; ++j) {
                    const int64_t c = block_channel(m, bx, j);
                    if (j >= m.tile * m.vec || c >= m.channels) continue;
                    for (int rl = 0; rl < m.row_lanes; ++rl)
                        if (slot[size_t(shared_slot(m, rl, j))] != 1)
                            return "shared slot not written once";
                    ++written[size_t(partial_index(m, g, by, c))];
                }
            }
    for (int64_t i = 0; i < total; ++i)
        if (seen[size_t(i)] != 1)
            return "element " + std::to_string(i) + " read " + std::to_string(seen[size_t(i)]) +
                   " times";
    for (size_t i = 0; i < partials; ++i)
        if (written[i] != 1)
            return "partial " + std::to_string(i) + " written " + std::to_string(written[i]) +
                   " times";
    // Final pass.
    std::vector<uint8_t> out(size_t(m.groups * m.channels), 0);
    for (unsigned g = 0; g < m.groups; ++g)
        for (unsigned bx = 0; bx < final_blocks_x(m); ++bx)
            for (unsigned ty = 0; ty < unsigned(kFinalLanes); ++ty)
                for (unsigned tx = 0; tx < unsigned(kFinalChannels); ++tx) {
                    const int64_t c = final_channel(bx, tx);
                    if (c >= m.channels) continue;
                    for (unsigned s = ty; s < m.slices; s += kFinalLanes)
                        ++read[size_t(partial_index(m, g, s, c))];
                    if (ty == 0) ++out[size_t(g * m.channels + c)];
                }
    for (size_t i = 0; i < partials; ++i)
        if (read[i] != 1)
            return "partial " + std::to_string(i) + " read " + std::to_string(read[i]) +
                   " times by the final pass";
    for (size_t i = 0; i < out.size(); ++i)
        if (out[i] != 1)
            return "output " + std::to_string(i) + " written " + std::to_string(out[i]) + " times";
    return "";
}

}  // namespace

TEST(ChannelReduceLaunch, EveryElementReadOnceEveryPartialAndOutputWrittenOnce) {
    for (const Case& k : cases())
        for (int vec : {1, 4}) {
            if (k.channels % vec) continue;
            const Map m = make_map(k.groups, k.rows, k.channels, vec, kSms);
            SCOPED_TRACE(k.str() + " vec=" + std::to_string(vec));
            ASSERT_GE(m.tile, 1);
            ASSERT_LE(m.tile, kMaxTileVectors);
            ASSERT_GE(m.row_lanes, 1);
            ASSERT_LE(int64_t(m.tiles - 1) * m.tile, m.cvecs - 1) << "an empty channel tile";
            ASSERT_LE(int64_t(m.slices), kMaxGridYZ);
            ASSERT_LE(int64_t(m.slices - 1) * m.row_lanes, m.rows - 1) << "a slice with no rows";
            EXPECT_EQ(walk(m), "");
        }
}

// At batch 32 every B0 reduction fills a 132-SM GPU with at least 2 blocks
// per SM, and the block's threads are mostly busy: at least 15/16 of a
// block's lanes have a channel vector to load (C = 16, 24, 32 included).
TEST(ChannelReduceLaunch, B0Batch32ShapesGiveTwoBlocksPerSmAndBusyLanes) {
    int64_t fewest = INT64_MAX;
    std::string where;
    for (const Case& k : cases()) {
        if (!k.b0) continue;
        const Map m = make_map(k.groups, k.rows, k.channels, vector_width(k.channels, true), kSms);
        SCOPED_TRACE(k.str());
        EXPECT_GE(blocks(m), 2 * kSms) << "tiles " << m.tiles << " slices " << m.slices;
        const double busy = double(m.cvecs) * m.row_lanes / (double(m.tiles) * kThreads);
        EXPECT_GE(busy, 15.0 / 16.0) << "tile " << m.tile << " x " << m.row_lanes << " row lanes";
        if (blocks(m) < fewest) {
            fewest = blocks(m);
            where = k.str();
        }
    }
    std::printf("fewest blocks over B0 batch-32 reductions: %lld (%s)\n",
                static_cast<long long>(fewest), where.c_str());
}
