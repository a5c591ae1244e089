#include "data/png_check.h"

#include <cstring>

#include "data/checksum.h"
#include "tensor/error.h"

namespace effnet {

namespace {

constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

uint32_t load_be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

[[noreturn]] void corrupt(const std::string& name, const std::string& what) {
    throw IoError(name + ": corrupt PNG (" + what + ")");
}

struct Chunk {
    std::string type;
    const uint8_t* data;
    uint32_t length;
};

// The chunk at `pos`, its CRC checked; advances `pos` past it.
Chunk next_chunk(const std::vector<uint8_t>& bytes, size_t& pos, const std::string& name) {
    if (bytes.size() - pos < 12)
        corrupt(name,
                "truncated: the file ends inside a chunk header at byte " + std::to_string(pos));
    const uint32_t length = load_be32(&bytes[pos]);
    Chunk c{std::string(reinterpret_cast<const char*>(&bytes[pos + 4]), 4), &bytes[pos + 8],
            length};
    for (char ch : c.type)
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
            corrupt(name, "bad chunk type at byte " + std::to_string(pos));
    if (length > 0x7FFFFFFFu || length > bytes.size() - pos - 12)
        corrupt(name, "truncated: chunk " + c.type + " at byte " + std::to_string(pos) +
                          " claims " + std::to_string(length) + " bytes, the file has " +
                          std::to_string(bytes.size() - pos - 12));
    const uint32_t stored = load_be32(&bytes[pos + 8 + length]);
    if (crc32(&bytes[pos + 4], size_t(length) + 4) != stored)
        corrupt(name, "CRC mismatch in chunk " + c.type);
    pos += size_t(length) + 12;
    return c;
}

}  // namespace

bool is_png(const std::vector<uint8_t>& bytes) {
    return bytes.size() >= 8 && std::memcmp(bytes.data(), kSignature, 8) == 0;
}

int PngHeader::channels() const {
    switch (colour_type) {
        case 0:
            return 1;  // grey
        case 2:
            return 3;  // RGB
        case 3:
            return 1;  // palette index
        case 4:
            return 2;  // grey + alpha
        case 6:
            return 4;  // RGBA
    }
    return 0;
}

PngHeader read_png_header(const std::vector<uint8_t>& bytes, const std::string& name) {
    if (!is_png(bytes)) corrupt(name, "no PNG signature");
    size_t pos = 8;
    const Chunk c = next_chunk(bytes, pos, name);
    if (c.type != "IHDR" || c.length != 13) corrupt(name, "the first chunk is not a 13-byte IHDR");
    PngHeader h;
    h.width = load_be32(c.data);
    h.height = load_be32(c.data + 4);
    h.bit_depth = c.data[8];
    h.colour_type = c.data[9];
    h.interlace = c.data[12];
    const int d = h.bit_depth;
    bool ok;
    switch (h.colour_type) {
        case 0:
            ok = d == 1 || d == 2 || d == 4 || d == 8 || d == 16;
            break;
        case 3:
            ok = d == 1 || d == 2 || d == 4 || d == 8;
            break;
        case 2:
        case 4:
        case 6:
            ok = d == 8 || d == 16;
            break;
        default:
            ok = false;
    }
    if (!ok)
        corrupt(name, "IHDR: bit depth " + std::to_string(d) + " with colour type " +
                          std::to_string(h.colour_type) + " is not a PNG format");
    if (c.data[10] != 0 || c.data[11] != 0 || h.interlace > 1)
        corrupt(name, "IHDR: unknown compression, filter or interlace method");
    return h;
}

std::vector<uint8_t> png_zlib_stream(const std::vector<uint8_t>& bytes, const std::string& name) {
    read_png_header(bytes, name);
    std::vector<uint8_t> stream;
    bool any_idat = false;
    for (size_t pos = 8;;) {
        if (pos == bytes.size()) corrupt(name, "truncated: no IEND chunk");
        const Chunk c = next_chunk(bytes, pos, name);
        if (c.type == "IEND") break;
        if (c.type == "IHDR" && pos != 8 + 25) corrupt(name, "a second IHDR chunk");
        if (c.type == "IDAT") {
            any_idat = true;
            stream.insert(stream.end(), c.data, c.data + c.length);
        }
    }
    if (!any_idat) corrupt(name, "no IDAT chunk");
    return stream;
}

size_t png_inflated_size(const PngHeader& h) {
    const uint64_t bits = uint64_t(h.channels()) * uint64_t(h.bit_depth);
    auto pass = [&](uint64_t w, uint64_t rows) {
        return w == 0 || rows == 0 ? 0 : rows * (1 + (w * bits + 7) / 8);
    };
    if (h.interlace == 0) return size_t(pass(h.width, h.height));
    // Adam7: pass p starts at (x0, y0) and takes every dx-th column of every dy-th row.
    static const int adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                    {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    uint64_t total = 0;
    for (const auto& a : adam7) {
        const uint64_t w = h.width > uint32_t(a[0])
                               ? (h.width - uint32_t(a[0]) + uint32_t(a[2]) - 1) / uint32_t(a[2])
                               : 0;
        const uint64_t r = h.height > uint32_t(a[1])
                               ? (h.height - uint32_t(a[1]) + uint32_t(a[3]) - 1) / uint32_t(a[3])
                               : 0;
        total += pass(w, r);
    }
    return size_t(total);
}

void check_zlib_header(const std::vector<uint8_t>& s, const std::string& name) {
    if (s.size() < 6)
        corrupt(name, "the zlib stream is " + std::to_string(s.size()) + " bytes, too short");
    const unsigned cmf = s[0], flg = s[1];
    if ((cmf & 0x0F) != 8 || (cmf >> 4) > 7)
        corrupt(name, "the zlib stream is not deflate with a window of at most 32 KiB");
    if ((cmf * 256 + flg) % 31 != 0) corrupt(name, "zlib header check bits are wrong");
    if (flg & 0x20) corrupt(name, "the zlib stream asks for a preset dictionary");
}

void check_zlib_adler(const std::vector<uint8_t>& s, const uint8_t* inflated, size_t n,
                      const std::string& name) {
    if (s.size() < 6) corrupt(name, "the zlib stream is too short for its Adler-32");
    const uint32_t stored = load_be32(&s[s.size() - 4]);
    if (adler32(inflated, n) != stored)
        corrupt(name, "Adler-32 mismatch: the inflated image data is damaged");
}

}  // namespace effnet
