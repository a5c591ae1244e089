// The inference fast path against the training graph in EVAL mode and both
// against a double-precision forward written from the definition
// (infer/double_reference.h): same weights (random, batch-norm statistics of
// real activations, so that folding matters and the logits depend on the
// image), same images, every logit and every head activation.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <ostream>
#include <string>

#include "common/gradcheck.h"
#include "common/trained_like.h"
#include "infer/double_reference.h"
#include "infer/inference_model.h"
#include "layers/parameters.h"

using namespace effnet;
using namespace effnet::test;

namespace {

struct Case {
    int64_t size, batch;
    // 0: the engine's sample groups; small: groups of 1, 2, ... with a partial last one.
    int64_t group_floats = 0;
};
std::string describe(const Case& c) {
    return "s" + std::to_string(c.size) + "_n" + std::to_string(c.batch) +
           (c.group_floats ? "_groups" + std::to_string(c.group_floats) : "");
}
void PrintTo(const Case& c, std::ostream* os) { *os << describe(c); }
std::string case_name(const ::testing::TestParamInfo<Case>& info) { return describe(info.param); }

class FastPathMatchesTrainingGraph : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(FastPathMatchesTrainingGraph, EveryLogitOfB0WithTwoClasses) {
    const Case c = GetParam();
    const Shape in{c.batch, c.size, c.size, 3};
    // Images of different contrast and brightness.
    std::vector<float> pixels = random_floats(size_t(in.numel()), 31, -2.0f, 2.0f);
    const int64_t per_image = in.numel() / c.batch;
    for (int64_t i = 0; i < c.batch; ++i)
        for (int64_t j = 0; j < per_image; ++j) {
            float& v = pixels[size_t(i * per_image + j)];
            v = v * (0.4f + 0.9f * float(i % 3)) + 0.6f * float(i % 2) - 0.3f * float(i % 4);
        }
    Tensor x = Tensor::from_vector(in, pixels);
    EfficientNet net(trained_like_config(EfficientNetConfig::variant(0, 2)));
    ParameterStore store(net, Device::CPU);
    make_trained_like(net, x);

    Context ctx(Device::CPU);
    const std::vector<float> graph = net.forward(x, RunState{Mode::EVAL, 0, 0}, ctx).to_vector();
    const std::vector<float> graph_head = net.head_features().to_vector();
    const DoubleForward truth = DoubleReference(net).forward(x.f32(), c.batch, c.size, c.size);

    InferenceShape shape;
    shape.max_batch = c.batch + 1;  // planned for more than it runs
    shape.height = shape.width = c.size;
    shape.group_floats = c.group_floats;
    InferenceModel fast(net, shape);
    std::printf("plan: %s\n", fast.plan().c_str());
    std::vector<float> got(graph.size() + 1, NAN), head(truth.head.size() + 1, NAN);
    got.back() = head.back() = -7.0f;  // guards: nothing past n samples is written
    fast.run(x.f32(), c.batch, got.data(), head.data());
    EXPECT_EQ(got.back(), -7.0f);
    EXPECT_EQ(head.back(), -7.0f);
    ASSERT_EQ(fast.head_height() * fast.head_width() * fast.head_channels() * c.batch,
              int64_t(truth.head.size()));

    // Every logit, fast path against the training graph and both against the
    // double-precision truth, within 1e-5 of the logit's scale (the size of
    // the terms the classifier sums: a logit near zero is a cancellation, and
    // float32 rounding in the features moves it by the same absolute amount
    // as any other). Plain relative errors are printed beside.
    double fast_graph = 0, fast_truth = 0, graph_truth = 0, worst_scaled = 0;
    for (size_t i = 0; i < graph.size(); ++i) {
        const double t = truth.logits[i], tol = 1e-5 * truth.logit_scale[i];
        EXPECT_LE(std::fabs(double(got[i]) - graph[i]), tol)
            << "logit " << i << ": fast " << got[i] << ", graph " << graph[i];
        EXPECT_LE(std::fabs(double(got[i]) - t), tol)
            << "logit " << i << ": fast " << got[i] << ", double " << t;
        EXPECT_LE(std::fabs(double(graph[i]) - t), tol)
            << "logit " << i << ": graph " << graph[i] << ", double " << t;
        fast_graph = std::max(fast_graph,
                              std::fabs(double(got[i]) - graph[i]) / std::fabs(double(graph[i])));
        fast_truth = std::max(fast_truth, std::fabs(got[i] - t) / std::fabs(t));
        graph_truth = std::max(graph_truth, std::fabs(graph[i] - t) / std::fabs(t));
        worst_scaled = std::max(worst_scaled, std::fabs(got[i] - t) / truth.logit_scale[i]);
    }
    std::printf(
        "logits: worst relative difference fast/graph %.3g, fast/double %.3g, graph/double %.3g; "
        "fast/double over the logit scale %.3g\n",
        fast_graph, fast_truth, graph_truth, worst_scaled);

    // The head activations, element by element (what the pool and Grad-CAM
    // see), against the RMS of the truth's: after sixteen float32 blocks the
    // worst element of either path is off by up to 4e-4 of the RMS and the
    // normalised RMS error is up to 2.4e-5 (measured on these cases; the
    // training graph's errors are as large as the fast path's), so the bounds
    // are 1e-3 and 5e-5.
    double sq = 0;
    for (double v : truth.head) sq += v * v;
    const double rms = std::sqrt(sq / double(truth.head.size()));
    struct HeadError {
        double worst, normalised_rms;
    };
    auto head_error = [&](const std::vector<float>& h, const char* who) {
        double worst = 0, err_sq = 0;
        size_t at = 0;
        for (size_t i = 0; i < truth.head.size(); ++i) {
            const double e = std::fabs(h[i] - truth.head[i]);
            err_sq += e * e;
            if (e > worst) worst = e, at = i;
        }
        const HeadError r{worst / rms, std::sqrt(err_sq / sq)};
        EXPECT_LE(r.worst, 1e-3) << who << " head activation " << at << ": " << h[at] << ", double "
                                 << truth.head[at];
        EXPECT_LE(r.normalised_rms, 5e-5) << who << " head activations";
        return r;
    };
    const HeadError hf = head_error(head, "fast"), hg = head_error(graph_head, "graph");
    std::printf(
        "head activations (RMS %.3g): worst error / RMS fast %.3g, graph %.3g; normalised RMS "
        "error fast %.3g, "
        "graph %.3g\n",
        rms, hf.worst, hg.worst, hf.normalised_rms, hg.normalised_rms);

    // Not vacuous: the images' logits differ by far more than the tolerance.
    for (size_t i = 2; i < graph.size(); ++i)
        EXPECT_GT(std::fabs(truth.logits[i] - truth.logits[i % 2]),
                  100 * 1e-5 * truth.logit_scale[i])
            << "logit " << i;

    // The arena is reused: a run of the first image alone, then the whole
    // batch again (the same logits, bit for bit).
    std::vector<float> first(2, NAN);
    fast.run(x.f32(), 1, first.data());
    for (size_t i = 0; i < 2; ++i)
        EXPECT_LE(std::fabs(double(first[i]) - truth.logits[i]), 1e-5 * truth.logit_scale[i])
            << "batch-1 logit " << i;
    std::vector<float> again(got.size(), NAN);
    fast.run(x.f32(), c.batch, again.data());
    for (size_t i = 0; i < graph.size(); ++i) EXPECT_EQ(again[i], got[i]) << "logit " << i;
}

INSTANTIATE_TEST_SUITE_P(Sizes, FastPathMatchesTrainingGraph,
                         ::testing::Values(Case{224, 1}, Case{224, 2}, Case{97, 1}, Case{97, 3},
                                           Case{64, 2}, Case{97, 5, 100000}),
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
