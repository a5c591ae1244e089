// A caching allocator: freed blocks go to a free list by rounded size and are
// handed out again, so a training loop that allocates the same sizes every
// step reaches the underlying allocator (cudaMalloc) only in its first step.
//
// Sizes round up to 512 B below 1 MiB and to 2 MiB above, and a cached block
// is reused for a request when it is at most twice the rounded size. On an
// allocation failure the cache is released and the request retried once.
//
// The raw allocator is injected, so this logic is tested on the CPU with a
// counting malloc. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

namespace effnet {

struct AllocatorStats {
    size_t bytes_in_use = 0;  // handed out and not yet returned (rounded sizes)
    size_t peak_bytes_in_use = 0;
    size_t bytes_reserved = 0;   // obtained from the raw allocator (in use + cached)
    size_t raw_allocations = 0;  // calls that reached the raw allocator
    size_t cache_hits = 0;
};

class CachingAllocator {
public:
    using RawAlloc = std::function<void*(size_t)>;
    using RawFree = std::function<void(void*)>;

    CachingAllocator(RawAlloc raw_alloc, RawFree raw_free);
    ~CachingAllocator();
    CachingAllocator(const CachingAllocator&) = delete;
    CachingAllocator& operator=(const CachingAllocator&) = delete;

    void* allocate(size_t bytes);
    void deallocate(void* p);
    // Returns every cached (unused) block to the raw allocator.
    void release_cache();
    AllocatorStats stats() const;
    void reset_peak();

    static size_t round_size(size_t bytes);

private:
    RawAlloc raw_alloc_;
    RawFree raw_free_;
    mutable std::mutex mu_;
    std::multimap<size_t, void*> free_blocks_;       // rounded size -> block
    std::unordered_map<void*, size_t> live_blocks_;  // block -> rounded size
    AllocatorStats stats_;
};

// The process-wide allocator for CUDA device memory (created on first use).
CachingAllocator& device_allocator();

}  // namespace effnet
