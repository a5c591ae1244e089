// The inference fast path against the training graph in EVAL mode: same
// weights (random, with non-trivial batch-norm statistics so that folding
// matters), same images, every logit.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/gradcheck.h"
#include "infer/inference_model.h"
#include "layers/parameters.h"

using namespace effnet;
using namespace effnet::test;

namespace {

// "blocks.1.0.bn2.weight" -> true: the tensor belongs to a batch norm.
bool is_batchnorm(const std::string& name) {
    const size_t last = name.rfind('.');
    const size_t prev = name.rfind('.', last - 1);
    const std::string owner = name.substr(prev == std::string::npos ? 0 : prev + 1, last - (prev == std::string::npos ? 0 : prev + 1));
    return owner.rfind("bn", 0) == 0;
}

void fill_uniform(Tensor& t, uint64_t seed, float lo, float hi) {
    const std::vector<float> v = random_floats(size_t(t.numel()), seed, lo, hi);
    std::copy(v.begin(), v.end(), t.f32());
}

// timm's initialisation, then batch-norm affine parameters and running
// statistics away from their identity values, and non-zero biases.
void perturb(EfficientNet& net) {
    std::vector<NamedParam> params;
    net.collect_params("", params);
    uint64_t seed = 1000;
    for (NamedParam& p : params) {
        const bool bias = p.name.size() > 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
        if (is_batchnorm(p.name))
            fill_uniform(p.value, ++seed, bias ? -0.2f : 0.6f, bias ? 0.2f : 1.4f);
        else if (bias)
            fill_uniform(p.value, ++seed, -0.1f, 0.1f);
    }
    std::vector<NamedBuffer> buffers;
    net.collect_buffers("", buffers);
    for (NamedBuffer& b : buffers) {
        if (b.name.find("running_mean") != std::string::npos) fill_uniform(*b.value, ++seed, -0.3f, 0.3f);
        if (b.name.find("running_var") != std::string::npos) fill_uniform(*b.value, ++seed, 0.5f, 2.0f);
    }
}

struct Case {
    int64_t size, batch;
    int64_t group_floats = 0;  // 0: the engine's sample groups; small: groups of 1, 2, ... with a partial last one
};
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    return "s" + std::to_string(info.param.size) + "_n" + std::to_string(info.param.batch) +
           (info.param.group_floats ? "_groups" + std::to_string(info.param.group_floats) : "");
}

class FastPathMatchesTrainingGraph : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(FastPathMatchesTrainingGraph, EveryLogitOfB0WithTwoClasses) {
    const Case c = GetParam();
    EfficientNet net(EfficientNetConfig::variant(0, 2));
    ParameterStore store(net, Device::CPU);
    uint64_t stream = 0;
    net.reset_parameters(7, stream);
    perturb(net);

    const Shape in{c.batch, c.size, c.size, 3};
    net.setup(in, Device::CPU);
    Tensor x = Tensor::from_vector(in, random_floats(size_t(in.numel()), 31, -2.0f, 2.0f));
    Context ctx(Device::CPU);
    const std::vector<float> want = net.forward(x, RunState{Mode::EVAL, 0, 0}, ctx).to_vector();

    InferenceShape shape;
    shape.max_batch = c.batch + 1;  // planned for more than it runs
    shape.height = shape.width = c.size;
    shape.group_floats = c.group_floats;
    InferenceModel fast(net, shape);
    std::printf("plan: %s\n", fast.plan().c_str());
    std::vector<float> got(size_t(c.batch * 2) + 1, NAN);
    got.back() = -7.0f;  // guard: nothing past n * classes is written
    fast.run(x.f32(), c.batch, got.data());
    EXPECT_EQ(got.back(), -7.0f);

    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double rel = std::fabs(double(got[i]) - want[i]) / std::fabs(double(want[i]));
        worst = std::max(worst, rel);
        EXPECT_LE(rel, 1e-5) << "logit " << i << ": fast " << got[i] << ", training graph " << want[i];
    }
    std::printf("worst relative error %.3g over %zu logits (first: %g %g)\n", worst, want.size(), double(want[0]),
                double(want[1]));
    // Logits of one size, not saturated: the comparison is not vacuous.
    EXPECT_GT(std::fabs(want[0] - want[1]), 1e-3);

    // A second run (arena reused, other batch size) gives the same logits.
    std::vector<float> again(got.size(), NAN);
    fast.run(x.f32(), c.batch, again.data());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(again[i], got[i]) << "logit " << i;
}

INSTANTIATE_TEST_SUITE_P(Sizes, FastPathMatchesTrainingGraph,
                         ::testing::Values(Case{224, 1}, Case{224, 3}, Case{97, 1}, Case{97, 3}, Case{64, 2},
                                           Case{97, 5, 100000}),
                         case_name);

TEST(InferenceModel, RejectsBatchesOutsideThePlan) {
    EfficientNet net(EfficientNetConfig::variant(0, 2));
    ParameterStore store(net, Device::CPU);
    InferenceShape shape;
    shape.max_batch = 2;
    shape.height = shape.width = 32;
    InferenceModel fast(net, shape);
    std::vector<float> x(3 * 32 * 32 * 3, 0.0f), logits(6);
    EXPECT_THROW(fast.run(x.data(), 3, logits.data()), ContractError);
    EXPECT_THROW(fast.run(x.data(), 0, logits.data()), ContractError);
}
