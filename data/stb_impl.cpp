// The one translation unit that includes stb_image / stb_image_write. Debian's
// libstb ships the compiled implementation; where it is absent (CMake sets
// EFFNET_STB_IMPLEMENTATION) the implementation is compiled here from the
// package's own headers.
#if defined(EFFNET_STB_IMPLEMENTATION)
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#endif
#define STBI_NO_GIF
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBI_NO_PNM
#define STBI_NO_HDR
#define STBI_NO_TGA

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "data/dicom.h"
#include "data/image.h"
#include "data/png_fast.h"
#include "tensor/error.h"

namespace effnet {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (f.bad()) throw IoError(path + ": read error");
    return bytes;
}

GreyImage decode_image(const std::string& path, const DecodeLimits& limits) {
    return decode_image_bytes(read_file_bytes(path), path, limits);
}

GreyImage decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name, const DecodeLimits& limits) {
    if (bytes.empty()) throw IoError(name + ": empty file");
    if (bytes.size() > size_t(INT32_MAX)) throw IoError(name + ": file too large");
    if (looks_like_dicom(bytes, name)) return decode_dicom_bytes(bytes, name, limits);
    {
        GreyImage fast;
        if (decode_grey8_png(bytes, limits, fast)) return fast;
    }
    const auto* buf = bytes.data();
    const int len = static_cast<int>(bytes.size());
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(buf, len, &w, &h, &comp)) {
        const bool known = (len >= 8 && !std::memcmp(buf, "\x89PNG", 4)) || (len >= 2 && buf[0] == 0xFF && buf[1] == 0xD8) ||
                           (len >= 2 && buf[0] == 'B' && buf[1] == 'M');
        throw IoError(name + (known ? ": corrupt or truncated image header (" : ": unsupported image format (") +
                      stbi_failure_reason() + "; PNG, JPEG and BMP are read)");
    }
    if (w <= 0 || h <= 0) throw IoError(name + ": zero width or height");
    if (w > limits.max_side || h > limits.max_side)
        throw IoError(name + ": " + std::to_string(w) + "x" + std::to_string(h) + " exceeds the " +
                      std::to_string(limits.max_side) + "-pixel side limit");
    GreyImage out;
    out.width = w;
    out.height = h;
    out.pixels.resize(size_t(w) * h);
    const size_t n = size_t(w) * h;
    auto luminance = [](double r, double g, double b) { return 0.299 * r + 0.587 * g + 0.114 * b; };
    if (stbi_is_16_bit_from_memory(buf, len)) {
        int c = 0;
        std::unique_ptr<stbi_us, void (*)(void*)> px(stbi_load_16_from_memory(buf, len, &w, &h, &c, 0), stbi_image_free);
        if (!px) throw IoError(name + ": corrupt or truncated image data (" + stbi_failure_reason() + ")");
        std::vector<double> grey(n);
        for (size_t i = 0; i < n; ++i) {
            const stbi_us* p = px.get() + i * c;
            grey[i] = c >= 3 ? luminance(p[0], p[1], p[2]) : p[0];
        }
        auto [lo, hi] = std::minmax_element(grey.begin(), grey.end());
        const double range = *hi - *lo;
        for (size_t i = 0; i < n; ++i)
            out.pixels[i] = range > 0 ? uint8_t(std::lround((grey[i] - *lo) / range * 255.0)) : 0;
        return out;
    }
    int c = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(buf, len, &w, &h, &c, 0), stbi_image_free);
    if (!px) throw IoError(name + ": corrupt or truncated image data (" + stbi_failure_reason() + ")");
    for (size_t i = 0; i < n; ++i) {
        const stbi_uc* p = px.get() + i * c;
        out.pixels[i] = c >= 3 ? uint8_t(std::lround(luminance(p[0], p[1], p[2]))) : p[0];
    }
    return out;
}

void write_png(const std::string& path, int width, int height, int channels, const uint8_t* pixels) {
    if (!stbi_write_png(path.c_str(), width, height, channels, pixels, width * channels))
        throw IoError(path + ": could not write PNG");
}

}  // namespace effnet
