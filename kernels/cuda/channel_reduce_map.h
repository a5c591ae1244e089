// Thread-to-data mapping of the per-channel reductions over NHWC rows (batch
// norm statistics and backward sums, squeeze-excite pooling and gate
// gradient), as __host__ __device__ functions that the kernels call and CPU
// tests walk (tests/kernels/test_channel_reduce_launch.cpp).
//
// A reduction sums, for each of `groups` groups (1 for batch norm; the
// images for squeeze-excite) and each channel c, over `rows` rows: element
// (g, r, c) lives at (g*rows + r)*channels + c. Two passes:
//
// 1. Partial pass, kThreads threads per block, grid (tiles, slices, groups).
//    Loads are `vec` floats wide (float4 when channels % 4 == 0 and the
//    pointers are 16-byte aligned). A block owns a tile of `tile` channel
//    vectors (at most kMaxTileVectors, tiles balanced so the last one is not
//    nearly empty) and lays its threads out as row_lanes = kThreads / tile
//    rows of `tile` lanes: thread t reads channel vector bx*tile + t % tile of
//    rows r = by*row_lanes + t / tile + k*slices*row_lanes (k = 0, 1, ...).
//    So consecutive threads read consecutive vectors of a row, and a small C
//    (16, 24, 32 channels) still fills the block: row lanes take the place of
//    the missing channels. The block adds its row lanes' sums in shared
//    memory, in row-lane order, and writes one double partial per (group,
//    slice, channel): partial[(g*slices + s)*channels + c].
// 2. Final pass, block (kFinalChannels, kFinalLanes), grid (ceil(C /
//    kFinalChannels), groups): slice lane ty sums slices ty, ty +
//    kFinalLanes, ... in order, and the block adds its lanes in order.
// Every order is fixed by the map, so results are deterministic on a given
// GPU (the slice count follows its SM count).
//
// Slices: enough blocks for kBlocksPerSm blocks per SM (4 x 256 threads, half
// of an SM's threads; the partial kernel's launch bounds keep its registers
// at <= 64 so that 4 fit), but never more slices than give every row lane a row.
#pragma once

#include <cstdint>

#include "tensor/launch.h"

namespace effnet::crmap {

constexpr int kThreads = 256;
constexpr int kMaxTileVectors = 32;
constexpr int kBlocksPerSm = 4;
constexpr int kFinalChannels = 32;
constexpr int kFinalLanes = 8;
constexpr int64_t kMaxGridYZ = 65535;

struct Map {
    int64_t groups = 1, rows = 1, channels = 1;
    int vec = 1;          // floats per load
    int64_t cvecs = 1;    // channel vectors: channels / vec
    int tile = 1;         // channel vectors per block
    int row_lanes = 1;    // kThreads / tile
    unsigned tiles = 1;   // grid x
    unsigned slices = 1;  // grid y
};

// 4 when channels % 4 == 0 and every pointer the kernel loads from is 16-byte aligned.
inline int vector_width(int64_t channels, bool aligned16) {
    return channels % 4 == 0 && aligned16 ? 4 : 1;
}

// Requires groups, rows, channels >= 1, channels % vec == 0 and sms >= 1.
inline Map make_map(int64_t groups, int64_t rows, int64_t channels, int vec, int sms) {
    Map m;
    m.groups = groups;
    m.rows = rows;
    m.channels = channels;
    m.vec = vec;
    m.cvecs = channels / vec;
    const int64_t balanced =
        ceil_div<int64_t>(m.cvecs, ceil_div<int64_t>(m.cvecs, kMaxTileVectors));
    m.tile = int(balanced);
    m.tiles = unsigned(ceil_div<int64_t>(m.cvecs, balanced));
    m.row_lanes = kThreads / m.tile;
    const int64_t wanted =
        ceil_div<int64_t>(int64_t(kBlocksPerSm) * sms, int64_t(m.tiles) * groups);
    const int64_t most = ceil_div<int64_t>(rows, m.row_lanes);
    int64_t slices = wanted < most ? wanted : most;
    if (slices > kMaxGridYZ) slices = kMaxGridYZ;
    m.slices = unsigned(slices < 1 ? 1 : slices);
    return m;
}

inline int64_t blocks(const Map& m) { return int64_t(m.tiles) * m.slices * m.groups; }
// Doubles per summed quantity in the partial workspace.
EFFNET_HD inline size_t partial_count(const Map& m) {
    return size_t(m.groups) * m.slices * size_t(m.channels);
}

// Thread t of block column bx in the partial pass.
struct Lane {
    int row_lane;  // t / tile; the thread is idle when >= row_lanes
    int local;     // t % tile: channel vector within the tile
    int64_t cv;    // channel vector bx*tile + local
    bool loads;    // row_lane < row_lanes and cv < cvecs
};
EFFNET_HD inline Lane lane(const Map& m, unsigned bx, unsigned t) {
    Lane l;
    l.row_lane = int(t) / m.tile;
    l.local = int(t) % m.tile;
    l.cv = int64_t(bx) * m.tile + l.local;
    l.loads = l.row_lane < m.row_lanes && l.cv < m.cvecs;
    return l;
}
EFFNET_HD inline int64_t first_row(const Map& m, unsigned by, int row_lane) {
    return int64_t(by) * m.row_lanes + row_lane;
}
EFFNET_HD inline int64_t row_step(const Map& m) { return int64_t(m.slices) * m.row_lanes; }
// Index of the first float of channel vector cv in row r of group g.
EFFNET_HD inline int64_t element(const Map& m, unsigned g, int64_t r, int64_t cv) {
    return (int64_t(g) * m.rows + r) * m.channels + cv * m.vec;
}
// Shared-memory slot of channel j (< tile*vec) of the block for row lane rl:
// [row_lanes][tile*vec], at most kThreads*vec slots per summed quantity.
EFFNET_HD inline int shared_slot(const Map& m, int row_lane, int j) {
    return row_lane * m.tile * m.vec + j;
}
// After the barrier, thread j < tile*vec of block column bx sums channel:
EFFNET_HD inline int64_t block_channel(const Map& m, unsigned bx, int j) {
    return int64_t(bx) * m.tile * m.vec + j;
}
EFFNET_HD inline int64_t partial_index(const Map& m, unsigned g, unsigned slice, int64_t c) {
    return (int64_t(g) * m.slices + slice) * m.channels + c;
}

// Final pass: grid (final_blocks_x, groups), block (kFinalChannels, kFinalLanes).
inline unsigned final_blocks_x(const Map& m) {
    return unsigned(ceil_div<int64_t>(m.channels, kFinalChannels));
}
EFFNET_HD inline int64_t final_channel(unsigned bx, unsigned tx) {
    return int64_t(bx) * kFinalChannels + tx;
}

}  // namespace effnet::crmap
