#include "data/augment.h"

#include <algorithm>
#include <cmath>

#include "tensor/philox.h"

namespace effnet {

Plane augment(const Plane& src, const AugmentConfig& cfg, uint64_t seed, uint64_t stream) {
    if (!cfg.enabled) return src;
    uint64_t k = 0;
    auto u = [&](double lo, double hi) { return lo + (hi - lo) * philox_uniform(seed, stream, k++); };
    const double area = u(cfg.scale_min, cfg.scale_max);
    const double log_r = u(std::log(cfg.ratio_min), std::log(cfg.ratio_max));
    const double ratio = std::exp(log_r);
    const double cw = std::min(1.0, std::sqrt(area * ratio)), ch = std::min(1.0, std::sqrt(area / ratio));
    const double cx = u(cw / 2, 1 - cw / 2), cy = u(ch / 2, 1 - ch / 2);  // crop centre, normalised
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
            const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
            const double fx = sx - x0, fy = sy - y0;
            auto at = [&](int xx, int yy) { return xx < 0 || yy < 0 || xx >= W || yy >= H ? 0.0 : double(src.at(xx, yy)); };
            const double v = (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) +
                             (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
            out.at(x, y) = float(v);
            sum += v;
        }
    const double mean = sum / (double(W) * H);
    for (float& v : out.v) v = float(std::clamp((v - mean) * contrast + mean + bright, 0.0, 255.0));
    return out;
}

}  // namespace effnet
