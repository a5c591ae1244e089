#include "data/augment.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"
#include "tensor/philox.h"

namespace effnet {

namespace {
// Bilinear sample of channel `c` of an interleaved width x height x channels
// image at (sx, sy) in pixel coordinates (pixel centres at integers);
// `outside` where a neighbour lies beyond the edge.
double bilinear(const float* img, int width, int height, int channels, int c, double sx, double sy,
                double outside) {
    const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
    const double fx = sx - x0, fy = sy - y0;
    auto at = [&](int xx, int yy) {
        return xx < 0 || yy < 0 || xx >= width || yy >= height
                   ? outside
                   : double(img[(size_t(yy) * size_t(width) + size_t(xx)) * size_t(channels) +
                                size_t(c)]);
    };
    return (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) +
           (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
}
}  // namespace

Plane augment(const Plane& src, const AugmentConfig& cfg, uint64_t seed, uint64_t stream) {
    if (!cfg.enabled) return src;
    uint64_t k = 0;
    auto u = [&](double lo, double hi) {
        return lo + (hi - lo) * philox_uniform(seed, stream, k++);
    };
    const double area = u(cfg.scale_min, cfg.scale_max);
    const double log_r = u(std::log(cfg.ratio_min), std::log(cfg.ratio_max));
    const double ratio = std::exp(log_r);
    // A crop (area <= 1) stays inside the image; a window larger than the
    // image (area > 1: a zoom out) keeps the whole image inside it along each
    // side it exceeds, the rest filled with black like the rotation's corners.
    const double side_max = area > 1 ? HUGE_VAL : 1.0;
    const double cw = std::min(side_max, std::sqrt(area * ratio)),
                 ch = std::min(side_max, std::sqrt(area / ratio));
    // The window's centre, normalised: a crop lies within [0, 1]; a larger
    // window covers it (the bounds swap, which u() allows).
    const double cx = u(cw / 2, 1 - cw / 2), cy = u(ch / 2, 1 - ch / 2);
    const double angle = u(-cfg.rotate_deg, cfg.rotate_deg) * 3.14159265358979323846 / 180;
    const bool flip = cfg.hflip && u(0, 1) < 0.5;
    const double bright = u(-cfg.brightness, cfg.brightness) * 255;
    const double contrast = u(1 - cfg.contrast, 1 + cfg.contrast);

    const int W = src.width, H = src.height;
    Plane out;
    out.width = W;
    out.height = H;
    out.v.assign(size_t(W) * H, 0.0f);
    const double c = std::cos(angle), s = std::sin(angle);
    double sum = 0;
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            // Output pixel -> rotated about the centre -> position inside the crop -> source pixel.
            double ox = (x + 0.5) / W - 0.5, oy = (y + 0.5) / H - 0.5;
            if (flip) ox = -ox;
            const double rx = c * ox - s * oy, ry = s * ox + c * oy;
            const double sx = (cx + rx * cw) * W - 0.5, sy = (cy + ry * ch) * H - 0.5;
            const double v = bilinear(src.v.data(), W, H, 1, 0, sx, sy, 0.0);
            out.at(x, y) = float(v);
            sum += v;
        }
    const double mean = sum / (double(W) * H);
    for (float& v : out.v) v = float(std::clamp((v - mean) * contrast + mean + bright, 0.0, 255.0));
    return out;
}

ViewTransform tta_view(int view) {
    // Zooms at the centre first, then zoomed shifts along each axis.
    static const ViewTransform kViews[kMaxTtaViews] = {
        {1.00, 0, 0},      {1.06, 0, 0},     {1.06, -0.025, 0}, {1.06, 0.025, 0},
        {1.06, 0, -0.025}, {1.06, 0, 0.025}, {1.03, 0, 0},      {1.10, 0, 0},
    };
    EFFNET_CHECK(view >= 0 && view < kMaxTtaViews,
                 "test-time view " << view << " outside [0, " << kMaxTtaViews << ")");
    return kViews[view];
}

void apply_view(const float* src, float* dst, int width, int height, int channels,
                const float* fill, const ViewTransform& t) {
    const size_t n = size_t(width) * size_t(height) * size_t(channels);
    if (t.zoom == 1 && t.dx == 0 && t.dy == 0) {
        std::copy(src, src + n, dst);
        return;
    }
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const double ux = ((x + 0.5) / width - 0.5) / t.zoom + 0.5 - t.dx;
            const double uy = ((y + 0.5) / height - 0.5) / t.zoom + 0.5 - t.dy;
            const double sx = ux * width - 0.5, sy = uy * height - 0.5;
            float* out = dst + (size_t(y) * size_t(width) + size_t(x)) * size_t(channels);
            for (int c = 0; c < channels; ++c)
                out[c] = float(bilinear(src, width, height, channels, c, sx, sy, double(fill[c])));
        }
}

}  // namespace effnet
