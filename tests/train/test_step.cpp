// The training step's contract (train/step.h): the hook sees complete
// gradients and the weights before the update; the update then moves the
// weights, and the gradients stay in the store.
#include <gtest/gtest.h>

#include "common/gradcheck.h"
#include "train/step.h"

using namespace effnet;
using namespace effnet::test;

TEST(TrainStep, HookRunsBetweenBackwardAndTheUpdate) {
    const Shape in{2, 64, 64, 3};
    EfficientNet net(EfficientNetConfig::variant(0, 2));
    ParameterStore store(net, Device::CPU);
    uint64_t stream = 0;
    net.reset_parameters(5, stream);
    net.setup(in, Device::CPU);
    AdamW opt(store, AdamWConfig{});
    LossHead head(LossKind::CROSS_ENTROPY, in[0], 2, Device::CPU);
    Context ctx(Device::CPU);
    Tensor x = Tensor::from_vector(in, random_floats(in.numel(), 8));
    Tensor labels = Tensor::empty(Shape{2}, Device::CPU, DType::INT32);
    labels.i32()[0] = 0;
    labels.i32()[1] = 1;
    store.grads().fill(1e9f);  // the step must zero stale gradients first

    const std::vector<float> before = store.values().to_vector();
    std::vector<float> values_in_hook, grads_in_hook;
    StepHooks hooks{[&](Context&) {
        values_in_hook = store.values().to_vector();
        grads_in_hook = store.grads().to_vector();
    }};
    Tensor logits =
        train_step(net, store, head, opt, x, labels, RunState{Mode::TRAIN, 1, 0}, ctx, hooks);

    ASSERT_EQ(values_in_hook.size(), before.size()) << "the hook did not run";
    EXPECT_EQ(values_in_hook, before) << "the hook must see the weights before the update";
    double grad_sq = 0, stale = 0;
    for (float g : grads_in_hook) {
        grad_sq += double(g) * g;
        stale = std::max(stale, double(std::fabs(g)));
    }
    EXPECT_GT(grad_sq, 0) << "the hook must see the gradients of this step";
    EXPECT_LT(stale, 1e6) << "stale gradients were not zeroed before backward";
    EXPECT_EQ(store.grads().to_vector(), grads_in_hook)
        << "the gradients stay in the store after the update";
    EXPECT_NE(store.values().to_vector(), before) << "AdamW did not update the weights";
    EXPECT_EQ(opt.steps(), 1);
    EXPECT_EQ(logits.shape(), (Shape{2, 2}));
    EXPECT_TRUE(std::isfinite(head.loss().to_vector()[0]));
}
