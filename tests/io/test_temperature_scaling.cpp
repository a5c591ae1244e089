#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "io/calibration.h"
#include "io/temperature_scaling.h"
#include "tensor/error.h"

using namespace effnet;

namespace {
double sigmoid(double a) { return 1 / (1 + std::exp(-a)); }

// Seeded, platform-independent draws (std:: distributions are not portable).
struct Draws {
    std::mt19937_64 gen;
    explicit Draws(uint64_t seed) : gen(seed) {}
    double uniform() { return double(gen() >> 11) * 0x1.0p-53; }
    double normal() {
        const double u = uniform() + 0x1.0p-54, v = uniform();
        return std::sqrt(-2 * std::log(u)) * std::cos(6.283185307179586 * v);
    }
};

// Margins m ~ N(0, 3^2) from an over/under-confident model whose labels
// really follow P(1) = sigmoid(m / t_true).
void synthetic(double t_true, size_t n, uint64_t seed, std::vector<double>& m,
               std::vector<int>& y) {
    Draws d(seed);
    m.resize(n);
    y.resize(n);
    for (size_t i = 0; i < n; ++i) {
        m[i] = 3 * d.normal();
        y[i] = d.uniform() < sigmoid(m[i] / t_true) ? 1 : 0;
    }
}

// Standard error of the maximum-likelihood T from the Fisher information of
// beta = 1/T: I = sum m^2 s (1 - s), s = sigmoid(beta m); se(T) = T^2 / sqrt(I).
double temperature_se(const std::vector<double>& m, double t) {
    double info = 0;
    for (double v : m) {
        const double s = sigmoid(v / t);
        info += v * v * s * (1 - s);
    }
    return t * t / std::sqrt(info);
}
}  // namespace

TEST(TemperatureScaling, NllByHand) {
    EXPECT_NEAR(temperature_nll({0.0}, {1}, 1.0), std::log(2.0), 1e-15);
    // softplus(2/2) - 1 = ln(1 + e^-1)
    EXPECT_NEAR(temperature_nll({2.0}, {1}, 2.0), std::log1p(std::exp(-1.0)), 1e-15);
    EXPECT_NEAR(temperature_nll({2.0}, {0}, 2.0), std::log1p(std::exp(1.0)), 1e-15);
    EXPECT_NEAR(temperature_nll({800.0}, {0}, 1.0), 800.0, 1e-9);  // no overflow
    EXPECT_THROW(temperature_nll({1.0}, {1}, 0.0), ContractError);
}

// An over-confident model (T = 2) and an under-confident one (T = 0.5): the
// fit finds the temperature that generated the labels to within 4 standard
// errors of the maximum-likelihood estimate, for 20,000 samples.
TEST(TemperatureScaling, RecoversAKnownTemperature) {
    for (double t_true : {2.0, 0.5}) {
        std::vector<double> m;
        std::vector<int> y;
        synthetic(t_true, 20000, 7, m, y);
        const TemperatureFit fit = fit_temperature(m, y);
        const double se = temperature_se(m, t_true);
        EXPECT_NEAR(fit.temperature, t_true, 4 * se) << "T_true " << t_true << ", se " << se;
        EXPECT_LT(se, 0.03 * t_true);  // the check above is a tight one
        EXPECT_FALSE(fit.at_bracket_edge);
        EXPECT_LT(fit.nll_after, fit.nll_before);
        EXPECT_NEAR(fit.nll_after, temperature_nll(m, y, fit.temperature), 1e-15);
        EXPECT_GT(fit.evaluations, 20);
        EXPECT_LT(fit.evaluations, 60);
    }
}

// The fitted T is the minimum: its neighbours, near and far, and the true T
// (which is not the sample's maximum-likelihood value) all have a higher NLL.
TEST(TemperatureScaling, FittedNllIsMinimal) {
    std::vector<double> m;
    std::vector<int> y;
    synthetic(1.7, 5000, 11, m, y);
    const TemperatureFit fit = fit_temperature(m, y);
    const double t = fit.temperature, best = temperature_nll(m, y, t);
    for (double f : {1.0 - 1e-3, 1.0 + 1e-3, 0.98, 1.02, 0.8, 1.25})
        EXPECT_LT(best, temperature_nll(m, y, t * f)) << "factor " << f;
    EXPECT_LE(best, temperature_nll(m, y, 1.7));
    // The minimum is flat to first order: halving the bracket width moves
    // the NLL by far less than a 0.1% step does.
    const double step = temperature_nll(m, y, t * 1.001) - best;
    EXPECT_LT(std::fabs(temperature_nll(m, y, t * (1 + 1e-6)) - best), step * 1e-3);
}

// A two-class softmax head gives the same probabilities, and so the same fit,
// as a single BCE logit equal to z1 - z0.
TEST(TemperatureScaling, SoftmaxAndBinaryLogitsAgree) {
    std::vector<double> m;
    std::vector<int> y;
    synthetic(1.5, 3000, 3, m, y);
    Draws d(5);
    std::vector<float> one, two;
    for (double v : m) {
        const float z0 = float(2 * d.normal());
        one.push_back(float(v));
        two.push_back(z0);
        two.push_back(z0 + float(v));
    }
    const std::vector<double> m1 = logit_margins(one, 1), m2 = logit_margins(two, 2);
    ASSERT_EQ(m1.size(), m.size());
    ASSERT_EQ(m2.size(), m.size());
    for (size_t i = 0; i < m.size(); ++i) EXPECT_NEAR(m2[i], m1[i], 1e-5 * (1 + std::fabs(m1[i])));
    const double t1 = fit_temperature(m1, y).temperature, t2 = fit_temperature(m2, y).temperature;
    EXPECT_NEAR(t1, t2, 1e-4);
    EXPECT_NEAR(t1, 1.5, 4 * temperature_se(m, 1.5));
}

TEST(TemperatureScaling, MarginsAndApply) {
    EXPECT_EQ(logit_margins({1.0f, 3.0f, 2.0f, -1.0f}, 2), (std::vector<double>{2.0, -3.0}));
    EXPECT_EQ(logit_margins({0.5f, -2.0f}, 1), (std::vector<double>{0.5, -2.0}));
    EXPECT_THROW(logit_margins({1.0f, 2.0f, 3.0f}, 2), ContractError);
    EXPECT_THROW(logit_margins({1.0f, 2.0f, 3.0f}, 3), ContractError);
    const std::vector<double> p = apply_temperature({2.0, -2.0, 0.0}, 2.0);
    EXPECT_NEAR(p[0], sigmoid(1.0), 1e-15);
    EXPECT_NEAR(p[1], sigmoid(-1.0), 1e-15);
    EXPECT_EQ(p[2], 0.5);
    const std::vector<double> back =
        margins_from_probabilities(apply_temperature({-3.0, 0.5, 4.0}, 1.0));
    EXPECT_NEAR(back[0], -3.0, 1e-12);
    EXPECT_NEAR(back[1], 0.5, 1e-12);
    EXPECT_NEAR(back[2], 4.0, 1e-12);
    EXPECT_NEAR(margins_from_probabilities({1.0})[0], std::log((1 - 1e-7) / 1e-7), 1e-6);
}

// Separated classes want T -> 0 (sharper is always better): the fit stops at
// the bracket and says so. Margins that are all zero carry no information.
TEST(TemperatureScaling, DegenerateCasesAreFlagged) {
    const TemperatureFit sep = fit_temperature({-2.0, -1.0, 1.0, 3.0}, {0, 0, 1, 1});
    EXPECT_TRUE(sep.at_bracket_edge);
    EXPECT_NEAR(sep.temperature, 0.01, 0.01 * 1e-5);
    const TemperatureFit flat = fit_temperature({0.0, 0.0}, {0, 1});
    EXPECT_TRUE(flat.at_bracket_edge);
    EXPECT_EQ(flat.temperature, 1.0);
    EXPECT_NEAR(flat.nll_after, std::log(2.0), 1e-15);
    EXPECT_THROW(fit_temperature({}, {}), ContractError);
    EXPECT_THROW(fit_temperature({1.0}, {3}), ContractError);
}

// Scaling an over-confident model's margins by the fitted T lowers its ECE;
// AUROC-relevant order is unchanged because sigmoid(m / T) is monotone in m.
TEST(TemperatureScaling, ScalingImprovesCalibration) {
    std::vector<double> m;
    std::vector<int> y;
    synthetic(2.5, 20000, 19, m, y);
    const double t = fit_temperature(m, y).temperature;
    const CalibrationReport before = calibration_report(apply_temperature(m, 1.0), y);
    const CalibrationReport after = calibration_report(apply_temperature(m, t), y);
    EXPECT_LT(after.ece, 0.5 * before.ece);
    EXPECT_LT(after.brier, before.brier);
    EXPECT_LT(after.ece, 0.02);
}
