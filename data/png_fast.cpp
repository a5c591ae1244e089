// 8-bit greyscale PNGs through libpng (zlib's inflate is several times faster
// than stb_image's own, which dominated loading 1024x1024 radiographs; see
// docs/benchmarks.md). Only the exact case "8-bit grey, no alpha" is taken
// here, so no colour or gamma conversion can differ from the stb path. Once
// taken, a failure is the file's: libpng checks every chunk CRC and the zlib
// Adler-32, and its message is reported, never retried elsewhere.
#include "data/png_fast.h"

#if EFFNET_HAVE_LIBPNG
#include <png.h>

#include <cstring>

#include "tensor/error.h"

namespace effnet {

bool decode_grey8_png(const std::vector<uint8_t>& bytes, const std::string& name, GreyImage& out) {
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    auto fail = [&](const char* stage) {
        const std::string why = image.message[0] ? image.message : "no message";
        png_image_free(&image);
        return IoError(name + ": corrupt PNG (libpng, " + stage + ": " + why + ")");
    };
    if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) throw fail("header");
    // Grey, 8-bit, no alpha, not colour-mapped: read as is.
    const bool plain_grey =
        image.format == PNG_FORMAT_GRAY && !(image.flags & PNG_IMAGE_FLAG_16BIT_sRGB);
    if (!plain_grey || image.width == 0 || image.height == 0) {
        png_image_free(&image);
        return false;
    }
    out.width = int(image.width);
    out.height = int(image.height);
    out.pixels.resize(size_t(image.width) * image.height);
    if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr))
        throw fail("image data");
    return true;
}

}  // namespace effnet
#else
namespace effnet {
bool decode_grey8_png(const std::vector<uint8_t>&, const std::string&, GreyImage&) { return false; }
}  // namespace effnet
#endif
