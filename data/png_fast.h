// Fast path for 8-bit greyscale PNGs (libpng, when the build found it).
#pragma once

#include <cstdint>
#include <vector>

#include "data/image.h"

namespace effnet {

// Decodes `bytes` into `out` when they are a valid 8-bit grey PNG within the
// limits and libpng is available; returns false otherwise (the caller then
// decodes with stb_image, which also reports errors).
bool decode_grey8_png(const std::vector<uint8_t>& bytes, const DecodeLimits& limits, GreyImage& out);

}  // namespace effnet
