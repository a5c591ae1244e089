#include <gtest/gtest.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

#include "data/checksum.h"
#include "data/dicom.h"
#include "data/image.h"
#include "data/phantom.h"
#include "data/png_check.h"
#include "data_fixtures.h"
#include "tensor/error.h"

using namespace effnet;
using namespace effnet::test;

namespace effnet::test {

void write_grey_png(const fs::path& p, int w, int h, const std::vector<uint8_t>& px) {
    stbi_write_png(p.c_str(), w, h, 1, px.data(), w);
}
void write_rgb_jpg(const fs::path& p, int w, int h, const std::vector<uint8_t>& rgb) {
    stbi_write_jpg(p.c_str(), w, h, 3, rgb.data(), 100);
}
void write_grey_bmp(const fs::path& p, int w, int h, const std::vector<uint8_t>& px) {
    stbi_write_bmp(p.c_str(), w, h, 1, px.data());
}

namespace {
uint32_t crc32(const uint8_t* d, size_t n, uint32_t c = 0xFFFFFFFFu) {
    for (size_t i = 0; i < n; ++i) {
        c ^= d[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c;
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s));
}
void chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
    put32(out, uint32_t(data.size()));
    std::vector<uint8_t> td(type, type + 4);
    td.insert(td.end(), data.begin(), data.end());
    out.insert(out.end(), td.begin(), td.end());
    put32(out, crc32(td.data(), td.size()) ^ 0xFFFFFFFFu);
}
}  // namespace

void write_grey16_png(const fs::path& p, int w, int h, const std::vector<uint16_t>& px) {
    std::vector<uint8_t> raw;  // filter byte 0, then big-endian samples
    for (int y = 0; y < h; ++y) {
        raw.push_back(0);
        for (int x = 0; x < w; ++x) {
            raw.push_back(uint8_t(px[size_t(y) * w + x] >> 8));
            raw.push_back(uint8_t(px[size_t(y) * w + x]));
        }
    }
    std::vector<uint8_t> z = {0x78, 0x01};
    for (size_t off = 0; off < raw.size(); off += 65535) {
        const size_t n = std::min<size_t>(65535, raw.size() - off);
        z.push_back(off + n == raw.size() ? 1 : 0);
        z.push_back(uint8_t(n));
        z.push_back(uint8_t(n >> 8));
        z.push_back(uint8_t(~n));
        z.push_back(uint8_t(~n >> 8));
        z.insert(z.end(), raw.begin() + long(off), raw.begin() + long(off + n));
    }
    uint32_t a = 1, b = 0;
    for (uint8_t c : raw) {
        a = (a + c) % 65521;
        b = (b + a) % 65521;
    }
    put32(z, (b << 16) | a);
    std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    std::vector<uint8_t> ihdr;
    put32(ihdr, uint32_t(w));
    put32(ihdr, uint32_t(h));
    ihdr.insert(ihdr.end(), {16, 0, 0, 0, 0});  // depth 16, grey, deflate, filter 0, no interlace
    chunk(out, "IHDR", ihdr);
    chunk(out, "IDAT", z);
    chunk(out, "IEND", {});
    write_bytes(p, out);
}

}  // namespace effnet::test

TEST(Decode, GreyPngRoundTrip) {
    auto d = scratch_dir("decode");
    std::vector<uint8_t> px(6 * 5);
    for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(i * 8);
    write_grey_png(d / "a.png", 6, 5, px);
    GreyImage img = decode_image((d / "a.png").string());
    EXPECT_EQ(img.width, 6);
    EXPECT_EQ(img.height, 5);
    EXPECT_EQ(img.pixels, px);
}

TEST(Decode, ColourBecomesLuminanceGrey) {
    auto d = scratch_dir("decode_rgb");
    std::vector<uint8_t> rgb(16 * 16 * 3);
    for (size_t i = 0; i < rgb.size(); i += 3) {
        rgb[i] = 200;
        rgb[i + 1] = 100;
        rgb[i + 2] = 50;
    }
    write_rgb_jpg(d / "c.jpg", 16, 16, rgb);
    GreyImage img = decode_image((d / "c.jpg").string());
    const double want = 0.299 * 200 + 0.587 * 100 + 0.114 * 50;  // 124.35
    for (uint8_t v : img.pixels) EXPECT_NEAR(v, want, 3.0);      // JPEG is lossy
}

TEST(Decode, BmpAndSixteenBitPng) {
    auto d = scratch_dir("decode_bmp16");
    std::vector<uint8_t> px = {0, 50, 100, 150, 200, 250};
    write_grey_bmp(d / "b.bmp", 3, 2, px);
    EXPECT_EQ(decode_image((d / "b.bmp").string()).pixels, px);
    // 12-bit data in a 16-bit PNG: stretched to the full 8-bit range.
    std::vector<uint16_t> deep = {1000, 1500, 2000, 3000};
    write_grey16_png(d / "deep.png", 2, 2, deep);
    GreyImage img = decode_image((d / "deep.png").string());
    EXPECT_EQ(img.pixels, (std::vector<uint8_t>{0, 64, 128, 255}));
}

TEST(Decode, BadFilesFailWithPathAndReason) {
    auto d = scratch_dir("decode_bad");
    std::vector<uint8_t> px(20 * 20, 7);
    write_grey_png(d / "good.png", 20, 20, px);
    auto good = read_bytes(d / "good.png");
    write_bytes(d / "empty.png", {});
    write_bytes(d / "truncated.png",
                std::vector<uint8_t>(good.begin(), good.begin() + long(good.size() / 2)));
    write_bytes(d / "header_only.png", std::vector<uint8_t>(good.begin(), good.begin() + 12));
    write_bytes(d / "notes.txt.png", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
    struct Case {
        std::string file;
        std::string reason;
    };
    for (const Case& c : {Case{"missing.png", "cannot open"}, Case{"empty.png", "empty file"},
                          Case{"truncated.png", "truncated"}, Case{"header_only.png", "truncated"},
                          Case{"notes.txt.png", "unsupported image format"}}) {
        const std::string path = (d / c.file).string();
        try {
            decode_image(path);
            ADD_FAILURE() << c.file << " decoded";
        } catch (const IoError& e) {
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos) << e.what();
        }
    }
    DecodeLimits small;
    small.max_side = 16;
    try {
        decode_image((d / "good.png").string(), small);
        ADD_FAILURE() << "oversized image decoded";
    } catch (const IoError& e) {
        EXPECT_NE(std::string(e.what()).find("image too large (20x20 > 16 pixels per side"),
                  std::string::npos)
            << e.what();
    }
}

namespace {

// The chunks of a PNG file, to damage one and (optionally) re-seal its CRC.
struct PngChunkAt {
    size_t pos;  // offset of the length field
    uint32_t length;
    std::string type;
};
std::vector<PngChunkAt> png_chunks(const std::vector<uint8_t>& b) {
    std::vector<PngChunkAt> out;
    for (size_t pos = 8; pos + 12 <= b.size();) {
        const uint32_t n = uint32_t(b[pos]) << 24 | uint32_t(b[pos + 1]) << 16 |
                           uint32_t(b[pos + 2]) << 8 | b[pos + 3];
        out.push_back({pos, n, std::string(b.begin() + long(pos + 4), b.begin() + long(pos + 8))});
        pos += size_t(n) + 12;
    }
    return out;
}
const PngChunkAt& first_idat(const std::vector<PngChunkAt>& chunks) {
    for (auto& c : chunks)
        if (c.type == "IDAT") return c;
    throw std::runtime_error("no IDAT");
}
void reseal_crc(std::vector<uint8_t>& b, const PngChunkAt& c) {
    const uint32_t crc = effnet::crc32(&b[c.pos + 4], size_t(c.length) + 4);
    for (int i = 0; i < 4; ++i) b[c.pos + 8 + c.length + size_t(i)] = uint8_t(crc >> (24 - 8 * i));
}
// Flips every bit of `count` bytes of the first IDAT's payload, from `skip` bytes in.
std::vector<uint8_t> flip_idat(std::vector<uint8_t> b, size_t skip, size_t count, bool reseal) {
    const auto chunks = png_chunks(b);
    const PngChunkAt& c = first_idat(chunks);
    EXPECT_GE(c.length, skip + count) << "IDAT too small to damage";
    for (size_t i = 0; i < count; ++i) b[c.pos + 8 + skip + i] ^= 0xFF;
    if (reseal) reseal_crc(b, c);
    return b;
}

std::string decode_error(const std::vector<uint8_t>& bytes, const std::string& name,
                         const DecodeLimits& limits = {}) {
    try {
        GreyImage img = decode_image_bytes(bytes, name, limits);
        return "decoded " + std::to_string(img.width) + "x" + std::to_string(img.height);
    } catch (const IoError& e) {
        return e.what();
    }
}

std::vector<uint8_t> phantom_png(const fs::path& dir, int channels) {
    GreyImage g = render_phantom(sample_phantom(3, 7), 96);
    std::vector<uint8_t> px;
    for (uint8_t v : g.pixels)
        for (int c = 0; c < channels; ++c)
            px.push_back(uint8_t(v + c));  // RGB: channels differ a little
    const fs::path p = dir / ("phantom" + std::to_string(channels) + ".png");
    stbi_write_png(p.c_str(), g.width, g.height, channels, px.data(), g.width * channels);
    return read_bytes(p);
}

}  // namespace

TEST(Checksum, KnownVectorsAndContinuation) {
    const std::string digits = "123456789";
    EXPECT_EQ(effnet::crc32(digits.data(), digits.size()), 0xCBF43926u);
    EXPECT_EQ(effnet::adler32("Wikipedia", 9), 0x11E60398u);
    EXPECT_EQ(effnet::crc32("", 0), 0u);
    EXPECT_EQ(effnet::adler32("", 0), 1u);
    // Long inputs (the slicing loop and the deferred modulo) equal the bytewise definitions.
    std::vector<uint8_t> big(100003);
    for (size_t i = 0; i < big.size(); ++i) big[i] = uint8_t(i * 2654435761u >> 13);
    uint32_t c = 0xFFFFFFFFu, a = 1, b = 0;
    for (uint8_t v : big) {
        c ^= v;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        a = (a + v) % 65521;
        b = (b + a) % 65521;
    }
    EXPECT_EQ(effnet::crc32(big.data(), big.size()), ~c);
    EXPECT_EQ(effnet::adler32(big.data(), big.size()), b << 16 | a);
    EXPECT_EQ(effnet::crc32(big.data() + 777, big.size() - 777, effnet::crc32(big.data(), 777)),
              ~c);
    EXPECT_EQ(
        effnet::adler32(big.data() + 9999, big.size() - 9999, effnet::adler32(big.data(), 9999)),
        b << 16 | a);
}

// A phantom radiograph whose IDAT stream has 60 bytes bit-flipped: the
// decoder that took the file reports the damage, and nothing falls back to a
// decoder that would not notice. 8-bit grey goes through libpng (when built
// with it), RGB through stb_image behind the CRC/Adler-32 check.
TEST(Decode, DamagedPngIdatIsRefusedByEitherDecoder) {
    auto d = scratch_dir("decode_damaged");
    for (int channels : {1, 3}) {
        const std::vector<uint8_t> good = phantom_png(d, channels);
        const std::string name = "phantom" + std::to_string(channels) + ".png";
        ASSERT_EQ(decode_error(good, name), "decoded 96x96");
        const bool via_libpng = EFFNET_HAVE_LIBPNG && channels == 1;
        // As damaged in storage (the chunk CRC no longer matches), and with
        // the CRC recomputed over the damage (the deflate data or its
        // Adler-32 still betray it).
        for (bool reseal : {false, true}) {
            const std::string e = decode_error(flip_idat(good, 40, 60, reseal), name);
            EXPECT_EQ(e.rfind(name + ": corrupt PNG (", 0), 0u) << e;
            if (via_libpng) {
                EXPECT_NE(e.find("(libpng, image data: "), std::string::npos) << e;
            } else if (!reseal) {
                EXPECT_NE(e.find("CRC mismatch in chunk IDAT"), std::string::npos) << e;
            }
        }
    }
}

TEST(Decode, StoredDeflateDamageIsCaughtByAdler32) {
    // Stored (uncompressed) deflate blocks inflate whatever their bytes are;
    // only the Adler-32 can tell. 16-bit grey decodes through stb_image.
    auto d = scratch_dir("decode_adler");
    std::vector<uint16_t> px(40 * 30);
    for (size_t i = 0; i < px.size(); ++i) px[i] = uint16_t(i * 37);
    write_grey16_png(d / "deep.png", 40, 30, px);
    const std::vector<uint8_t> good = read_bytes(d / "deep.png");
    ASSERT_EQ(decode_error(good, "deep.png"), "decoded 40x30");
    const std::string e = decode_error(flip_idat(good, 200, 60, true), "deep.png");
    EXPECT_NE(e.find("deep.png: corrupt PNG (Adler-32 mismatch"), std::string::npos) << e;
}

TEST(Decode, OversizedHeaderAndUnsupportedFormatsSayWhatIsWrong) {
    // A valid IHDR claiming 100000 x 100000 (the decoder must not try).
    std::vector<uint8_t> huge = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    std::vector<uint8_t> ihdr;
    put32(ihdr, 100000);
    put32(ihdr, 100000);
    ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});
    chunk(huge, "IHDR", ihdr);
    chunk(huge, "IDAT", {0x78, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
    chunk(huge, "IEND", {});
    const std::string big = decode_error(huge, "huge.png");
    EXPECT_NE(
        big.find(
            "huge.png: image too large (100000x100000 > 16384 pixels per side, --max-image-side)"),
        std::string::npos)
        << big;
    const std::string gif =
        decode_error({'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, ';'}, "scan.gif");
    EXPECT_EQ(gif, std::string("scan.gif: unsupported image format (GIF); ") +
                       (dicom_available() ? "PNG, JPEG, BMP and DICOM" : "PNG, JPEG and BMP") +
                       " are read");
    std::vector<uint8_t> tiff = {'I', 'I', '*', 0, 8, 0, 0, 0};
    EXPECT_NE(decode_error(tiff, "scan.tif").find("(TIFF)"), std::string::npos);
    // A bad IHDR field combination and a damaged IHDR CRC are named.
    std::vector<uint8_t> odd = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    std::vector<uint8_t> odd_ihdr;
    put32(odd_ihdr, 4);
    put32(odd_ihdr, 4);
    odd_ihdr.insert(odd_ihdr.end(), {3, 2, 0, 0, 0});  // 3-bit RGB does not exist
    chunk(odd, "IHDR", odd_ihdr);
    EXPECT_NE(decode_error(odd, "odd.png").find("bit depth 3 with colour type 2"),
              std::string::npos);
    odd[20] ^= 1;
    EXPECT_NE(decode_error(odd, "odd.png").find("CRC mismatch in chunk IHDR"), std::string::npos);
}

TEST(PngCheck, InflatedSizesIncludingAdam7) {
    PngHeader h;
    h.width = 5;
    h.height = 3;
    h.bit_depth = 8;
    h.colour_type = 0;
    EXPECT_EQ(png_inflated_size(h), 3u * (1 + 5));
    h.bit_depth = 1;  // 5 bits round up to one byte per row
    EXPECT_EQ(png_inflated_size(h), 3u * (1 + 1));
    h.bit_depth = 16;
    h.colour_type = 6;
    EXPECT_EQ(png_inflated_size(h), 3u * (1 + 5 * 8));
    // Adam7 on 8x8 grey: passes of 1x1, 1x1, 2x1, 2x2, 4x2, 4x4, 8x4 pixels.
    h.width = h.height = 8;
    h.bit_depth = 8;
    h.colour_type = 0;
    h.interlace = 1;
    EXPECT_EQ(png_inflated_size(h), size_t(1 * 2 + 1 * 2 + 1 * 3 + 2 * 3 + 2 * 5 + 4 * 5 + 4 * 9));
    // Narrow images leave some passes empty (no filter bytes for them).
    h.width = 1;
    h.height = 1;
    EXPECT_EQ(png_inflated_size(h), 2u);
}

TEST(Decode, JpegStructureIsCheckedBeforeDecoding) {
    auto d = scratch_dir("decode_jpeg");
    std::vector<uint8_t> rgb(16 * 16 * 3, 90);
    write_rgb_jpg(d / "ok.jpg", 16, 16, rgb);
    const std::vector<uint8_t> good = read_bytes(d / "ok.jpg");
    ASSERT_EQ(decode_error(good, "ok.jpg"), "decoded 16x16");
    // A Huffman table listing 300 codes: stb_image 2.27 writes past its
    // 257-entry size array building it (found by fuzz_image).
    std::vector<uint8_t> dht = {0xFF, 0xC4};
    const size_t len = 2 + 17 + 300;
    dht.push_back(uint8_t(len >> 8));
    dht.push_back(uint8_t(len));
    dht.push_back(0x00);  // DC table 0
    for (int i = 0; i < 16; ++i) dht.push_back(i == 14 ? 255 : i == 15 ? 45 : 0);
    dht.insert(dht.end(), 300, 0);
    std::vector<uint8_t> bad = {
        good[0], good[1]};  // element by element: GCC 12 warns falsely on insert here
    for (uint8_t v : dht) bad.push_back(v);
    for (size_t i = 2; i < good.size(); ++i) bad.push_back(good[i]);
    EXPECT_EQ(decode_error(bad, "dht.jpg"),
              "dht.jpg: corrupt JPEG (a Huffman table lists 300 codes, at most 256 exist)");
    // Cut short: stb_image would fill the missing rows with grey.
    const std::vector<uint8_t> cut(good.begin(), good.begin() + long(good.size() * 2 / 3));
    EXPECT_NE(decode_error(cut, "cut.jpg").find("cut.jpg: corrupt JPEG (truncated"),
              std::string::npos);
    // A scan decoding with a table no DHT defined (AC table 3 for the third
    // component): stb_image decoded it from uninitialised memory (found by
    // fuzz_image, tests/fuzz/regressions/image/crash-ef7d8...).
    std::vector<uint8_t> undefined = good;
    for (size_t i = 0; i + 1 < undefined.size(); ++i)
        if (undefined[i] == 0xFF && undefined[i + 1] == 0xDA) {
            ASSERT_EQ(undefined[i + 4], 3);  // three components
            undefined[i + 4 + 1 + 2 * 2 + 1] = 0x13;
            break;
        }
    EXPECT_EQ(decode_error(undefined, "u.jpg"),
              "u.jpg: corrupt JPEG (a scan decodes with AC Huffman table 3, which no DHT segment "
              "before it defines)");
    // Arithmetic coding (SOF9) is named as unsupported.
    std::vector<uint8_t> arith = good;
    for (size_t i = 0; i + 1 < arith.size(); ++i)
        if (arith[i] == 0xFF && arith[i + 1] == 0xC0) {
            arith[i + 1] = 0xC9;
            break;
        }
    EXPECT_NE(decode_error(arith, "a.jpg").find("unsupported JPEG coding (FFC9"),
              std::string::npos);
}
