#include <gtest/gtest.h>

#include "common/gpu_test.h"
#include "layer_check.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/efficientnet.h"
#include "layers/mbconv.h"
#include "layers/squeeze_excite.h"

using namespace effnet;
using namespace effnet::test;

namespace {
template <class L>
void check(L& layer, const Shape& in, uint64_t seed) {
    ParameterStore store(layer, Device::CPU);
    uint64_t stream = 0;
    layer.reset_parameters(seed, stream);
    check_layer_gradients(layer, store, in, seed);
}
}  // namespace

TEST(LayerGradients, Conv2dStem) {
    Conv2d c(3, 5, 3, 2);
    check(c, Shape{2, 7, 9, 3}, 1);
}

TEST(LayerGradients, DepthwiseConv) {
    DepthwiseConv2d c(6, 5, 2);
    check(c, Shape{1, 9, 7, 6}, 2);
}

TEST(LayerGradients, BatchNormTrain) {
    BatchNorm2d bn(5);
    check(bn, Shape{2, 3, 3, 5}, 3);
}

TEST(LayerGradients, BatchNormSwishTrain) {
    BatchNorm2d bn(5, 1e-5, 0.1, BatchNormActivation::SWISH);
    EXPECT_EQ(bn.kind(), "BatchNormAct2d");
    check(bn, Shape{2, 3, 3, 5}, 13);
}

// The fused layer computes what BatchNorm2d followed by Swish computes, in
// both modes and backward, and keeps the same parameter names.
TEST(BatchNormSwishLayer, EqualsBatchNormThenSwish) {
    const Shape in{3, 4, 5, 6};
    BatchNorm2d fused(6, 1e-5, 0.1, BatchNormActivation::SWISH), bn(6);
    Swish act;
    ParameterStore fs(fused, Device::CPU), bs(bn, Device::CPU);
    uint64_t s1 = 0, s2 = 0;
    fused.reset_parameters(4, s1);
    bn.reset_parameters(4, s2);
    fused.setup(in, Device::CPU);
    bn.setup(in, Device::CPU);
    act.setup(in, Device::CPU);
    Context ctx;
    Tensor x = Tensor::from_vector(in, random_floats(in.numel(), 5, -2, 3));
    Tensor dy = Tensor::from_vector(in, random_floats(in.numel(), 6));
    for (Mode mode : {Mode::TRAIN, Mode::EVAL}) {
        SCOPED_TRACE(mode == Mode::TRAIN ? "train" : "eval");
        auto got = fused.forward(x, RunState{mode, 0, 0}, ctx).to_vector();
        auto want = act.forward(bn.forward(x, RunState{mode, 0, 0}, ctx), RunState{mode, 0, 0}, ctx)
                        .to_vector();
        auto c = compare(got, want, 1e-6, 1e-6);
        EXPECT_TRUE(c.ok) << c.str();
    }
    fused.forward(x, RunState{Mode::TRAIN, 0, 1}, ctx);
    bn.forward(x, RunState{Mode::TRAIN, 0, 1}, ctx);
    act.forward(bn.last_output(), RunState{Mode::TRAIN, 0, 1}, ctx);
    auto c = compare(fused.backward(dy, ctx).to_vector(),
                     bn.backward(act.backward(dy, ctx), ctx).to_vector(), 1e-5, 1e-5);
    EXPECT_TRUE(c.ok) << c.str();
    std::vector<NamedParam> pf, pb;
    fused.collect_params("", pf);
    bn.collect_params("", pb);
    ASSERT_EQ(pf.size(), pb.size());
    for (size_t i = 0; i < pf.size(); ++i) {
        EXPECT_EQ(pf[i].name, pb[i].name);
        auto g = compare(pf[i].grad.to_vector(), pb[i].grad.to_vector(), 1e-5, 1e-5);
        EXPECT_TRUE(g.ok) << pf[i].name << ": " << g.str();
    }
}

TEST(LayerGradients, SqueezeExcite) {
    SqueezeExcite se(12, 3);
    check(se, Shape{2, 5, 3, 12}, 4);
}

TEST(LayerGradients, MBConvExpandedWithResidual) {
    MBConvConfig cfg;
    cfg.in = cfg.out = 8;
    cfg.expand_ratio = 6;
    cfg.kernel = 3;
    MBConv b(cfg);
    EXPECT_TRUE(b.has_residual());
    check(b, Shape{2, 5, 5, 8}, 5);
}

TEST(LayerGradients, MBConvDepthwiseSeparableStride2) {
    MBConvConfig cfg;
    cfg.in = 8;
    cfg.out = 4;
    cfg.kernel = 5;
    cfg.stride = 2;
    MBConv b(cfg);
    EXPECT_FALSE(b.has_residual());
    check(b, Shape{1, 7, 7, 8}, 6);
}

TEST(LayerGradients, MBConvWithDropPathUsesTheForwardMask) {
    MBConvConfig cfg;
    cfg.in = cfg.out = 8;
    cfg.expand_ratio = 6;
    cfg.drop_path = 0.5f;
    cfg.tag = 77;
    MBConv b(cfg);
    check(b, Shape{4, 3, 3, 8}, 7);
}

TEST(Layers, ForwardRejectsWrongShapeWithClearMessage) {
    Conv2d c(3, 4, 3, 1);
    ParameterStore store(c, Device::CPU);
    c.setup(Shape{2, 8, 8, 3}, Device::CPU);
    Context ctx;
    Tensor bad = Tensor::zeros(Shape{2, 8, 7, 3});
    try {
        c.forward(bad, RunState{}, ctx);
        FAIL();
    } catch (const ContractError& e) {
        EXPECT_NE(std::string(e.what()).find("[2, 8, 7, 3]"), std::string::npos) << e.what();
    }
    Tensor bigger = Tensor::zeros(Shape{3, 8, 8, 3});
    EXPECT_THROW(c.forward(bigger, RunState{}, ctx), ContractError);
    EXPECT_NO_THROW(
        c.forward(Tensor::zeros(Shape{1, 8, 8, 3}), RunState{}, ctx));  // smaller batch is fine
}

TEST(Layers, BatchNormTrainAndEvalDiffer) {
    BatchNorm2d bn(3);
    ParameterStore store(bn, Device::CPU);
    uint64_t s = 0;
    bn.reset_parameters(1, s);
    bn.setup(Shape{4, 2, 2, 3}, Device::CPU);
    Context ctx;
    Tensor x = Tensor::from_vector(Shape{4, 2, 2, 3}, random_floats(48, 9, 2, 5));
    auto train = bn.forward(x, RunState{Mode::TRAIN, 0, 0}, ctx).to_vector();
    auto eval = bn.forward(x, RunState{Mode::EVAL, 0, 0}, ctx).to_vector();
    EXPECT_NE(train, eval);
    std::vector<NamedBuffer> bufs;
    bn.collect_buffers("", bufs);
    ASSERT_EQ(bufs.size(), 3u);
    EXPECT_EQ(bufs[2].name, "num_batches_tracked");
    EXPECT_EQ(static_cast<int64_t*>(bufs[2].value->raw())[0], 1);
}
