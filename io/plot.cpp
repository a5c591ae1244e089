#include "io/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

#include "data/image.h"

namespace effnet {

Canvas::Canvas(int width, int height, uint8_t grey)
    : w_(width), h_(height), px_(size_t(width) * height * 3, grey) {}

void Canvas::pixel(int x, int y, const uint8_t rgb[3]) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    uint8_t* p = &px_[(size_t(y) * w_ + x) * 3];
    p[0] = rgb[0];
    p[1] = rgb[1];
    p[2] = rgb[2];
}

void Canvas::rect(int x0, int y0, int x1, int y1, const uint8_t rgb[3]) {
    for (int y = std::max(0, y0); y <= std::min(h_ - 1, y1); ++y)
        for (int x = std::max(0, x0); x <= std::min(w_ - 1, x1); ++x) pixel(x, y, rgb);
}

void Canvas::line(double x0, double y0, double x1, double y1, const uint8_t rgb[3], int thickness,
                  int dash) {
    const double len = std::max(std::fabs(x1 - x0), std::fabs(y1 - y0));
    const int steps = std::max(1, int(std::ceil(len)));
    for (int i = 0; i <= steps; ++i) {
        if (dash > 0 && (i / dash) % 2 == 1) continue;
        const double t = double(i) / steps;
        const int x = int(std::lround(x0 + (x1 - x0) * t)),
                  y = int(std::lround(y0 + (y1 - y0) * t));
        rect(x - thickness / 2, y - thickness / 2, x + (thickness - 1) / 2, y + (thickness - 1) / 2,
             rgb);
    }
}

int Canvas::text_width(const std::string& s, int scale) {
    std::string copy = s;
    return stb_easy_font_width(copy.data()) * scale;
}

void Canvas::text(int x, int y, const std::string& s, const uint8_t rgb[3], int scale) {
    std::vector<char> buf(s.size() * 300 + 1000);  // stb_easy_font: up to ~270 bytes per character
    std::string copy = s;
    const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, buf.data(), int(buf.size()));
    const float* v = reinterpret_cast<const float*>(buf.data());
    for (int q = 0; q < quads; ++q) {
        const float* a = v + q * 16;  // 4 vertices of (x, y, z, rgba) = 16 bytes each
        const int qx0 = int(a[0]), qy0 = int(a[1]), qx1 = int(a[8]), qy1 = int(a[9]);
        rect(x + qx0 * scale, y + qy0 * scale, x + qx1 * scale - 1, y + qy1 * scale - 1, rgb);
    }
}

void Canvas::save_png(const std::string& path) const { write_png(path, w_, h_, 3, px_.data()); }

namespace {
const uint8_t kBlack[3] = {30, 30, 30}, kGrid[3] = {225, 225, 225}, kTrain[3] = {31, 119, 180},
              kVal[3] = {255, 127, 14}, kLr[3] = {150, 150, 150}, kBest[3] = {44, 160, 44},
              kBar[3] = {174, 199, 232};

std::string tick(double v) {
    char b[32];
    std::snprintf(b, sizeof b,
                  std::fabs(v) >= 10  ? "%.0f"
                  : std::fabs(v) >= 1 ? "%.1f"
                                      : "%.2f",
                  v);
    return b;
}

void panel(Canvas& c, int x0, int y0, int w, int h, const std::string& title,
           const std::vector<EpochRecord>& hist, double EpochRecord::*train,
           double EpochRecord::*val, int best_epoch) {
    const int L = 50, R = 15, T = 30, B = 35;
    const int px0 = x0 + L, px1 = x0 + w - R, py0 = y0 + T, py1 = y0 + h - B;
    double lo = 1e300, hi = -1e300;
    for (auto& e : hist)
        for (double v : {e.*train, e.*val})
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (lo > hi) lo = 0, hi = 1;
    if (hi - lo < 1e-6) hi = lo + 1;
    const double pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
    const int n = int(hist.size());
    auto X = [&](double epoch) {
        return px0 + (n > 1 ? (epoch - 1) / (n - 1) : 0.5) * (px1 - px0);
    };
    auto Y = [&](double v) { return py1 - (v - lo) / (hi - lo) * (py1 - py0); };
    for (int k = 0; k <= 4; ++k) {
        const double v = lo + (hi - lo) * k / 4;
        c.line(px0, Y(v), px1, Y(v), kGrid);
        c.text(x0 + 4, int(Y(v)) - 4, tick(v), kBlack);
    }
    // Learning-rate drops and the best epoch.
    for (int i = 1; i < n; ++i)
        if (hist[i].lr < hist[i - 1].lr * 0.999)
            c.line(X(i + 0.5), py0, X(i + 0.5), py1, kLr, 1, 4);
    if (best_epoch >= 1 && best_epoch <= n)
        c.line(X(best_epoch), py0, X(best_epoch), py1, kBest, 1, 2);
    c.line(px0, py1, px1, py1, kBlack);
    c.line(px0, py0, px0, py1, kBlack);
    for (int i = 0; i < n; ++i) {
        if (n <= 12 || i % ((n + 9) / 10) == 0)
            c.text(int(X(i + 1)) - 3, py1 + 6, std::to_string(i + 1), kBlack);
    }
    c.text(px0 + (px1 - px0) / 2 - Canvas::text_width("epoch") / 2, py1 + 20, "epoch", kBlack);
    c.text(px0, y0 + 8, title, kBlack, 2);
    for (auto [member, colour] : {std::make_pair(train, kTrain), std::make_pair(val, kVal)}) {
        for (int i = 0; i < n; ++i) {
            const double v = hist[i].*member;
            if (!std::isfinite(v)) continue;
            c.rect(int(X(i + 1)) - 2, int(Y(v)) - 2, int(X(i + 1)) + 2, int(Y(v)) + 2, colour);
            if (i > 0 && std::isfinite(hist[i - 1].*member))
                c.line(X(i), Y(hist[i - 1].*member), X(i + 1), Y(v), colour, 2);
        }
    }
    // Legend.
    const int lx = px1 - 150, ly = py0 + 6;
    c.rect(lx, ly + 2, lx + 14, ly + 5, kTrain);
    c.text(lx + 20, ly, "train", kBlack);
    c.rect(lx + 70, ly + 2, lx + 84, ly + 5, kVal);
    c.text(lx + 90, ly, "val", kBlack);
    c.line(lx, ly + 17, lx + 14, ly + 17, kLr, 1, 4);
    c.text(lx + 20, ly + 13, "lr drop", kBlack);
    c.line(lx + 70, ly + 17, lx + 84, ly + 17, kBest, 1, 2);
    c.text(lx + 90, ly + 13, "best", kBlack);
}
}  // namespace

void draw_curves(const std::vector<EpochRecord>& history, int best_epoch, const std::string& path) {
    Canvas c(1000, 420);
    panel(c, 0, 0, 500, 420, "loss", history, &EpochRecord::train_loss, &EpochRecord::val_loss,
          best_epoch);
    panel(c, 500, 0, 500, 420, "accuracy", history, &EpochRecord::train_acc, &EpochRecord::val_acc,
          best_epoch);
    c.save_png(path);
}

Canvas reliability_diagram(const CalibrationReport& report) {
    Canvas c(560, 690);
    const int px0 = 60, px1 = 540, py0 = 60, py1 = 540, hy0 = 600, hy1 = 670;
    auto X = [&](double v) { return px0 + v * (px1 - px0); };
    auto Y = [&](double v) { return py1 - v * (py1 - py0); };
    char title[160];
    std::snprintf(title, sizeof title, "ECE %.3f (positive class %.3f), Brier %.3f, n %lld",
                  report.ece, report.ece_positive_class, report.brier, (long long)report.n);
    c.text(px0, 8, "reliability diagram", kBlack, 2);
    c.text(px0, 34, title, kBlack);
    for (int k = 0; k <= 5; ++k) {
        const double v = k / 5.0;
        c.line(px0, Y(v), px1, Y(v), kGrid);
        c.line(X(v), py0, X(v), py1, kGrid);
        c.text(px0 - 34, int(Y(v)) - 4, tick(v), kBlack);
        c.text(int(X(v)) - 10, py1 + 6, tick(v), kBlack);
    }
    int64_t max_count = 0;
    for (const ReliabilityBin& b : report.positive_class) max_count = std::max(max_count, b.count);
    for (const ReliabilityBin& b : report.positive_class) {
        if (b.count == 0) continue;
        c.rect(int(X(b.lo)) + 1, int(Y(b.observed)), int(X(b.hi)) - 1, py1 - 1, kBar);
        const int h = int(std::lround(double(b.count) / double(max_count) * (hy1 - hy0)));
        c.rect(int(X(b.lo)) + 1, hy1 - h, int(X(b.hi)) - 1, hy1, kLr);
    }
    c.line(X(0), Y(0), X(1), Y(1), kLr, 1, 5);
    const ReliabilityBin* previous = nullptr;
    for (const ReliabilityBin& b : report.positive_class) {
        if (b.count == 0) continue;
        const double x = X(b.mean_confidence), y = Y(b.observed);
        if (previous) c.line(X(previous->mean_confidence), Y(previous->observed), x, y, kVal, 2);
        c.rect(int(x) - 3, int(y) - 3, int(x) + 3, int(y) + 3, kVal);
        previous = &b;
    }
    c.line(px0, py1, px1, py1, kBlack);
    c.line(px0, py0, px0, py1, kBlack);
    c.line(px0, hy1, px1, hy1, kBlack);
    const std::string xlabel = "mean predicted probability of class 1 in the bin";
    c.text(px0 + (px1 - px0) / 2 - Canvas::text_width(xlabel) / 2, py1 + 20, xlabel, kBlack);
    c.text(px0 + 4, py0 + 4, "observed fraction of class 1", kBlack);
    c.text(px0, hy0 - 14, "samples per bin (highest " + std::to_string(max_count) + ")", kBlack);
    const int lx = px1 - 150, ly = py1 - 40;
    c.line(lx, ly + 4, lx + 14, ly + 4, kLr, 1, 5);
    c.text(lx + 20, ly, "perfectly calibrated", kBlack);
    c.rect(lx + 4, ly + 15, lx + 10, ly + 21, kVal);
    c.text(lx + 20, ly + 14, "model", kBlack);
    return c;
}

void draw_reliability_diagram(const CalibrationReport& report, const std::string& path) {
    reliability_diagram(report).save_png(path);
}

}  // namespace effnet
