// The loader's staging-buffer rule (data/loader.h), checked on the CPU
// against the deferred fake of the CUDA runtime (tests/tensor/fake_gpu_runtime.h):
// to_device enqueues asynchronous copies out of the batch's pinned buffers and
// records the batch's event, and the next Loader::next waits for that event
// before the buffers are refilled. The fake runs a copy only when an event
// after it is waited for or its stream synchronised, and reads the source
// then, so a loader that refilled first would hand the device a later batch's
// images and labels: the comparison below fails when the wait in Loader::next
// is removed. Built in the CUDA build only (tests/tensor/CMakeLists.txt).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"
#include "tests/tensor/fake_gpu_runtime.h"
#include "tests/tensor/fake_gpu_test.h"

using namespace effnet;

namespace {

class LoaderDevice : public test::FakeGpuTest {};

std::vector<int32_t> int32_values(const Tensor& t) {
    const Tensor host = t.is_cuda() ? t.to(Device::CPU) : t;
    std::vector<int32_t> v(size_t(host.numel()));
    if (!v.empty()) std::memcpy(v.data(), host.i32(), v.size() * sizeof(int32_t));
    return v;
}

// What the host held when a batch was copied, and the device copy made of it.
struct Copied {
    std::vector<float> images;
    std::vector<int32_t> labels;
    DeviceBatch device;
};

}  // namespace

TEST_F(LoaderDevice, EachDeviceBatchEqualsTheHostBatchItCameFrom) {
    const Dataset ds = phantom_dataset(3, 11, 0, 0);
    PipelineConfig pipe;
    pipe.image_size = 16;
    pipe.phantom_seed = 3;
    // One slot refilled by next() itself, and worker threads refilling one or two slots.
    for (auto [workers, prefetch] : {std::pair{0, 1}, std::pair{1, 1}, std::pair{2, 2}}) {
        SCOPED_TRACE("workers=" + std::to_string(workers) +
                     " prefetch=" + std::to_string(prefetch));
        LoaderConfig cfg;
        cfg.batch_size = 3;
        cfg.workers = workers;
        cfg.prefetch = prefetch;
        cfg.shuffle = true;
        cfg.seed = 5;
        cfg.pinned = true;
        Loader loader(ds.samples, pipe, cfg, nullptr);
        ASSERT_TRUE(loader.batches_per_epoch() > prefetch)
            << "every slot must be refilled at least once";
        loader.start_epoch(0);
        std::vector<Copied> copies;
        Batch b;
        while (loader.next(b)) {
            ASSERT_TRUE(b.images.is_pinned()) << "the fake runtime gives pinned staging buffers";
            copies.push_back(
                {b.images.to_vector(), int32_values(b.labels), to_device(b, Device::CUDA)});
            EXPECT_EQ(fake_gpu::pending(), 2u)
                << "queued: this batch's two copies (the previous ones ran when next() waited)";
        }
        ASSERT_EQ(int64_t(copies.size()), loader.batches_per_epoch());
        for (size_t i = 0; i < copies.size(); ++i) {
            EXPECT_EQ(copies[i].device.images.to_vector(), copies[i].images)
                << "images of batch " << i;
            EXPECT_EQ(int32_values(copies[i].device.labels), copies[i].labels)
                << "labels of batch " << i;
        }
    }
}
