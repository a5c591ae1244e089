#include "data/preprocess.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "tensor/error.h"

namespace effnet {

namespace {
// lut from a histogram over `n` pixels (OpenCV's equalizeHist mapping).
void equalization_lut(const uint32_t hist[256], uint64_t n, uint8_t lut[256]) {
    uint64_t cdf_min = 0;
    for (int v = 0; v < 256; ++v)
        if (hist[v]) {
            cdf_min = hist[v];
            break;
        }
    if (n == cdf_min) {  // a constant image: keep it as it is
        for (int v = 0; v < 256; ++v) lut[v] = uint8_t(v);
        return;
    }
    uint64_t cdf = 0;
    for (int v = 0; v < 256; ++v) {
        cdf += hist[v];
        const double mapped =
            cdf <= cdf_min ? 0.0 : double(cdf - cdf_min) * 255.0 / double(n - cdf_min);
        lut[v] = uint8_t(std::lround(mapped));
    }
}

// One pass of the box filter along an axis: for each output cell, the
// coverage-weighted mean of the input cells it overlaps.
void area_weights(int in, int out, std::vector<int>& first,
                  std::vector<std::vector<float>>& weights) {
    const double scale = double(in) / out;
    first.resize(out);
    weights.assign(out, {});
    for (int o = 0; o < out; ++o) {
        const double b = o * scale, e = (o + 1) * scale;
        const int i0 = int(std::floor(b));
        first[o] = i0;
        for (int i = i0; i < in && i < e; ++i) {
            const double cover = std::min(e, double(i + 1)) - std::max(b, double(i));
            if (cover > 0) weights[o].push_back(float(cover / scale));
        }
    }
}

// Bilinear weights with half-pixel centres, clamped at the border.
void bilinear_weights(int in, int out, std::vector<int>& first,
                      std::vector<std::vector<float>>& weights) {
    const double scale = double(in) / out;
    first.resize(out);
    weights.assign(out, {});
    for (int o = 0; o < out; ++o) {
        double src = (o + 0.5) * scale - 0.5;
        if (src < 0) src = 0;
        int i0 = int(std::floor(src));
        if (i0 >= in - 1) {
            first[o] = in - 1;
            weights[o] = {1.0f};
            continue;
        }
        const float t = float(src - i0);
        first[o] = i0;
        weights[o] = {1.0f - t, t};
    }
}

void axis_weights(int in, int out, std::vector<int>& first,
                  std::vector<std::vector<float>>& weights) {
    if (out <= in)
        area_weights(in, out, first, weights);
    else
        bilinear_weights(in, out, first, weights);
}
}  // namespace

GreyImage equalize_histogram(const GreyImage& img) {
    uint32_t hist[256] = {0};
    for (uint8_t p : img.pixels) ++hist[p];
    uint8_t lut[256];
    equalization_lut(hist, img.pixels.size(), lut);
    GreyImage out = img;
    for (uint8_t& p : out.pixels) p = lut[p];
    return out;
}

GreyImage clahe(const GreyImage& img, int tiles_x, int tiles_y, double clip_limit) {
    EFFNET_CHECK(tiles_x >= 1 && tiles_y >= 1 && clip_limit > 0,
                 "CLAHE needs tiles >= 1 and clip_limit > 0");
    EFFNET_CHECK(img.width >= tiles_x && img.height >= tiles_y,
                 "CLAHE: image smaller than its tile grid");
    const int W = img.width, H = img.height;
    std::vector<std::array<uint8_t, 256>> luts(size_t(tiles_x) * tiles_y);
    auto tile_x0 = [&](int t) { return int(int64_t(t) * W / tiles_x); };
    auto tile_y0 = [&](int t) { return int(int64_t(t) * H / tiles_y); };
    for (int ty = 0; ty < tiles_y; ++ty)
        for (int tx = 0; tx < tiles_x; ++tx) {
            const int x0 = tile_x0(tx), x1 = tile_x0(tx + 1), y0 = tile_y0(ty),
                      y1 = tile_y0(ty + 1);
            uint32_t hist[256] = {0};
            for (int y = y0; y < y1; ++y)
                for (int x = x0; x < x1; ++x) ++hist[img.at(x, y)];
            const uint64_t area = uint64_t(x1 - x0) * (y1 - y0);
            const uint32_t limit =
                std::max<uint32_t>(1, uint32_t(clip_limit * double(area) / 256.0));
            uint64_t excess = 0;
            for (uint32_t& h : hist)
                if (h > limit) {
                    excess += h - limit;
                    h = limit;
                }
            const uint32_t each = uint32_t(excess / 256), rest = uint32_t(excess % 256);
            for (int v = 0; v < 256; ++v) hist[v] += each + (uint32_t(v) < rest ? 1 : 0);
            // Map by the clipped CDF scaled to [0, 255] (no cdf_min shift, as OpenCV).
            uint64_t cdf = 0;
            auto& lut = luts[size_t(ty) * tiles_x + tx];
            for (int v = 0; v < 256; ++v) {
                cdf += hist[v];
                lut[v] =
                    uint8_t(std::min<long>(255, std::lround(double(cdf) * 255.0 / double(area))));
            }
        }
    GreyImage out = img;
    const double tw = double(W) / tiles_x, th = double(H) / tiles_y;
    for (int y = 0; y < H; ++y) {
        const double gy = (y + 0.5) / th - 0.5;
        int ty0 = int(std::floor(gy));
        const double fy = gy - ty0;
        const int ty1 = std::min(ty0 + 1, tiles_y - 1);
        ty0 = std::max(ty0, 0);
        for (int x = 0; x < W; ++x) {
            const double gx = (x + 0.5) / tw - 0.5;
            int tx0 = int(std::floor(gx));
            const double fx = gx - tx0;
            const int tx1 = std::min(tx0 + 1, tiles_x - 1);
            tx0 = std::max(tx0, 0);
            const uint8_t v = img.at(x, y);
            const double a = luts[size_t(ty0) * tiles_x + tx0][v],
                         b = luts[size_t(ty0) * tiles_x + tx1][v];
            const double c = luts[size_t(ty1) * tiles_x + tx0][v],
                         d = luts[size_t(ty1) * tiles_x + tx1][v];
            const double top = a + (b - a) * fx, bottom = c + (d - c) * fx;
            out.pixels[size_t(y) * W + x] = uint8_t(std::lround(top + (bottom - top) * fy));
        }
    }
    return out;
}

Plane to_plane(const GreyImage& img) {
    Plane p;
    p.width = img.width;
    p.height = img.height;
    p.v.assign(img.pixels.begin(), img.pixels.end());
    return p;
}

GreyImage to_grey(const Plane& p) {
    GreyImage g;
    g.width = p.width;
    g.height = p.height;
    g.pixels.resize(p.v.size());
    for (size_t i = 0; i < p.v.size(); ++i)
        g.pixels[i] = uint8_t(std::lround(std::clamp(p.v[i], 0.0f, 255.0f)));
    return g;
}

Plane resize(const Plane& src, int out_w, int out_h) {
    EFFNET_CHECK(out_w > 0 && out_h > 0 && src.width > 0 && src.height > 0,
                 "resize " << src.width << "x" << src.height << " to " << out_w << "x" << out_h);
    std::vector<int> fx, fy;
    std::vector<std::vector<float>> wx, wy;
    axis_weights(src.width, out_w, fx, wx);
    axis_weights(src.height, out_h, fy, wy);
    // Horizontal pass into an (out_w x src.height) plane, then vertical.
    Plane tmp;
    tmp.width = out_w;
    tmp.height = src.height;
    tmp.v.assign(size_t(out_w) * src.height, 0.0f);
    for (int y = 0; y < src.height; ++y)
        for (int x = 0; x < out_w; ++x) {
            float s = 0;
            for (size_t k = 0; k < wx[x].size(); ++k) s += wx[x][k] * src.at(fx[x] + int(k), y);
            tmp.at(x, y) = s;
        }
    Plane out;
    out.width = out_w;
    out.height = out_h;
    out.v.assign(size_t(out_w) * out_h, 0.0f);
    for (int y = 0; y < out_h; ++y)
        for (size_t k = 0; k < wy[y].size(); ++k) {
            const float w = wy[y][k];
            const int sy = fy[y] + int(k);
            for (int x = 0; x < out_w; ++x) out.at(x, y) += w * tmp.at(x, sy);
        }
    return out;
}

}  // namespace effnet
