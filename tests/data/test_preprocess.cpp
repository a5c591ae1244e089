#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "common/gradcheck.h"
#include "data/augment.h"
#include "data/phantom.h"
#include "data/preprocess.h"

using namespace effnet;

namespace {
GreyImage make(int w, int h, std::function<int(int, int)> f) {
    GreyImage g;
    g.width = w;
    g.height = h;
    g.pixels.resize(size_t(w) * h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) g.pixels[size_t(y) * w + x] = uint8_t(f(x, y));
    return g;
}
}  // namespace

TEST(HistogramEqualization, MonotoneFullRangeAndNearUniformCdf) {
    // A dark, low-contrast image: values 40..71, skewed towards the low end.
    GreyImage img = make(64, 64, [](int x, int y) { return 40 + ((x * y) % 1024) / 32; });
    GreyImage eq = equalize_histogram(img);
    int lo = 255, hi = 0;
    for (size_t i = 0; i < img.pixels.size(); ++i) {
        lo = std::min<int>(lo, eq.pixels[i]);
        hi = std::max<int>(hi, eq.pixels[i]);
        for (size_t j : {size_t(0), size_t(777), size_t(2047)}) {
            if (img.pixels[i] < img.pixels[j]) {
                EXPECT_LE(eq.pixels[i], eq.pixels[j]) << "not monotone";
            }
        }
    }
    EXPECT_EQ(lo, 0);
    EXPECT_EQ(hi, 255);
    // CDF of the output is close to the identity: at value v, about v/255 of
    // the pixels are <= v, up to the mass of one input level (levels cannot be split).
    std::vector<int> hist(256, 0), in_hist(256, 0);
    for (uint8_t v : eq.pixels) ++hist[v];
    for (uint8_t v : img.pixels) ++in_hist[v];
    const double level_mass =
        double(*std::max_element(in_hist.begin(), in_hist.end())) / img.pixels.size();
    int64_t cum = 0;
    double worst = 0;
    for (int v = 0; v < 256; ++v) {
        cum += hist[v];
        if (hist[v]) worst = std::max(worst, std::fabs(double(cum) / eq.pixels.size() - v / 255.0));
    }
    EXPECT_LE(worst, level_mass + 1.0 / 255);
    EXPECT_LT(level_mass, 0.1);  // the bound above is meaningful
}

TEST(HistogramEqualization, ConstantImageUnchanged) {
    GreyImage img = make(5, 3, [](int, int) { return 90; });
    EXPECT_EQ(equalize_histogram(img).pixels, img.pixels);
}

TEST(Clahe, StaysInRangeAndRaisesLocalContrast) {
    // Left half dark and flat-ish, right half bright and flat-ish.
    GreyImage img = make(64, 64, [](int x, int y) { return (x < 32 ? 30 : 200) + (x + y) % 7; });
    GreyImage out = clahe(img, 4, 4, 2.0);
    auto local_std = [](const GreyImage& g, int x0) {
        double s = 0, s2 = 0;
        int n = 0;
        for (int y = 0; y < 16; ++y)
            for (int x = x0; x < x0 + 16; ++x) {
                s += g.at(x, y);
                s2 += double(g.at(x, y)) * g.at(x, y);
                ++n;
            }
        return std::sqrt(s2 / n - (s / n) * (s / n));
    };
    EXPECT_GT(local_std(out, 0), 2 * local_std(img, 0));
    // A tighter clip limit amplifies less.
    GreyImage tight = clahe(img, 4, 4, 1.0);
    EXPECT_LT(local_std(tight, 0), local_std(out, 0));
    GreyImage flat = make(32, 32, [](int, int) { return 128; });
    for (uint8_t v : clahe(flat, 4, 4, 2.0).pixels)
        EXPECT_NEAR(v, 128, 128);  // defined and in range
}

TEST(Resize, AreaAveragingWhenShrinking) {
    Plane p;
    p.width = 4;
    p.height = 2;
    p.v = {0, 2, 4, 6, 8, 10, 12, 14};
    Plane r = resize(p, 2, 1);
    EXPECT_FLOAT_EQ(r.v[0], (0 + 2 + 8 + 10) / 4.0f);
    EXPECT_FLOAT_EQ(r.v[1], (4 + 6 + 12 + 14) / 4.0f);
    Plane t = resize(p, 3, 2);  // 4 -> 3: fractional coverage, weights 3/4 and 1/4
    EXPECT_NEAR(t.v[0], 0 * 0.75 + 2 * 0.25, 1e-5);
    EXPECT_NEAR(t.v[1], 2 * 0.5 + 4 * 0.5, 1e-5);
}

TEST(Resize, BilinearWhenEnlarging) {
    Plane p;
    p.width = 2;
    p.height = 1;
    p.v = {0, 10};
    Plane r = resize(p, 4, 1);
    EXPECT_EQ(r.v, (std::vector<float>{0, 2.5f, 7.5f, 10}));  // half-pixel centres, clamped edges
    Plane c;
    c.width = c.height = 3;
    c.v.assign(9, 42.0f);
    for (float v : resize(c, 7, 5).v) EXPECT_FLOAT_EQ(v, 42.0f);
}

TEST(Phantom, LabelsObeyTheCardiothoracicRatio) {
    const int size = 256;
    int positives = 0, near = 0;
    for (uint64_t i = 0; i < 60; ++i) {
        PhantomSpec s = sample_phantom(7, i);
        GreyImage heart, lungs;
        render_phantom_masks(s, size, heart, lungs);
        // Widest heart row; widest span between the outer edges of the lungs.
        int hw = 0, tw = 0;
        for (int y = 0; y < size; ++y) {
            int hl = size, hr = -1, ll = size, lr = -1;
            for (int x = 0; x < size; ++x) {
                if (heart.at(x, y)) hl = std::min(hl, x), hr = std::max(hr, x);
                if (lungs.at(x, y)) ll = std::min(ll, x), lr = std::max(lr, x);
            }
            hw = std::max(hw, hr - hl + 1);
            tw = std::max(tw, lr - ll + 1);
        }
        const double measured = double(hw) / tw;
        EXPECT_NEAR(measured, s.ctr, 0.02) << "phantom " << i;
        if (std::fabs(s.ctr - 0.5) > 0.02) {
            EXPECT_EQ(measured > 0.5, s.label() == 1) << "phantom " << i;
        }
        positives += s.label();
        near += std::fabs(s.ctr - 0.5) < 0.05;
    }
    EXPECT_GT(positives, 15);
    EXPECT_LT(positives, 45);
    EXPECT_GT(near, 3) << "some phantoms must sit close to the threshold";
}

TEST(Phantom, DeterministicForASeed) {
    EXPECT_EQ(render_phantom(sample_phantom(3, 5), 64).pixels,
              render_phantom(sample_phantom(3, 5), 64).pixels);
    EXPECT_NE(render_phantom(sample_phantom(3, 5), 64).pixels,
              render_phantom(sample_phantom(4, 5), 64).pixels);
}

// A window of 1.44 times the image's area (1.2 times its side) shows the
// whole film shrunk by 1.2 inside a black border, wherever the window's
// centre falls: the film's total brightness is kept up to the 1.44 of the
// shrink, and the border takes 1 - 1 / 1.44 of the pixels.
TEST(Augment, ZoomOutShowsTheWholeFilmInsideABlackBorder) {
    Plane p;
    p.width = p.height = 60;
    p.v.assign(size_t(60) * 60, 200.0f);
    AugmentConfig zoom_out;
    zoom_out.enabled = true;
    zoom_out.scale_min = zoom_out.scale_max = 1.44;
    zoom_out.ratio_min = zoom_out.ratio_max = 1.0;
    zoom_out.rotate_deg = zoom_out.brightness = zoom_out.contrast = 0;
    for (uint64_t stream = 0; stream < 5; ++stream) {
        const Plane out = augment(p, zoom_out, 7, stream);
        double total = 0;
        int black = 0, film = 0;
        for (float v : out.v) {
            total += v;
            black += v == 0.0f;
            film += v == 200.0f;
        }
        EXPECT_NEAR(total / (200.0 * 3600), 1 / 1.44, 0.015) << "stream " << stream;
        // 1 - 1/1.44 = 0.306 of the pixels are border; bilinear edges blur a
        // line of pixels on each side of the film (4 x 50 of 3600).
        EXPECT_NEAR(black / 3600.0, 0.306, 0.06) << "stream " << stream;
        EXPECT_NEAR(film / 3600.0, 0.694, 0.06) << "stream " << stream;
    }
    // Area 1.05 at aspect 0.8: the window is 0.92 of the width (a crop along
    // x) and 1.15 of the height (a zoom out along y): black rows above and
    // below the film, 60 (1 - 1 / 1.15) = 7.6 in all, and no black column.
    AugmentConfig tall = zoom_out;
    tall.scale_min = tall.scale_max = 1.05;
    tall.ratio_min = tall.ratio_max = 0.8;
    for (uint64_t stream = 0; stream < 5; ++stream) {
        const Plane out = augment(p, tall, 7, stream);
        for (int x = 0; x < 60; ++x) {
            int black = 0;
            for (int y = 0; y < 60; ++y) black += out.at(x, y) == 0.0f;
            ASSERT_GE(black, 6) << "column " << x << " stream " << stream;
            ASSERT_LE(black, 8) << "column " << x << " stream " << stream;
        }
        for (int x = 0; x < 60; ++x) ASSERT_EQ(out.at(x, 30), 200.0f) << "stream " << stream;
    }
    // Crops (area <= 1) stay inside the image: no border, only the outermost
    // samples reach at most half a pixel past the last pixel centre.
    AugmentConfig crop = zoom_out;
    crop.scale_min = 0.6;
    crop.scale_max = 1.0;
    crop.ratio_min = 0.9;
    crop.ratio_max = 1.1;
    for (uint64_t stream = 0; stream < 5; ++stream)
        for (float v : augment(p, crop, 7, stream).v) ASSERT_GT(v, 100.0f) << "stream " << stream;
}

TEST(Augment, SeededAndOffByDefault) {
    Plane p = to_plane(render_phantom(sample_phantom(1, 1), 48));
    AugmentConfig off;
    EXPECT_EQ(augment(p, off, 1, 2).v, p.v);
    AugmentConfig on;
    on.enabled = true;
    EXPECT_EQ(augment(p, on, 1, 2).v, augment(p, on, 1, 2).v);
    EXPECT_NE(augment(p, on, 1, 2).v, augment(p, on, 1, 3).v);
    EXPECT_NE(augment(p, on, 1, 2).v, p.v);
    for (float v : augment(p, on, 5, 5).v) {
        EXPECT_GE(v, 0.0f);
        EXPECT_LE(v, 255.0f);
    }
}
