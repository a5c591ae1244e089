// Pure arithmetic of data-parallel training: which images of an epoch a rank
// takes, how many compute threads it runs, and the hash that compares
// replicas. No collectives here; dist/communicator.h has those.
//
// Sharding. Every rank computes the same permutation of the split (the
// loader's seeded shuffle, data/loader.h) and walks the same sequence of
// GLOBAL batches of `global_batch` images, exactly as a 1-process run does.
// Global batch b covers positions [b*B, b*B + L) of the permutation, L = B
// except for a last partial batch. Rank r takes the contiguous share
// [b*B + L*r/N, b*B + L*(r+1)/N) (integer division): B/N images of every
// full batch, and a near-even split (floor or ceil of L/N) of the last one.
// Concatenating the shares in rank order gives the 1-process batch, so the
// global batch sees the same images in the same order at any N.
//
// Training needs B divisible by N (check_global_batch) and at least one image
// per rank in each step: a last partial batch with fewer than N images is
// left out by every rank (at most N-1 images per epoch; none at N = 1).
// Evaluation keeps every image: a rank's share of a short batch may be empty.
#pragma once

#include <cstdint>
#include <string>

namespace effnet::dist {

// Images [begin, begin + count) of the epoch's permutation.
struct Share {
    int64_t begin = 0, count = 0;
};

// Throws ContractError when `global_batch` cannot be split evenly over
// `ranks`, naming the nearest batch sizes that can.
void check_global_batch(int64_t global_batch, int ranks);
// The per-rank batch of a training step: global_batch / ranks.
int64_t local_batch(int64_t global_batch, int ranks);

// Global batches per epoch over `images` images. `training`: a last batch
// with fewer than `ranks` images is left out (see above).
int64_t global_batches(int64_t images, int64_t global_batch, int ranks, bool training);

// Rank `rank`'s share of global batch `batch` (0-based) of an epoch over
// `images` images. The shares of ranks 0..N-1 tile the batch in order.
Share batch_share(int64_t images, int64_t global_batch, int64_t batch, int rank, int ranks);

// Compute threads for one process: `requested` when positive (--threads),
// otherwise the host's cores split evenly over the ranks on this host
// (at least 1), so that N local ranks do not oversubscribe the cores.
int threads_per_rank(int cores, int local_ranks, int requested);

// A 64-bit hash of bytes for comparing replicas (--check-replicas): equal
// bytes give equal hashes on every host; any change of a value (one bit)
// changes it with overwhelming probability. Not cryptographic.
class ByteHash {
public:
    void add(const void* data, size_t bytes);
    uint64_t value() const { return h_; }

private:
    uint64_t h_ = 0x6a09e667f3bcc908ull;
    uint64_t length_ = 0;
};
std::string hex64(uint64_t v);

}  // namespace effnet::dist
