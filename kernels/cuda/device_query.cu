// kernels/cuda/device_query.h: one cudaDeviceGetAttribute per device and
// process; later calls read the cache (safe from any thread, and during
// CUDA-graph capture, which a device query does not disturb).
#include "kernels/cuda/device_query.h"

#include <atomic>

#include "tensor/cuda_check.h"

namespace effnet::cuda {

namespace {
constexpr int kMaxDevices = 64;
std::atomic<int> sm_cache[kMaxDevices];  // 0: not queried yet
}  // namespace

int multiprocessor_count() {
    int device = 0;
    EFFNET_CUDA_CHECK(cudaGetDevice(&device));
    EFFNET_CHECK(device >= 0 && device < kMaxDevices, "CUDA device "
                                                          << device << " beyond the " << kMaxDevices
                                                          << " the launch-map cache holds");
    int sms = sm_cache[device].load(std::memory_order_relaxed);
    if (sms == 0) {
        EFFNET_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
        EFFNET_CHECK(sms > 0, "CUDA device " << device << " reports " << sms << " multiprocessors");
        sm_cache[device].store(sms, std::memory_order_relaxed);
    }
    return sms;
}

}  // namespace effnet::cuda
