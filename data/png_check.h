// PNG structure checks for decoders that skip them. stb_image verifies
// neither chunk CRCs nor the zlib stream's Adler-32, so a PNG whose data was
// damaged in storage or transfer would otherwise decode into plausible
// garbage. These functions verify both before stb_image sees the file.
// Every failure throws IoError naming `name` and what is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace effnet {

// True when `bytes` start with the 8-byte PNG signature.
bool is_png(const std::vector<uint8_t>& bytes);

struct PngHeader {
    uint32_t width = 0, height = 0;
    int bit_depth = 0, colour_type = 0, interlace = 0;
    int channels() const;  // samples per pixel of the colour type
};

// Reads the IHDR chunk (the first, 13 bytes, CRC checked) of a file with a
// PNG signature and checks its fields are a combination PNG allows.
PngHeader read_png_header(const std::vector<uint8_t>& bytes, const std::string& name);

// Walks every chunk up to IEND: each lies inside the file and its CRC
// matches, IHDR comes first, at least one IDAT precedes IEND. Returns the
// zlib stream (every IDAT payload, in order).
std::vector<uint8_t> png_zlib_stream(const std::vector<uint8_t>& bytes, const std::string& name);

// The bytes the zlib stream of an image with this header inflates to: one
// filter byte plus the packed samples per row, per Adam7 pass when interlaced.
size_t png_inflated_size(const PngHeader& h);

// Checks the 2-byte zlib header of `stream` (deflate, FCHECK, no preset
// dictionary); the Adler-32 check itself is check_zlib_adler.
void check_zlib_header(const std::vector<uint8_t>& stream, const std::string& name);
// Compares the Adler-32 of the `n` inflated bytes with the stream's trailer.
void check_zlib_adler(const std::vector<uint8_t>& stream, const uint8_t* inflated, size_t n,
                      const std::string& name);

}  // namespace effnet
