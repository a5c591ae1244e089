// Image preprocessing on 8-bit grey images and float planes.
//
// equalize_histogram: global histogram equalisation (the reference recipe;
//   OpenCV equalizeHist's mapping): lut[v] = round((cdf[v] - cdf_min) * 255 / (N - cdf_min)).
//   Monotone; a constant image stays constant.
// clahe: contrast-limited adaptive equalisation (OpenCV's algorithm): the
//   image is split into tiles_x * tiles_y tiles; each tile's histogram is
//   clipped at clip_limit * (tile pixels / 256), the excess spread evenly, and
//   pixels are mapped by bilinear interpolation of the four nearest tiles' LUTs.
// resize: area averaging (exact box filter) when shrinking, bilinear
//   (half-pixel centres, as PyTorch align_corners=False) when enlarging; each
//   axis chooses independently.
#pragma once

#include <cstdint>
#include <vector>

#include "data/image.h"

namespace effnet {

// A float image, row-major, values in [0, 255] after conversion from grey.
struct Plane {
    int width = 0, height = 0;
    std::vector<float> v;
    float& at(int x, int y) { return v[size_t(y) * width + x]; }
    float at(int x, int y) const { return v[size_t(y) * width + x]; }
};

GreyImage equalize_histogram(const GreyImage& img);
GreyImage clahe(const GreyImage& img, int tiles_x, int tiles_y, double clip_limit);
Plane to_plane(const GreyImage& img);
GreyImage to_grey(const Plane& p);  // rounds and clamps to [0, 255]
Plane resize(const Plane& src, int out_w, int out_h);

}  // namespace effnet
