#include "tensor/caching_allocator.h"

#include "tensor/error.h"
#include "tensor/gpu_runtime.h"

namespace effnet {

namespace {
constexpr size_t kSmallAlign = 512;
constexpr size_t kLargeAlign = 2u << 20;
constexpr size_t kLargeThreshold = 1u << 20;
}  // namespace

size_t CachingAllocator::round_size(size_t bytes) {
    if (bytes == 0) bytes = 1;
    size_t align = bytes < kLargeThreshold ? kSmallAlign : kLargeAlign;
    return (bytes + align - 1) / align * align;
}

CachingAllocator::CachingAllocator(RawAlloc raw_alloc, RawFree raw_free)
    : raw_alloc_(std::move(raw_alloc)), raw_free_(std::move(raw_free)) {}

CachingAllocator::~CachingAllocator() {
    // Blocks still live belong to tensors outliving the allocator (static
    // destruction order); leaking them is safer than freeing under a user.
    release_cache();
}

void* CachingAllocator::allocate(size_t bytes) {
    const size_t size = round_size(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    void* p = nullptr;
    auto it = free_blocks_.lower_bound(size);
    if (it != free_blocks_.end() && it->first <= 2 * size) {
        p = it->second;
        size_t block = it->first;
        free_blocks_.erase(it);
        live_blocks_[p] = block;
        stats_.bytes_in_use += block;
        ++stats_.cache_hits;
    } else {
        try {
            p = raw_alloc_(size);
        } catch (const OutOfMemoryError&) {
            // Give the cached blocks back and try once more before failing.
            for (auto& [sz, blk] : free_blocks_) {
                raw_free_(blk);
                stats_.bytes_reserved -= sz;
            }
            free_blocks_.clear();
            p = raw_alloc_(size);
        }
        EFFNET_CHECK(p != nullptr, "raw allocator returned null for " << size << " bytes");
        live_blocks_[p] = size;
        stats_.bytes_in_use += size;
        stats_.bytes_reserved += size;
        ++stats_.raw_allocations;
    }
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use)
        stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return p;
}

void CachingAllocator::deallocate(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_blocks_.find(p);
    EFFNET_CHECK(it != live_blocks_.end(),
                 "deallocate of a pointer this allocator did not hand out");
    stats_.bytes_in_use -= it->second;
    free_blocks_.emplace(it->second, p);
    live_blocks_.erase(it);
}

void CachingAllocator::release_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [sz, blk] : free_blocks_) {
        raw_free_(blk);
        stats_.bytes_reserved -= sz;
    }
    free_blocks_.clear();
}

AllocatorStats CachingAllocator::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
}

void CachingAllocator::reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

CachingAllocator& device_allocator() {
    // Intentionally never destroyed: CUDA may already be torn down at exit.
    static CachingAllocator* a = [] {
        if constexpr (kWithCuda)
            return new CachingAllocator(gpu::device_malloc, gpu::device_free);
        else  // no device memory; tensor.cpp refuses CUDA tensors before reaching here
            return new CachingAllocator(
                [](size_t) -> void* { detail::throw_built_without_cuda("device memory"); },
                [](void*) {});
    }();
    return *a;
}

}  // namespace effnet
