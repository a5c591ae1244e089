// The barrier between the engine's passes.
//
// OpenMP's own barrier (libgomp) lets a waiting thread spin for up to
// GOMP_SPINCOUNT (300000) pauses, milliseconds, before it sleeps. On idle
// cores the wait is microseconds and spinning is right; on cores shared with
// other work the thread being waited for is often descheduled, and a
// spinning partner then burns the time slice that thread needs. This one
// spins for about kSpins pauses (tens of microseconds: a pass's load
// imbalance on idle cores) and then yields its core between checks.
//
// Ordering: everything a thread wrote before wait() is visible to every
// thread after its wait() returns (acquire/release on the counters).
#pragma once

#include <atomic>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace effnet::infer::cpu {

class SpinBarrier {
public:
    // Threads that must arrive. Call while no thread waits.
    void reset(int count) {
        count_ = count;
        arrived_.store(0, std::memory_order_relaxed);
    }

    void wait() {
        const unsigned gen = generation_.load(std::memory_order_acquire);
        if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
            arrived_.store(0, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_release);
            return;
        }
        for (int spins = 0; generation_.load(std::memory_order_acquire) == gen; ++spins) {
            if (spins < kSpins)
                pause();
            else
                std::this_thread::yield();
        }
    }

private:
    static constexpr int kSpins = 2000;
    static void pause() {
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#endif
    }
    alignas(64) std::atomic<int> arrived_{0};
    alignas(64) std::atomic<unsigned> generation_{0};
    int count_ = 1;
};

}  // namespace effnet::infer::cpu
