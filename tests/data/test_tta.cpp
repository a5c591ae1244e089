// Test-time views (data/augment.h): fixed, deterministic, small zooms and
// shifts, never a flip.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "data/augment.h"
#include "tensor/error.h"

using namespace effnet;

namespace {
constexpr int kSide = 32, kChannels = 3;

// A horizontal ramp in channel 0, a vertical one in channel 1, a bright
// square in the upper left of channel 2.
std::vector<float> test_image() {
    std::vector<float> img(size_t(kSide) * kSide * kChannels);
    for (int y = 0; y < kSide; ++y)
        for (int x = 0; x < kSide; ++x) {
            float* px = &img[(size_t(y) * kSide + size_t(x)) * kChannels];
            px[0] = float(x);
            px[1] = float(y);
            px[2] = x >= 4 && x < 10 && y >= 4 && y < 10 ? 1.0f : 0.0f;
        }
    return img;
}

std::vector<float> view_of(const std::vector<float>& src, int view) {
    std::vector<float> dst(src.size(), NAN);
    const float fill[3] = {-1, -2, -3};
    apply_view(src.data(), dst.data(), kSide, kSide, kChannels, fill, tta_view(view));
    return dst;
}

float at(const std::vector<float>& img, int x, int y, int c) {
    return img[(size_t(y) * kSide + size_t(x)) * kChannels + size_t(c)];
}

// Centre of mass of channel 2 along x.
double blob_x(const std::vector<float>& img) {
    double s = 0, sx = 0;
    for (int y = 0; y < kSide; ++y)
        for (int x = 0; x < kSide; ++x) {
            s += at(img, x, y, 2);
            sx += at(img, x, y, 2) * x;
        }
    return sx / s;
}
}  // namespace

TEST(TestTimeViews, ViewZeroIsTheImageAndEveryViewIsDeterministic) {
    const std::vector<float> img = test_image();
    EXPECT_EQ(view_of(img, 0), img);
    for (int v = 0; v < kMaxTtaViews; ++v) {
        const std::vector<float> a = view_of(img, v), b = view_of(img, v);
        EXPECT_EQ(a, b) << "view " << v;
        for (float x : a)
            ASSERT_TRUE(std::isfinite(x)) << "view " << v << " left a pixel unwritten";
    }
}

TEST(TestTimeViews, ViewsAreDistinctSmallZoomsAndShiftsWithoutFlips) {
    const std::vector<float> img = test_image();
    std::set<std::vector<float>> seen;
    for (int v = 0; v < kMaxTtaViews; ++v) {
        const ViewTransform t = tta_view(v);
        EXPECT_GE(t.zoom, 1.0) << "view " << v << ": zooming out would show the border";
        EXPECT_LE(t.zoom, 1.12) << "view " << v;
        EXPECT_LE(std::fabs(t.dx), 0.03) << "view " << v;
        EXPECT_LE(std::fabs(t.dy), 0.03) << "view " << v;
        // The content never leaves the frame: the view stays inside the image.
        EXPECT_LE(0.5 / t.zoom + std::max(std::fabs(t.dx), std::fabs(t.dy)), 0.5 + 1e-12)
            << "view " << v;
        const std::vector<float> out = view_of(img, v);
        EXPECT_TRUE(seen.insert(out).second) << "view " << v << " repeats an earlier view";
        // No flip: the horizontal ramp still rises to the right, the vertical
        // one downwards, and the square stays in the upper left.
        EXPECT_LT(at(out, 2, 16, 0), at(out, 29, 16, 0)) << "view " << v;
        EXPECT_LT(at(out, 16, 2, 1), at(out, 16, 29, 1)) << "view " << v;
        EXPECT_LT(blob_x(out), kSide / 2.0) << "view " << v;
    }
    EXPECT_THROW(tta_view(kMaxTtaViews), ContractError);
    EXPECT_THROW(tta_view(-1), ContractError);
}

TEST(TestTimeViews, ZoomAndShiftMoveTheContentAsStated) {
    const std::vector<float> img = test_image();
    std::vector<float> dst(img.size());
    const float fill[3] = {0, 0, 0};
    // A zoom of 2 about the centre: the ramp's slope doubles and its centre stays.
    apply_view(img.data(), dst.data(), kSide, kSide, kChannels, fill, ViewTransform{2.0, 0, 0});
    EXPECT_NEAR(at(dst, 20, 16, 0) - at(dst, 19, 16, 0), 0.5, 1e-5);
    EXPECT_NEAR(at(dst, 16, 16, 0) + at(dst, 15, 16, 0), 31.0, 1e-4);
    // A shift of the content by +1/8 of the side (4 pixels) to the right.
    apply_view(img.data(), dst.data(), kSide, kSide, kChannels, fill, ViewTransform{1.0, 0.125, 0});
    EXPECT_NEAR(at(dst, 20, 16, 0), 16.0f, 1e-4);
    EXPECT_NEAR(blob_x(dst), blob_x(img) + 4, 1e-3);
    EXPECT_EQ(at(dst, 1, 16, 0), 0.0f) << "outside the source: the fill value";
}
