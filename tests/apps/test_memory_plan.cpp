// The memory estimate against a real training step, and the refusal of a
// run that cannot fit (the GPU branch with a made-up device limit, so the
// same estimate and message are exercised without a GPU).
#include <gtest/gtest.h>
#include <malloc.h>
#if defined(__SANITIZE_ADDRESS__)
#define EFFNET_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EFFNET_UNDER_ASAN 1
#endif
#endif
#if EFFNET_UNDER_ASAN
#include <sanitizer/allocator_interface.h>
#endif
#include <omp.h>
#include <unistd.h>

#include <filesystem>

#include "train/loss_head.h"
#include "train/memory_plan.h"
#include "optim/adamw.h"
#include "run_app.h"
#include "tensor/error.h"

using namespace effnet;
using namespace effnet::test;

namespace {

// Bytes allocated and not yet freed: from glibc's malloc, or from the
// sanitizer's allocator, which replaces it in the sanitizer flavour.
size_t heap_bytes() {
#if EFFNET_UNDER_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;  // in use from the arenas + in mmap'ed blocks
#endif
}

// Heap growth over building a B0, planning it and taking two training steps.
size_t measured_training_bytes(int size, int64_t batch) {
    ModelSpec spec;
    spec.image_size = size;
    const size_t before = heap_bytes();
    size_t peak = 0;
    {
        Model m(spec, Device::CPU, 1);
        AdamW opt(*m.store, AdamWConfig{});
        m.plan(batch, Device::CPU);
        LossHead head(spec.loss, batch, spec.num_classes, Device::CPU);
        Context ctx(Device::CPU);
        // Varied inputs and labels: a constant batch gives batch norm zero
        // variance everywhere, whose gradients then overflow (a property of
        // batch norm, not of the memory plan).
        Tensor x = Tensor::empty(Shape{batch, size, size, 3});
        for (int64_t i = 0; i < x.numel(); ++i) x.f32()[i] = float(i % 251) / 251.0f - 0.5f;
        Tensor y = Tensor::zeros(Shape{batch}, Device::CPU, DType::INT32);
        for (int64_t i = 0; i < batch; ++i) y.i32()[i] = int32_t(i % 2);
        for (uint64_t step = 0; step < 2; ++step) {
            Tensor logits = m.net->forward(x, RunState{Mode::TRAIN, 0, step}, ctx);
            head.forward_on_device(logits, y, ctx);
            const Tensor& d = head.backward(ctx);
            m.store->zero_grads();
            m.net->backward(d, ctx);
            opt.step(ctx);
            peak = std::max(peak, heap_bytes());
        }
    }
    return peak - before;
}

}  // namespace

TEST(MemoryPlan, EstimateCoversARealTrainingStepWithoutGrossExcess) {
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);  // the heap does not depend on it; the time does, on a busy machine
    for (auto [size, batch] : {std::pair<int, int64_t>{32, 8}, {96, 4}}) {
        ModelSpec spec;
        spec.image_size = size;
        const MemoryEstimate e =
            estimate_training_memory(spec, batch, LoaderPlan{4, 0, 0, 0, 0}, Device::CPU);
        const size_t model = e.model_state + e.activations;
        const size_t measured = measured_training_bytes(size, batch);
        EXPECT_GE(model, measured) << size << " px, batch " << batch;
        EXPECT_LE(double(model), 1.5 * double(measured)) << size << " px, batch " << batch;
        std::cout << size << " px, batch " << batch << ": estimate " << human_bytes(double(model))
                  << ", measured " << human_bytes(double(measured)) << "\n";
    }
    omp_set_num_threads(threads);
}

TEST(MemoryPlan, EstimateGrowsWithBatchImageSizeAndCache) {
    ModelSpec spec;
    const LoaderPlan none{4, 0, 0, 0, 0};
    const MemoryEstimate b8 = estimate_training_memory(spec, 8, none, Device::CPU);
    const MemoryEstimate b16 = estimate_training_memory(spec, 16, none, Device::CPU);
    EXPECT_EQ(b16.activations - b8.activations, 8 * b8.activations_per_image);
    EXPECT_EQ(b16.model_state, b8.model_state);
    EXPECT_EQ(b8.model_state,
              size_t(4010110) * 16);  // values, gradients, two moments of B0's parameters
    spec.image_size = 448;
    EXPECT_GT(estimate_training_memory(spec, 8, none, Device::CPU).activations_per_image,
              3.9 * double(b8.activations_per_image));
    // The cache is bounded by --cache-mb per loader and by the images there are.
    const MemoryEstimate cached =
        estimate_training_memory(spec, 8, LoaderPlan{4, 100, 1000000, 10, 0}, Device::CPU);
    EXPECT_EQ(cached.image_cache, size_t(100 << 20) + size_t(10) * 448 * 448);
    // On a GPU the loaders are host memory, the rest device memory.
    const MemoryEstimate g =
        estimate_training_memory(spec, 8, LoaderPlan{4, 100, 1000, 10, 0}, Device::CUDA);
    EXPECT_EQ(g.on_host(Device::CUDA), g.loader_buffers + g.image_cache);
    EXPECT_EQ(g.on_device(Device::CUDA), g.model_state + g.activations);
}

TEST(MemoryPlan, TooLargeForTheLimitFailsWithEstimateLimitAndABatchThatFits) {
    ModelSpec spec;
    const LoaderPlan lp{4, 64, 1000, 200, 0};
    const MemoryEstimate e = estimate_training_memory(spec, 64, lp, Device::CPU);
    const MemoryLimit host{e.on_host(Device::CPU) / 3, "a test limit"};
    try {
        check_training_fits(e, Device::CPU, 64, host, {});
        ADD_FAILURE() << "did not refuse";
    } catch (const Error& err) {
        const std::string m = err.what();
        EXPECT_NE(m.find("batch 64 needs about " + human_bytes(double(e.on_host(Device::CPU))) +
                         " of host memory"),
                  std::string::npos)
            << m;
        EXPECT_NE(m.find("more than the " + human_bytes(double(host.bytes)) +
                         " available (a test limit)"),
                  std::string::npos)
            << m;
        const size_t at = m.find("try --batch-size ");
        ASSERT_NE(at, std::string::npos) << m;
        const int64_t suggested = std::stoll(m.substr(at + 17));
        EXPECT_GE(suggested, 1);
        EXPECT_LT(suggested, 64);
        EXPECT_LE(estimate_training_memory(spec, suggested, lp, Device::CPU).on_host(Device::CPU),
                  host.bytes)
            << m;
    }
    EXPECT_NO_THROW(check_training_fits(e, Device::CPU, 64,
                                        MemoryLimit{e.on_host(Device::CPU), "exactly enough"}, {}));
    EXPECT_NO_THROW(check_training_fits(e, Device::CPU, 64, MemoryLimit{},
                                        {}));  // unknown limit: nothing checked
}

TEST(MemoryPlan, GpuBranchChecksDeviceMemoryWithTheSameEstimate) {
    ModelSpec spec;
    const LoaderPlan lp{4, 64, 1000, 200, 0};
    const MemoryEstimate e = estimate_training_memory(spec, 128, lp, Device::CUDA);
    const MemoryLimit roomy{size_t(1) << 50, "host"};
    const MemoryLimit small_gpu{e.on_device(Device::CUDA) / 4,
                                "free memory on a made-up 4 GiB GPU"};
    try {
        check_training_fits(e, Device::CUDA, 128, roomy, small_gpu);
        ADD_FAILURE() << "did not refuse";
    } catch (const Error& err) {
        const std::string m = err.what();
        EXPECT_NE(m.find("of GPU memory (model state "), std::string::npos) << m;
        EXPECT_NE(m.find("(free memory on a made-up 4 GiB GPU)"), std::string::npos) << m;
        const size_t at = m.find("try --batch-size ");
        ASSERT_NE(at, std::string::npos) << m;
        EXPECT_LE(estimate_training_memory(spec, std::stoll(m.substr(at + 17)), lp, Device::CUDA)
                      .on_device(Device::CUDA),
                  small_gpu.bytes);
    }
    // The host side of a GPU run holds only the loaders.
    const MemoryLimit small_host{e.on_host(Device::CUDA) / 2, "a small host"};
    try {
        check_training_fits(e, Device::CUDA, 128, small_host, MemoryLimit{size_t(1) << 50, "gpu"});
        ADD_FAILURE() << "did not refuse";
    } catch (const Error& err) {
        EXPECT_NE(std::string(err.what()).find("of host memory (loader buffers"), std::string::npos)
            << err.what();
    }
    EXPECT_NO_THROW(
        check_training_fits(e, Device::CUDA, 128, roomy, MemoryLimit{size_t(1) << 50, "gpu"}));
}

TEST(MemoryPlan, TrainRefusesAnImpossibleRunBeforeTraining) {
    // Far beyond any machine: 224 px at batch 100000, and 2048 px at batch 512.
    for (const std::string args :
         {" --image-size 224 --batch-size 100000", " --image-size 2048 --batch-size 512"}) {
        const std::string out =
            (std::filesystem::temp_directory_path() / ("effnet_memory_" + std::to_string(getpid())))
                .string();
        const AppResult r = run_app(bin("effnet_train") + args + " --phantoms 16 --out " + out);
        EXPECT_EQ(r.status, 1) << r.output;
        EXPECT_NE(r.output.find("of host memory (model state"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find(" available ("), std::string::npos) << r.output;
        EXPECT_EQ(r.output.find("epoch 1"), std::string::npos) << r.output;
        std::filesystem::remove_all(out);
    }
}
