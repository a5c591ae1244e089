#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "common/gpu_test.h"
#include "tensor/caching_allocator.h"
#include "tensor/tensor.h"

using namespace effnet;

namespace {
// A raw allocator that counts calls and can be told to run out of memory.
struct CountingRaw {
    int allocs = 0, frees = 0;
    size_t limit = SIZE_MAX, live = 0;
    std::map<void*, size_t> blocks;
    CachingAllocator make() {
        return CachingAllocator(
            [this](size_t n) -> void* {
                if (live + n > limit) throw OutOfMemoryError("fake OOM");
                ++allocs;
                live += n;
                void* p = std::malloc(n);
                blocks[p] = n;
                return p;
            },
            [this](void* p) {
                ++frees;
                live -= blocks[p];
                blocks.erase(p);
                std::free(p);
            });
    }
};
}  // namespace

TEST(CachingAllocator, RoundsToSizeClasses) {
    EXPECT_EQ(CachingAllocator::round_size(1), 512u);
    EXPECT_EQ(CachingAllocator::round_size(512), 512u);
    EXPECT_EQ(CachingAllocator::round_size(513), 1024u);
    EXPECT_EQ(CachingAllocator::round_size((1u << 20) + 1), 2u << 20);
}

TEST(CachingAllocator, ReusesFreedBlocksWithoutRawCalls) {
    CountingRaw raw;
    CachingAllocator a = raw.make();
    // Two "training steps" with the same allocation pattern.
    for (int step = 0; step < 2; ++step) {
        void* x = a.allocate(1000);
        void* y = a.allocate(3 << 20);
        a.deallocate(x);
        a.deallocate(y);
    }
    EXPECT_EQ(raw.allocs, 2);  // only the first step reached the raw allocator
    EXPECT_EQ(a.stats().cache_hits, 2u);
    EXPECT_EQ(a.stats().bytes_in_use, 0u);
}

TEST(CachingAllocator, DoesNotHandOutMuchLargerBlocks) {
    CountingRaw raw;
    CachingAllocator a = raw.make();
    a.deallocate(a.allocate(64 << 20));
    void* small = a.allocate(1000);  // must not take the 64 MiB block
    EXPECT_EQ(raw.allocs, 2);
    a.deallocate(small);
}

TEST(CachingAllocator, TracksPeakAndReserved) {
    CountingRaw raw;
    CachingAllocator a = raw.make();
    void* x = a.allocate(512);
    void* y = a.allocate(1024);
    EXPECT_EQ(a.stats().bytes_in_use, 1536u);
    a.deallocate(x);
    EXPECT_EQ(a.stats().bytes_in_use, 1024u);
    EXPECT_EQ(a.stats().peak_bytes_in_use, 1536u);
    EXPECT_EQ(a.stats().bytes_reserved, 1536u);
    a.reset_peak();
    EXPECT_EQ(a.stats().peak_bytes_in_use, 1024u);
    a.release_cache();
    EXPECT_EQ(a.stats().bytes_reserved, 1024u);
    EXPECT_EQ(raw.frees, 1);
    a.deallocate(y);
}

TEST(CachingAllocator, ReleasesCacheAndRetriesOnOutOfMemory) {
    CountingRaw raw;
    raw.limit = (4 << 20) + (512 << 10);  // a "device" of 4.5 MiB
    CachingAllocator a = raw.make();
    a.deallocate(a.allocate(3 << 20));  // rounds to 4 MiB, now cached
    // ~1 MiB cannot reuse the 4 MiB block (more than twice its size) and does
    // not fit beside it: the allocator must free its cache and retry.
    void* p = a.allocate((1 << 20) - 4096);
    EXPECT_NE(p, nullptr);
    EXPECT_EQ(raw.frees, 1);
    EXPECT_EQ(a.stats().bytes_reserved, size_t(1 << 20) - 4096);
    a.deallocate(p);
    // Truly too large: the error reaches the caller.
    EXPECT_THROW(a.allocate(8 << 20), OutOfMemoryError);
}

TEST(CachingAllocator, RejectsForeignPointers) {
    CountingRaw raw;
    CachingAllocator a = raw.make();
    int x = 0;
    EXPECT_THROW(a.deallocate(&x), ContractError);
}

TEST(CachingAllocatorGpu, DeviceTensorsReuseMemory) {
    EFFNET_REQUIRE_GPU();
    auto before = device_allocator().stats();
    { Tensor t = Tensor::empty(Shape{1 << 20}, Device::CUDA); }
    { Tensor t = Tensor::empty(Shape{1 << 20}, Device::CUDA); }
    auto after = device_allocator().stats();
    EXPECT_LE(after.raw_allocations - before.raw_allocations, 1u);
    EXPECT_GE(after.peak_bytes_in_use, size_t(4) << 20);
}
