// How the CPU inference kernels share work between threads.
//
// The engine runs a whole forward pass inside one OpenMP parallel region
// (a fork/join per op would cost more than some ops at batch 1); every
// kernel is called by every thread with that thread's Worker, does the
// thread's static share of the op, and the engine places a barrier between
// ops. A kernel writes only its share of the output, plus the thread's own
// scratch.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

namespace effnet::infer::cpu {

// Per-thread memory planned at load (no allocation per call), owned by the engine.
struct ThreadScratch {
    float* floats = nullptr;  // GEMM tiles, gate-scaled operands, im2col rows, SE vectors
    int64_t float_count = 0;
    double* pool = nullptr;  // this thread's partial channel sums [batch][channels]
    int64_t pool_count = 0;
};

struct Worker {
    int index = 0, count = 1;
    ThreadScratch* scratch = nullptr;
};

// This worker's share [begin, end) of `total` items split into `count`
// contiguous, near-equal ranges (the first `total % count` one item longer).
inline std::pair<int64_t, int64_t> share(int64_t total, const Worker& w) {
    const int64_t base = total / w.count, extra = total % w.count;
    const int64_t begin = w.index * base + std::min<int64_t>(w.index, extra);
    return {begin, begin + base + (w.index < extra ? 1 : 0)};
}

}  // namespace effnet::infer::cpu
