// The fixed-order float average of dist/communicator.h, as pure functions:
// MpiCommunicator cuts the buffer into one segment per rank, each rank
// averages its segment over all ranks with average_in_rank_order, and the
// segments are gathered back. Unit-tested without MPI.
#pragma once

#include <cstddef>
#include <cstdint>

namespace effnet::dist {

// Segment `part` of a buffer of `n` elements cut into `parts` near-equal
// contiguous pieces: [begin, begin + count).
struct Segment {
    size_t begin = 0, count = 0;
};
inline Segment segment_of(size_t n, int part, int parts) {
    const size_t lo = n * size_t(part) / size_t(parts), hi = n * size_t(part + 1) / size_t(parts);
    return Segment{lo, hi - lo};
}

// out[k] = float((sum over r = 0..ranks-1, in that order, of double(contrib[r*len + k])) / ranks).
// `out` may alias contrib's first row.
inline void average_in_rank_order(const float* contrib, int ranks, size_t len, float* out) {
    for (size_t k = 0; k < len; ++k) {
        double s = 0;
        for (int r = 0; r < ranks; ++r) s += double(contrib[size_t(r) * len + k]);
        // One rounding to float at the end; the order is fixed, so the bits
        // are a function of the inputs and N alone (N = 1 returns x exactly).
        out[k] = float(s / double(ranks));
    }
}

}  // namespace effnet::dist
