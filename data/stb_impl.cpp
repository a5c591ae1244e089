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
#include "data/jpeg_check.h"
#include "data/jpeg_decode.h"
#include "data/png_check.h"
#include "data/png_fast.h"
#include "tensor/error.h"

namespace effnet {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                               std::istreambuf_iterator<char>());
    if (f.bad()) throw IoError(path + ": read error");
    return bytes;
}

GreyImage decode_image(const std::string& path, const DecodeLimits& limits) {
    return decode_image_bytes(read_file_bytes(path), path, limits);
}

void check_side_limits(int64_t w, int64_t h, const DecodeLimits& limits, const std::string& name) {
    if (w <= 0 || h <= 0) throw IoError(name + ": zero width or height");
    if (w > limits.max_side || h > limits.max_side)
        throw IoError(name + ": image too large (" + std::to_string(w) + "x" + std::to_string(h) +
                      " > " + std::to_string(limits.max_side) +
                      " pixels per side, --max-image-side)");
}

namespace {

std::string stb_reason() {
    const char* r = stbi_failure_reason();
    return r && *r ? r : "no reason given";
}

// What the first bytes say a file is, for PNG/JPEG/BMP and for the formats
// people most often try instead (which are refused by name).
enum class Format { PNG, JPEG, BMP, OTHER };
Format sniff_format(const std::vector<uint8_t>& b, std::string& other_name) {
    auto starts = [&](const char* magic, size_t n, size_t at = 0) {
        return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
    };
    if (is_png(b)) return Format::PNG;
    if (is_jpeg(b)) return Format::JPEG;
    if (starts("BM", 2)) return Format::BMP;
    if (starts("GIF87a", 6) || starts("GIF89a", 6))
        other_name = "GIF";
    else if (starts("II*\0", 4) || starts("MM\0*", 4))
        other_name = "TIFF";
    else if (starts("RIFF", 4) && starts("WEBP", 4, 8))
        other_name = "WebP";
    else if (starts("DICM", 4, 128))
        other_name = "DICOM";
    else if (starts("\0\0\0\x0CjP  ", 8) || starts("\xFF\x4F\xFF\x51", 4))
        other_name = "JPEG 2000";
    else if (starts("8BPS", 4))
        other_name = "Photoshop";
    else
        other_name = "not PNG, JPEG or BMP by its first bytes";
    return Format::OTHER;
}

// stb_image inflates PNG data without checking chunk CRCs or the zlib
// Adler-32; this does both (inflating once more, into a buffer of exactly the
// size the header implies) before stb decodes the file.
void verify_png_for_stb(const std::vector<uint8_t>& bytes, const PngHeader& h,
                        const std::string& name) {
    const std::vector<uint8_t> stream = png_zlib_stream(bytes, name);
    check_zlib_header(stream, name);
    const size_t need = png_inflated_size(h);
    if (need >= size_t(INT32_MAX) || stream.size() > size_t(INT32_MAX))
        throw IoError(name + ": image too large to decode (" + std::to_string(need) +
                      " bytes of image data)");
    std::vector<char> raw(need +
                          1);  // one spare byte: a stream with more data than the image is caught
    const int got =
        stbi_zlib_decode_buffer(raw.data(), int(raw.size()),
                                reinterpret_cast<const char*>(stream.data()), int(stream.size()));
    if (got < 0)
        throw IoError(name + ": corrupt PNG (the image data does not inflate: " + stb_reason() +
                      ")");
    if (size_t(got) != need)
        throw IoError(name + ": corrupt PNG (the image data inflates to " + std::to_string(got) +
                      " bytes, " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                      " needs " + std::to_string(need) + ")");
    check_zlib_adler(stream, reinterpret_cast<const uint8_t*>(raw.data()), need, name);
}

}  // namespace

GreyImage decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                             const DecodeLimits& limits) {
    if (bytes.empty()) throw IoError(name + ": empty file");
    if (bytes.size() > size_t(INT32_MAX)) throw IoError(name + ": file too large");
    if (looks_like_dicom(bytes, name)) return decode_dicom_bytes(bytes, name, limits);
    std::string other;
    const Format format = sniff_format(bytes, other);
    if (format == Format::OTHER)
        throw IoError(name + ": unsupported image format (" + other + "); " +
                      (dicom_available() ? "PNG, JPEG, BMP and DICOM" : "PNG, JPEG and BMP") +
                      " are read");
    if (format == Format::PNG) {
        const PngHeader h = read_png_header(bytes, name);
        check_side_limits(h.width, h.height, limits, name);
        GreyImage fast;
        if (decode_grey8_png(bytes, name, fast)) return fast;
        verify_png_for_stb(bytes, h, name);
    }
    if (format == Format::JPEG) {
        check_jpeg_structure(bytes, name);
        if (jpeg_through_libjpeg()) return decode_jpeg_grey(bytes, name, limits);
    }
    const auto* buf = bytes.data();
    const int len = static_cast<int>(bytes.size());
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(buf, len, &w, &h, &comp))
        throw IoError(name + ": corrupt or truncated image header (" + stb_reason() + ")");
    check_side_limits(w, h, limits, name);
    GreyImage out;
    out.width = w;
    out.height = h;
    out.pixels.resize(size_t(w) * h);
    const size_t n = size_t(w) * h;
    auto luminance = [](double r, double g, double b) { return 0.299 * r + 0.587 * g + 0.114 * b; };
    if (stbi_is_16_bit_from_memory(buf, len)) {
        int c = 0;
        std::unique_ptr<stbi_us, void (*)(void*)> px(
            stbi_load_16_from_memory(buf, len, &w, &h, &c, 0), stbi_image_free);
        if (!px) throw IoError(name + ": corrupt or truncated image data (" + stb_reason() + ")");
        std::vector<double> grey(n);
        for (size_t i = 0; i < n; ++i) {
            const stbi_us* p = px.get() + i * c;
            grey[i] = c >= 3 ? luminance(p[0], p[1], p[2]) : p[0];
        }
        return stretch_to_8_bits(grey, w, h);
    }
    int c = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(buf, len, &w, &h, &c, 0),
                                                 stbi_image_free);
    if (!px) throw IoError(name + ": corrupt or truncated image data (" + stb_reason() + ")");
    for (size_t i = 0; i < n; ++i) {
        const stbi_uc* p = px.get() + i * c;
        out.pixels[i] = c >= 3 ? uint8_t(std::lround(luminance(p[0], p[1], p[2]))) : p[0];
    }
    return out;
}

GreyImage stretch_to_8_bits(const std::vector<double>& grey, int width, int height) {
    GreyImage out;
    out.width = width;
    out.height = height;
    out.pixels.resize(grey.size());
    if (grey.empty()) return out;
    auto [lo, hi] = std::minmax_element(grey.begin(), grey.end());
    const double range = *hi - *lo;
    for (size_t i = 0; i < grey.size(); ++i)
        out.pixels[i] = range > 0 ? uint8_t(std::lround((grey[i] - *lo) / range * 255.0)) : 0;
    return out;
}

void write_png(const std::string& path, int width, int height, int channels,
               const uint8_t* pixels) {
    if (!stbi_write_png(path.c_str(), width, height, channels, pixels, width * channels))
        throw IoError(path + ": could not write PNG");
}

}  // namespace effnet
