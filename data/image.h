// Grey images and decoding.
//
// GreyImage holds 8-bit grey pixels row-major (the pipeline's working
// format: the reference recipe equalises 8-bit grey). decode_image reads PNG
// (8/16-bit), JPEG and BMP through stb_image; colour is converted to grey by
// BT.601 luminance (0.299 R + 0.587 G + 0.114 B); 16-bit images are mapped to
// 8 bits by min-max stretching (radiographs rarely use the full 16-bit range).
// DICOM files go to data/dicom.h (decoded where the build has DCMTK).
//
// Every failure throws IoError naming the path and the problem: missing,
// empty, truncated or corrupt, zero size, larger than the limit, unsupported
// format (GIF, TIFF, ... named by their first bytes). Dimensions are checked
// from the header before pixels are decoded. A damaged PNG never decodes:
// libpng (8-bit grey) reports its own error, and before stb_image decodes
// any other PNG every chunk CRC and the zlib Adler-32 are verified
// (data/png_check.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace effnet {

struct GreyImage {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;  // height * width
    uint8_t at(int x, int y) const { return pixels[size_t(y) * width + x]; }
};

struct DecodeLimits {
    int max_side = 16384;  // larger images are refused before decoding
};
// IoError naming `name` for a zero side or one beyond `limits` (every decoder
// calls it once the header gives the size, before decoding pixels).
void check_side_limits(int64_t w, int64_t h, const DecodeLimits& limits, const std::string& name);

GreyImage decode_image(const std::string& path, const DecodeLimits& limits = {});
GreyImage decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                             const DecodeLimits& limits = {});

// 16-bit (or any wider) grey values to 8 bits as decode_image maps 16-bit
// files: min-max stretched to [0, 255] and rounded; a constant image is 0.
// `grey` holds width * height values, row-major.
GreyImage stretch_to_8_bits(const std::vector<double>& grey, int width, int height);

// Writes an 8-bit grey or RGB PNG (stb_image_write); throws IoError on failure.
void write_png(const std::string& path, int width, int height, int channels, const uint8_t* pixels);

// Reads a whole file; IoError names the path when it is missing or unreadable.
std::vector<uint8_t> read_file_bytes(const std::string& path);

}  // namespace effnet
