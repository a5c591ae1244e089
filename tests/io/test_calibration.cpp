#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "io/calibration.h"
#include "io/plot.h"
#include "tensor/error.h"

using namespace effnet;

namespace {
// Ten samples worked by hand with 15 bins of width 1/15 (no value on an edge):
//   p     y   top-label conf / correct   bin (top)   bin (positive class)
//   0.90  1   0.90 yes                   13          13
//   0.90  1   0.90 yes                   13          13
//   0.90  0   0.90 no                    13          13
//   0.25  0   0.75 yes                   11           3
//   0.25  1   0.75 no                    11           3
//   0.65  1   0.65 yes                    9           9
//   0.55  0   0.55 no                     8           8
//   0.05  0   0.95 yes                   14           0
//   0.48  1   0.52 no  (predicted 0)      7           7
//   0.52  1   0.52 yes                    7           7
// Top-label ECE = [3|2/3 - .9| + 2|.5 - .75| + |1 - .65| + |0 - .55| + |1 - .95|
//                  + 2|.5 - .52|] / 10 = (0.7 + 0.5 + 0.35 + 0.55 + 0.05 + 0.04) / 10 = 0.219.
// Positive-class ECE: the same except bin 7 (mean p 0.5, fraction of positives
// 1): 2|1 - .5| = 1.0, so (2.15 + 1.0) / 10 = 0.315.
// Brier = [2(.1)^2 + .9^2 + .25^2 + .75^2 + .35^2 + .55^2 + .05^2 + .52^2 + .48^2] / 10
//       = 2.3833 / 10 = 0.23833.
void hand_case(std::vector<double>& p, std::vector<int>& y) {
    p = {0.90, 0.90, 0.90, 0.25, 0.25, 0.65, 0.55, 0.05, 0.48, 0.52};
    y = {1, 1, 0, 0, 1, 1, 0, 0, 1, 1};
}
}  // namespace

TEST(Calibration, EceAndBrierOnAHandComputedCase) {
    std::vector<double> p;
    std::vector<int> y;
    hand_case(p, y);
    const CalibrationReport r = calibration_report(p, y);
    EXPECT_EQ(r.n, 10);
    EXPECT_EQ(r.bins, 15);
    EXPECT_NEAR(r.ece, 0.219, 1e-12);
    EXPECT_NEAR(r.ece_positive_class, 0.315, 1e-12);
    EXPECT_NEAR(r.brier, 0.23833, 1e-12);
}

TEST(Calibration, ReliabilityBinsHoldTheHandComputedMeans) {
    std::vector<double> p;
    std::vector<int> y;
    hand_case(p, y);
    const auto top = reliability_bins(p, y, CalibrationTarget::TOP_LABEL);
    const auto pos = reliability_bins(p, y, CalibrationTarget::POSITIVE_CLASS);
    ASSERT_EQ(top.size(), 15u);
    EXPECT_EQ(top[13].count, 3);
    EXPECT_NEAR(top[13].mean_confidence, 0.9, 1e-12);
    EXPECT_NEAR(top[13].observed, 2.0 / 3, 1e-12);
    EXPECT_EQ(top[11].count, 2);
    EXPECT_NEAR(top[11].mean_confidence, 0.75, 1e-12);
    EXPECT_NEAR(top[11].observed, 0.5, 1e-12);
    EXPECT_EQ(top[7].count, 2);
    EXPECT_NEAR(top[7].mean_confidence, 0.52, 1e-12);
    EXPECT_EQ(top[3].count, 0);  // top-label confidences are >= 0.5
    EXPECT_TRUE(std::isnan(top[3].mean_confidence));
    EXPECT_EQ(pos[3].count, 2);
    EXPECT_NEAR(pos[3].mean_confidence, 0.25, 1e-12);
    EXPECT_NEAR(pos[3].observed, 0.5, 1e-12);
    EXPECT_EQ(pos[0].count, 1);
    EXPECT_NEAR(pos[7].observed, 1.0, 1e-12);
    EXPECT_NEAR(pos[2].lo, 2.0 / 15, 1e-15);
    EXPECT_NEAR(pos[2].hi, 3.0 / 15, 1e-15);
    int64_t total = 0;
    for (const auto& b : pos) total += b.count;
    EXPECT_EQ(total, 10);
}

// Bins are (k/M, (k+1)/M]: an edge value belongs to the bin below it, and 0
// to the first bin.
TEST(Calibration, BinEdgesBelongToTheLowerBin) {
    std::vector<double> p;
    for (int k = 0; k <= 15; ++k) p.push_back(double(k) / 15);
    const std::vector<int> y(p.size(), 1);
    const auto bins = reliability_bins(p, y, CalibrationTarget::POSITIVE_CLASS);
    EXPECT_EQ(bins[0].count, 2);  // 0 and 1/15
    for (int k = 1; k < 15; ++k) EXPECT_EQ(bins[size_t(k)].count, 1) << "bin " << k;
    EXPECT_NEAR(bins[14].mean_confidence, 1.0, 1e-15);  // 15/15 in the last bin
    // The double just above 11/15 times 15 rounds down to 11: still bin 11.
    const double above = std::nextafter(11.0 / 15, 1.0);
    const auto edge =
        reliability_bins({11.0 / 15, above}, {1, 1}, CalibrationTarget::POSITIVE_CLASS);
    EXPECT_EQ(edge[10].count, 1);
    EXPECT_EQ(edge[11].count, 1);
}

// p = 0.5 is predicted positive (as binary_report's threshold 0.5 does), so
// for the top label it is correct when the label is 1.
TEST(Calibration, HalfIsPredictedPositive) {
    const auto bins = reliability_bins({0.5, 0.5, 0.5}, {1, 1, 0}, CalibrationTarget::TOP_LABEL);
    EXPECT_EQ(bins[7].count, 3);
    EXPECT_NEAR(bins[7].observed, 2.0 / 3, 1e-15);
}

TEST(Calibration, PerfectlyCalibratedBinsGiveZeroEce) {
    // In bin (0.2, 0.2667]: p = 0.25 for 4 samples, 1 positive -> observed 0.25.
    const std::vector<double> p = {0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75};
    const std::vector<int> y = {1, 0, 0, 0, 1, 1, 1, 0};
    const CalibrationReport r = calibration_report(p, y);
    EXPECT_NEAR(r.ece, 0.0, 1e-15);
    EXPECT_NEAR(r.ece_positive_class, 0.0, 1e-15);
    EXPECT_NEAR(r.brier, (0.75 * 0.75 + 3 * 0.0625) * 2 / 8, 1e-15);
}

TEST(Calibration, LogLossAndItsClamp) {
    EXPECT_NEAR(mean_log_loss({0.5, 0.5}, {0, 1}), std::log(2.0), 1e-15);
    EXPECT_NEAR(mean_log_loss({0.8, 0.1}, {1, 0}), -(std::log(0.8) + std::log(0.9)) / 2, 1e-15);
    EXPECT_NEAR(mean_log_loss({0.0}, {1}), -std::log(1e-15), 1e-9);  // finite, not inf
}

TEST(Calibration, BadInputIsRejected) {
    EXPECT_THROW(brier_score({0.5, 0.5}, {1}), ContractError);
    EXPECT_THROW(brier_score({1.5}, {1}), ContractError);
    EXPECT_THROW(brier_score({NAN}, {1}), ContractError);
    EXPECT_THROW(brier_score({0.5}, {2}), ContractError);
    EXPECT_THROW(calibration_report({}, {}), ContractError);
    EXPECT_THROW(reliability_bins({0.5}, {1}, CalibrationTarget::TOP_LABEL, 0), ContractError);
}

namespace {
bool orange(const Canvas& c, int i, int j) {
    const uint8_t* px = &c.rgb()[(size_t(j) * size_t(c.width()) + size_t(i)) * 3];
    return px[0] == 255 && px[1] == 127 && px[2] == 14;
}

// Centre (mean column, mean row) of the orange pixels of `c` that are not
// orange in `blank` (the same report with every bin empty, which keeps the
// legend), i.e. of the bin markers and the line joining them.
bool marker_centre(const CalibrationReport& r, double& x, double& y) {
    CalibrationReport empty = r;
    for (auto& b : empty.positive_class) b.count = 0;
    const Canvas c = reliability_diagram(r), blank = reliability_diagram(empty);
    double sx = 0, sy = 0, n = 0;
    for (int j = 0; j < c.height(); ++j)
        for (int i = 0; i < c.width(); ++i)
            if (orange(c, i, j) && !orange(blank, i, j)) sx += i, sy += j, n += 1;
    if (n == 0) return false;
    x = sx / n;
    y = sy / n;
    return true;
}
}  // namespace

// The diagram puts the bin means where the data say: a bin that is more often
// positive is drawn higher, one with a higher mean probability further right.
// The plot area is 480 px for 1.0 on either axis.
TEST(ReliabilityDiagram, MarkersFollowTheBins) {
    const CalibrationReport low = calibration_report({0.3, 0.3, 0.3, 0.3}, {0, 0, 0, 1});
    const CalibrationReport high = calibration_report({0.3, 0.3, 0.3, 0.3}, {1, 1, 1, 0});
    const CalibrationReport right = calibration_report({0.8, 0.8, 0.8, 0.8}, {0, 0, 0, 1});
    double xl, yl, xh, yh, xr, yr;
    ASSERT_TRUE(marker_centre(low, xl, yl));
    ASSERT_TRUE(marker_centre(high, xh, yh));
    ASSERT_TRUE(marker_centre(right, xr, yr));
    EXPECT_NEAR(yl - yh, 0.5 * 480, 2.0);  // observed 0.75 against 0.25
    EXPECT_NEAR(xh, xl, 1.0);
    EXPECT_NEAR(xr - xl, 0.5 * 480, 2.0);  // mean p 0.8 against 0.3
}

TEST(ReliabilityDiagram, WritesAPng) {
    const std::string path = ::testing::TempDir() + "reliability_test.png";
    draw_reliability_diagram(calibration_report({0.2, 0.7, 0.9}, {0, 1, 1}), path);
    FILE* f = std::fopen(path.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    unsigned char sig[8] = {};
    EXPECT_EQ(std::fread(sig, 1, 8, f), 8u);
    std::fclose(f);
    EXPECT_EQ(sig[1], 'P');
    EXPECT_EQ(sig[2], 'N');
    EXPECT_EQ(sig[3], 'G');
    std::remove(path.c_str());
}
