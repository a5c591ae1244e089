#include "train/memory_plan.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "layers/efficientnet.h"
#include "tensor/error.h"
#include "tensor/gpu_runtime.h"

namespace effnet {

namespace {

// Floats of every layer's planned output, composite layers included.
int64_t planned_floats(const Layer& l) {
    int64_t n = l.output_shape().numel();
    for (auto& c : l.children()) n += planned_floats(*c.second);
    return n;
}

// Measured on the CPU (B0, 32..128 px, batches 4..8): a training step's heap
// beyond the model state is 1.26-1.46 times the planned outputs (backward's
// gradient buffers and arenas come on top of the forward buffers). 1.5 keeps
// the estimate above every measurement.
constexpr double kActivationFactor = 1.5;
// Workspaces and small buffers independent of the batch: im2col and GEMM
// scratch on the CPU; cuDNN/cuBLAS workspaces and the allocator's rounding on a GPU.
constexpr size_t kCpuOverhead = size_t(32) << 20, kGpuOverhead = size_t(512) << 20;

// Saturating: an absurd batch must give an absurd estimate, not an overflow.
size_t bytes(double b) { return b < 0 ? 0 : b >= 1e18 ? size_t(1e18) : size_t(b); }

size_t read_size_file(const char* path) {
    std::ifstream f(path);
    std::string v;
    if (!(f >> v) || v == "max") return 0;
    return size_t(std::strtoull(v.c_str(), nullptr, 10));  // 0 when unreadable: no limit known
}

size_t resident_bytes() {
    std::ifstream f("/proc/self/statm");
    size_t pages_total = 0, pages_resident = 0;
    f >> pages_total >> pages_resident;
    return pages_resident * size_t(::sysconf(_SC_PAGESIZE));
}

}  // namespace

std::string human_bytes(double b) {
    char s[32];
    if (b >= double(1ull << 40))
        std::snprintf(s, sizeof s, "%.1f TiB", b / double(1ull << 40));
    else if (b >= double(1ull << 30))
        std::snprintf(s, sizeof s, "%.1f GiB", b / double(1ull << 30));
    else
        std::snprintf(s, sizeof s, "%.0f MiB", b / double(1ull << 20));
    return s;
}

MemoryEstimate estimate_training_memory(const ModelSpec& spec, int64_t batch, const LoaderPlan& lp,
                                        Device device) {
    EfficientNet net(spec.network());
    net.setup(Shape{1, spec.image_size, spec.image_size, spec.in_channels}, Device::CPU);
    MemoryEstimate e;
    e.model_state =
        bytes(double(net.num_params()) * sizeof(float) * 4);  // values, gradients, two moments
    const double per_image_activations =
        kActivationFactor * double(planned_floats(net)) * sizeof(float);
    const double input =
        double(spec.image_size) * spec.image_size * double(spec.in_channels) * sizeof(float);
    const double pixels = double(spec.image_size) * spec.image_size;  // one prepared 8-bit image
    const double cache_cap = double(std::max<int64_t>(0, lp.cache_mb)) * double(1 << 20);
    const int loaders = lp.test_images > 0 ? 3 : 2;
    e.activations_per_image = bytes(per_image_activations);
    e.buffers_per_image = bytes(double(loaders) * std::max(1, lp.prefetch) * input);
    e.activations = bytes(per_image_activations * double(batch) +
                          double(device == Device::CPU ? kCpuOverhead : kGpuOverhead));
    e.loader_buffers = bytes(double(e.buffers_per_image) * double(batch));
    e.image_cache = bytes(std::min(cache_cap, double(lp.train_images) * pixels) +
                          std::min(cache_cap, double(lp.val_images) * pixels) +
                          std::min(cache_cap, double(lp.test_images) * pixels));
    return e;
}

MemoryLimit host_memory_limit() {
    MemoryLimit l;
    std::ifstream f("/proc/meminfo");
    std::string key;
    size_t kb = 0;
    std::string unit;
    while (f >> key >> kb >> unit)
        if (key == "MemAvailable:") {
            // What this process holds already counts as usable: the estimate covers it too.
            l.bytes = kb * 1024 + resident_bytes();
            l.source = "MemAvailable in /proc/meminfo";
            break;
        }
    // A container's limit (cgroup v2) may be lower than the machine's free memory.
    const size_t max = read_size_file("/sys/fs/cgroup/memory.max");
    const size_t current = read_size_file("/sys/fs/cgroup/memory.current");
    if (max > 0) {
        const size_t headroom = (max > current ? max - current : 0) + resident_bytes();
        if (l.bytes == 0 || headroom < l.bytes) {
            l.bytes = headroom;
            l.source = "the cgroup limit /sys/fs/cgroup/memory.max";
        }
    }
    return l;
}

MemoryLimit gpu_memory_limit() {
    MemoryLimit l;
    if (!gpu::available()) return l;
    l.bytes = gpu::free_device_bytes();
    l.source = "free memory on " + gpu::status();
    return l;
}

void check_training_fits(const MemoryEstimate& e, Device device, int64_t batch,
                         const MemoryLimit& host, const MemoryLimit& gpu) {
    // `need` of `memory` against `limit`; `per_image`: what one image of the batch adds there.
    auto check = [&](const char* memory, size_t need, size_t per_image, const MemoryLimit& limit,
                     const std::string& parts) {
        if (limit.bytes == 0 || need <= limit.bytes) return;
        const double fixed = double(need) - double(per_image) * double(batch);
        const int64_t fits =
            per_image > 0 ? int64_t((0.9 * double(limit.bytes) - fixed) / double(per_image)) : 0;
        throw Error(
            "batch " + std::to_string(batch) + " needs about " + human_bytes(double(need)) +
            " of " + memory + " (" + parts + "), more than the " +
            human_bytes(double(limit.bytes)) + " available (" + limit.source + "); " +
            (fits >= 1 ? "try --batch-size " + std::to_string(std::min<int64_t>(fits, batch - 1))
                       : std::string("not even one image fits: try a smaller --image-size")) +
            (e.image_cache > 0 && std::string(memory) == "host memory" ? " or a smaller --cache-mb"
                                                                       : ""));
    };
    const std::string state = "model state " + human_bytes(double(e.model_state)) +
                              ", activations " + human_bytes(double(e.activations));
    const std::string loader = "loader buffers " + human_bytes(double(e.loader_buffers)) +
                               ", image cache " + human_bytes(double(e.image_cache));
    if (device == Device::CUDA) {
        check("GPU memory", e.on_device(device), e.activations_per_image, gpu, state);
        check("host memory", e.on_host(device), e.buffers_per_image, host, loader);
    } else {
        check("host memory", e.on_device(device), e.activations_per_image + e.buffers_per_image,
              host, state + ", " + loader);
    }
}

}  // namespace effnet
