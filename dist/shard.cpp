#include "dist/shard.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "tensor/error.h"
#include "tensor/random.h"

namespace effnet::dist {

void check_global_batch(int64_t global_batch, int ranks) {
    EFFNET_CHECK(ranks >= 1, "dist: " << ranks << " ranks");
    if (global_batch % ranks == 0 && global_batch >= ranks) return;
    const int64_t below = global_batch / ranks * ranks, above = below + ranks;
    std::string hint =
        below > 0 ? std::to_string(below) + " or " + std::to_string(above) : std::to_string(above);
    throw ContractError("--batch-size " + std::to_string(global_batch) +
                        " is the global batch: it must split evenly over the " +
                        std::to_string(ranks) + " ranks (try " + hint + ")");
}

int64_t local_batch(int64_t global_batch, int ranks) {
    check_global_batch(global_batch, ranks);
    return global_batch / ranks;
}

int64_t global_batches(int64_t images, int64_t global_batch, int ranks, bool training) {
    EFFNET_CHECK(
        images >= 0 && global_batch >= 1 && ranks >= 1,
        "dist: " << images << " images, batch " << global_batch << ", " << ranks << " ranks");
    const int64_t full = images / global_batch, rest = images % global_batch;
    if (rest == 0) return full;
    return full + ((!training || rest >= ranks) ? 1 : 0);
}

Share batch_share(int64_t images, int64_t global_batch, int64_t batch, int rank, int ranks) {
    EFFNET_CHECK(rank >= 0 && rank < ranks, "dist: rank " << rank << " of " << ranks);
    const int64_t begin = batch * global_batch;
    EFFNET_CHECK(batch >= 0 && begin < std::max<int64_t>(images, 1),
                 "dist: batch " << batch << " of an epoch of " << images << " images");
    const int64_t len = std::min(global_batch, images - begin);
    const int64_t lo = len * rank / ranks, hi = len * (rank + 1) / ranks;
    return Share{begin + lo, hi - lo};
}

int threads_per_rank(int cores, int local_ranks, int requested) {
    if (requested > 0) return requested;
    return std::max(1, std::max(cores, 1) / std::max(local_ranks, 1));
}

// 8 bytes at a time through splitmix64 (tensor/random.h), the tail zero-padded,
// and the length folded in at the end, so that trailing zeros still count.
void ByteHash::add(const void* data, size_t bytes) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h_ = mix64(h_ ^ w);
    }
    if (i < bytes) {
        uint64_t w = 0;
        std::memcpy(&w, p + i, bytes - i);
        h_ = mix64(h_ ^ w ^ 0x8000000000000000ull);
    }
    length_ += bytes;
    h_ = mix64(h_ ^ length_);
}

std::string hex64(uint64_t v) {
    char b[20];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}

}  // namespace effnet::dist
