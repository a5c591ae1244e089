// A whole training step (forward with dropout and drop-path, loss, backward,
// AdamW) captured in a CUDA graph must do exactly what the same step does
// eagerly: the step neither synchronises with the host nor allocates (global
// capture mode would fail), and its kernels are deterministic. Two identical
// models take the same two steps, the second one eagerly on model A and as a
// captured-then-replayed graph on model B; parameters and AdamW moments must
// be bit-identical.
#include <gtest/gtest.h>

#include "common/gpu_test.h"
#include "common/gradcheck.h"
#include "layers/efficientnet.h"
#include "optim/adamw.h"
#include "tensor/gpu_runtime.h"
#include "train/step.h"

using namespace effnet;
using namespace effnet::test;

namespace {
struct Trainee {
    EfficientNet net;
    ParameterStore store;
    AdamW opt;
    Context ctx;
    LossHead head;
    Trainee(const Shape& in, int64_t classes)
        : net(EfficientNetConfig::variant(0, classes)),
          store(net, Device::CUDA),
          opt(store, AdamWConfig{}),
          ctx(Device::CUDA),
          head(LossKind::CROSS_ENTROPY, in[0], classes, Device::CUDA) {
        uint64_t s = 0;
        EfficientNet init(EfficientNetConfig::variant(0, classes));
        ParameterStore init_store(init, Device::CPU);
        init.reset_parameters(11, s);
        store.values().copy_from(init_store.values());
        net.setup(in, Device::CUDA);
    }
    // The trainer's step (train/step.h), enqueued only (no host synchronisation).
    void step(const Tensor& x, const Tensor& labels, uint64_t index) {
        train_step(net, store, head, opt, x, labels, RunState{Mode::TRAIN, 3, index}, ctx);
    }
};
}  // namespace

TEST(CudaGraphGpu, CapturedTrainingStepEqualsTheEagerStep) {
    EFFNET_REQUIRE_GPU();
    const Shape in{4, 64, 64, 3};
    Tensor x = Tensor::from_vector(in, random_floats(in.numel(), 21)).to(Device::CUDA);
    Tensor labels_host = Tensor::empty(Shape{4}, Device::CPU, DType::INT32);
    for (int i = 0; i < 4; ++i) labels_host.i32()[i] = i % 2;
    Tensor labels = labels_host.to(Device::CUDA);

    Trainee a(in, 2), b(in, 2);
    a.step(x, labels,
           0);  // first steps eager on both: allocations and algorithm choices happen here
    b.step(x, labels, 0);
    a.step(x, labels, 1);
    a.ctx.synchronize();
    b.ctx.synchronize();

    if constexpr (
        kWithCuda) {  // graphs exist only in the CUDA build (this test has skipped elsewhere)
        gpu::Graph graph;
        graph.begin_capture(b.ctx.stream());
        b.step(x, labels, 1);
        graph.end_capture(b.ctx.stream());
        graph.launch(b.ctx.stream());
    }
    b.ctx.synchronize();

    EXPECT_EQ(b.store.values().to_vector(), a.store.values().to_vector())
        << "parameters after the replayed step";
    EXPECT_EQ(b.opt.exp_avg().to_vector(), a.opt.exp_avg().to_vector()) << "AdamW first moments";
    EXPECT_EQ(b.head.loss().to_vector(), a.head.loss().to_vector()) << "loss of the second step";
}
