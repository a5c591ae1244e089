// Fast path for 8-bit greyscale PNGs (libpng, when the build found it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace effnet {

// Decodes `bytes`, a PNG whose header the caller has read and checked
// against the limits, into `out` when it is 8-bit grey without alpha and
// libpng is available: returns true. Returns false, decoding nothing, for
// every other PNG (and always without libpng); the caller then decodes with
// stb_image. A file libpng has taken and found damaged is never handed on to
// a more lenient decoder: IoError names `name` and gives libpng's message.
bool decode_grey8_png(const std::vector<uint8_t>& bytes, const std::string& name, GreyImage& out);

}  // namespace effnet
