// 8-bit greyscale PNGs through libpng (zlib's inflate is several times faster
// than stb_image's own, which dominated loading 1024x1024 radiographs; see
// docs/benchmarks.md). Only the exact case "8-bit grey, no alpha" is taken
// here, so no colour or gamma conversion can differ from the stb path; every
// other image, and every failure, goes to stb_image, which also writes the
// error messages.
#include "data/png_fast.h"

#if EFFNET_HAVE_LIBPNG
#include <png.h>

#include <cstring>

namespace effnet {

bool decode_grey8_png(const std::vector<uint8_t>& bytes, const DecodeLimits& limits, GreyImage& out) {
    if (bytes.size() < 8 || std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) != 0) return false;
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) return false;
    // Grey, 8-bit, no alpha, not colour-mapped: read as is.
    const bool plain_grey = image.format == PNG_FORMAT_GRAY && !(image.flags & PNG_IMAGE_FLAG_16BIT_sRGB);
    if (!plain_grey || image.width == 0 || image.height == 0 || image.width > uint32_t(limits.max_side) ||
        image.height > uint32_t(limits.max_side)) {
        png_image_free(&image);
        return false;
    }
    out.width = int(image.width);
    out.height = int(image.height);
    out.pixels.resize(size_t(image.width) * image.height);
    if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) {
        png_image_free(&image);
        return false;  // truncated or corrupt: stb_image reports it
    }
    return true;
}

}  // namespace effnet
#else
namespace effnet {
bool decode_grey8_png(const std::vector<uint8_t>&, const DecodeLimits&, GreyImage&) { return false; }
}  // namespace effnet
#endif
