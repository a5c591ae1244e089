// How much memory a training run needs, checked against what the machine
// has before any of it is allocated: a batch or image size that cannot fit
// fails at once with the estimate and the limit, not with an allocator abort
// (or the kernel's OOM killer) in the middle of an epoch.
//
// The estimate is built from the model's own layer shapes (the network is
// planned at batch 1 on the CPU, without parameters, which takes
// milliseconds) and is the same for every device; only where each part lives
// differs. Its factors were measured on the CPU (tests/apps/test_memory_plan.cpp
// checks the estimate against a real training step's heap peak).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "train/model_spec.h"
#include "tensor/device.h"

namespace effnet {

struct MemoryEstimate {
    size_t model_state = 0;  // parameters, gradients, AdamW moments (training device)
    size_t activations =
        0;  // forward buffers, saved tensors, gradients, workspaces (training device)
    size_t loader_buffers = 0;  // batches in flight in the loaders (host)
    size_t image_cache = 0;     // prepared images kept across epochs (host)
    size_t activations_per_image = 0,
           buffers_per_image = 0;  // what one more image in the batch adds
    size_t host_part() const { return loader_buffers + image_cache; }
    size_t on_device(Device d) const {
        return model_state + activations + (d == Device::CPU ? host_part() : 0);
    }
    size_t on_host(Device d) const { return d == Device::CPU ? on_device(d) : host_part(); }
};

// The loaders a run builds: one per split it iterates (train, val, and test
// when it has images), each with `prefetch` batch buffers and its own cache
// of prepared (8-bit, image_size^2) images of at most cache_mb.
struct LoaderPlan {
    int prefetch = 4;
    int64_t cache_mb = 1024;
    int64_t train_images = 0, val_images = 0, test_images = 0;
};

MemoryEstimate estimate_training_memory(const ModelSpec& spec, int64_t batch,
                                        const LoaderPlan& loaders, Device device);

// What a run may use. bytes == 0: unknown (nothing is checked).
struct MemoryLimit {
    size_t bytes = 0;
    std::string source;  // where the figure comes from ("MemAvailable", "cgroup memory.max", ...)
};
// Host: MemAvailable (plus what this process already holds), or the cgroup's
// memory.max headroom when lower. GPU: the device's free memory.
MemoryLimit host_memory_limit();
MemoryLimit gpu_memory_limit();

// Throws Error with the estimate, the limit, its source and a batch size
// that would fit, when the estimate exceeds the limit of either memory.
void check_training_fits(const MemoryEstimate& e, Device device, int64_t batch,
                         const MemoryLimit& host, const MemoryLimit& gpu);

// "1.5 GiB", "320 MiB".
std::string human_bytes(double bytes);

}  // namespace effnet
