// Files written by the data tests themselves: PNG/JPEG/BMP through
// stb_image_write, a 16-bit PNG assembled byte by byte, and scratch folders.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace effnet::test {

namespace fs = std::filesystem;

// A fresh, empty folder under the system temp directory.
inline fs::path scratch_dir(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("effnet_data_" + name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

inline void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline std::vector<uint8_t> read_bytes(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_grey_png(const fs::path& p, int w, int h, const std::vector<uint8_t>& px);
void write_rgb_jpg(const fs::path& p, int w, int h, const std::vector<uint8_t>& rgb);
void write_grey_bmp(const fs::path& p, int w, int h, const std::vector<uint8_t>& px);
// 16-bit greyscale PNG with stored (uncompressed) deflate blocks, written by hand.
void write_grey16_png(const fs::path& p, int w, int h, const std::vector<uint16_t>& px);

}  // namespace effnet::test
