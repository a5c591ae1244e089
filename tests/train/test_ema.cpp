// The weight average of --ema (train/ema.h): its update formula on every
// parameter and batch-norm buffer, the exact swap with the model, and the
// names of the tensors it writes.
#include <gtest/gtest.h>

#include <set>

#include "common/gradcheck.h"
#include "train/ema.h"

using namespace effnet;
using namespace effnet::test;

namespace {
ModelSpec tiny_spec() {
    ModelSpec s;
    s.image_size = 32;
    return s;
}

std::vector<NamedBuffer> buffers_of(Model& m) {
    std::vector<NamedBuffer> b;
    m.net->collect_buffers("", b);
    return b;
}

void set_values(Tensor& t, const std::vector<float>& v) {
    t.copy_from(Tensor::from_vector(t.shape(), v));
}

std::vector<float> float_buffer(const NamedBuffer& b) { return b.value->to_vector(); }
}  // namespace

TEST(WeightEma, UpdateIsTheExponentialAverageOfWeightsAndBatchNormStatistics) {
    Model m(tiny_spec(), Device::CPU, 3);
    Context ctx;
    const double decay = 0.75;
    WeightEma ema(m, decay);
    const std::vector<float> w0 = m.store->values().to_vector();
    std::vector<NamedBuffer> bufs = buffers_of(m);
    const NamedBuffer* mean = nullptr;
    const NamedBuffer* counter = nullptr;
    for (const NamedBuffer& b : bufs) {
        if (!mean && b.name.find("running_mean") != std::string::npos) mean = &b;
        if (!counter && b.name.find("num_batches_tracked") != std::string::npos) counter = &b;
    }
    ASSERT_TRUE(mean && counter);
    const std::vector<float> mean0 = float_buffer(*mean);

    // Two steps of new weights w1, w2 and new statistics: the average must be
    // d^2 w0 + d(1-d) w1 + (1-d) w2, element by element.
    const std::vector<float> w1 = random_floats(w0.size(), 11), w2 = random_floats(w0.size(), 12);
    const std::vector<float> m1 = random_floats(mean0.size(), 13),
                             m2 = random_floats(mean0.size(), 14);
    set_values(m.store->values(), w1);
    set_values(*mean->value, m1);
    static_cast<int64_t*>(counter->value->raw())[0] = 7;
    ema.update(1000, ctx);  // past the warm-up: d_t = decay
    set_values(m.store->values(), w2);
    set_values(*mean->value, m2);
    static_cast<int64_t*>(counter->value->raw())[0] = 9;
    ema.update(1001, ctx);

    ema.swap_with_model();  // the model now holds the average
    const std::vector<float> avg = m.store->values().to_vector(), avg_mean = float_buffer(*mean);
    const double d = decay;
    for (size_t i = 0; i < w0.size(); i += 97) {
        const double want = d * d * w0[i] + d * (1 - d) * w1[i] + (1 - d) * w2[i];
        ASSERT_NEAR(avg[i], want, 1e-6 * (1 + std::fabs(want))) << "parameter element " << i;
    }
    for (size_t i = 0; i < mean0.size(); ++i) {
        const double want = d * d * mean0[i] + d * (1 - d) * m1[i] + (1 - d) * m2[i];
        ASSERT_NEAR(avg_mean[i], want, 1e-6 * (1 + std::fabs(want)))
            << "running_mean element " << i;
    }
    EXPECT_EQ(static_cast<int64_t*>(counter->value->raw())[0], 9)
        << "integer buffers are copied, not averaged";

    ema.swap_with_model();  // and back, exactly
    EXPECT_EQ(m.store->values().to_vector(), w2);
    EXPECT_EQ(float_buffer(*mean), m2);
}

TEST(WeightEma, WarmupFollowsTheWeightsFirstThenReachesTheDecay) {
    // d_t = min(decay, (1 + t) / (10 + t))
    EXPECT_DOUBLE_EQ(WeightEma::decay_at(0.995, 0), 0.1);
    EXPECT_DOUBLE_EQ(WeightEma::decay_at(0.995, 90), 0.91);
    EXPECT_DOUBLE_EQ(WeightEma::decay_at(0.995, 1789), 1790.0 / 1799.0);
    EXPECT_DOUBLE_EQ(WeightEma::decay_at(0.995, 1790), 0.995);  // 1791 / 1800 = 0.995
    EXPECT_DOUBLE_EQ(WeightEma::decay_at(0.995, 100000), 0.995);
    EXPECT_DOUBLE_EQ(WeightEma::decay_at(0.05, 0), 0.05);
    // The end of the warm-up: the first step at the decay itself.
    EXPECT_EQ(WeightEma::warmup_steps(0.995), 1790);
    EXPECT_EQ(WeightEma::warmup_steps(0.998), 4490);  // 4491 / 4500 = 0.998
    EXPECT_EQ(WeightEma::warmup_steps(0.05), 0);
    for (double d : {0.5, 0.9, 0.99, 0.997, 0.998, 0.999, 0.9999}) {
        const int64_t w = WeightEma::warmup_steps(d);
        EXPECT_EQ(WeightEma::decay_at(d, w), d) << d;
        EXPECT_LT(WeightEma::decay_at(d, w - 1), d) << d;
    }
    // The first update of a fresh average: 0.1 of the old weights, 0.9 of the new.
    Model m(tiny_spec(), Device::CPU, 6);
    Context ctx;
    WeightEma ema(m, 0.999);
    const std::vector<float> w0 = m.store->values().to_vector(), w1 = random_floats(w0.size(), 31);
    set_values(m.store->values(), w1);
    ema.update(0, ctx);
    ema.swap_with_model();
    const std::vector<float> avg = m.store->values().to_vector();
    for (size_t i = 0; i < w0.size(); i += 101) {
        const double want = 0.1 * w0[i] + 0.9 * w1[i];
        ASSERT_NEAR(avg[i], want, 1e-6 * (1 + std::fabs(want))) << i;
    }
}

TEST(WeightEma, DecayZeroFollowsTheModelAndBadDecaysAreRefused) {
    Model m(tiny_spec(), Device::CPU, 4);
    Context ctx;
    WeightEma ema(m, 0.0);
    const std::vector<float> w = random_floats(size_t(m.store->count()), 21);
    set_values(m.store->values(), w);
    ema.update(5, ctx);
    set_values(m.store->values(), random_floats(w.size(), 22));
    ema.swap_with_model();
    EXPECT_EQ(m.store->values().to_vector(), w);
    EXPECT_THROW(WeightEma(m, 1.0), ContractError);
    EXPECT_THROW(WeightEma(m, -0.1), ContractError);
}

TEST(WeightEma, ViewsCarryEveryModelTensorUnderThePrefix) {
    Model m(tiny_spec(), Device::CPU, 5);
    WeightEma ema(m, 0.9);
    std::vector<Tensor> keep;
    std::vector<SafetensorsView> views = ema.tensor_views("optimizer.raw.", keep);
    std::vector<NamedParam> params;
    m.net->collect_params("", params);
    std::set<std::string> names;
    for (const SafetensorsView& v : views) names.insert(v.name);
    for (const NamedParam& p : params)
        EXPECT_TRUE(names.count("optimizer.raw." + p.name)) << p.name;
    for (const NamedBuffer& b : buffers_of(m))
        EXPECT_TRUE(names.count("optimizer.raw." + b.name)) << b.name;
    EXPECT_EQ(views.size(), params.size() + buffers_of(m).size());
    // A view holds the parameter's values in its shape.
    const NamedParam& first = params.front();
    const SafetensorsView& v = views.front();
    EXPECT_EQ(Shape(v.shape), first.value.shape());
    EXPECT_EQ(static_cast<const float*>(v.data)[0], first.value.to_vector()[0]);
}
