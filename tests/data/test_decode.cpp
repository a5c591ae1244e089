#include <gtest/gtest.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

#include "data/image.h"
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
    write_bytes(d / "truncated.png", std::vector<uint8_t>(good.begin(), good.begin() + long(good.size() / 2)));
    write_bytes(d / "header_only.png", std::vector<uint8_t>(good.begin(), good.begin() + 12));
    write_bytes(d / "notes.txt.png", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
    struct Case { std::string file; std::string reason; };
    for (const Case& c : {Case{"missing.png", "cannot open"}, Case{"empty.png", "empty file"},
                          Case{"truncated.png", "corrupt or truncated"}, Case{"header_only.png", "corrupt or truncated"},
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
        EXPECT_NE(std::string(e.what()).find("20x20 exceeds the 16-pixel"), std::string::npos) << e.what();
    }
}
