#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "fuzz_target.h"

namespace effnet::fuzz {

namespace {
std::filesystem::path make_scratch() {
    // In memory where there is a tmpfs: the dataset targets create files on
    // every input, and a disk makes them ten times slower.
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "effnet_fuzz_XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    static std::filesystem::path dir;
    dir = tmpl;
    std::atexit([] {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    });
    return dir;
}
}  // namespace

const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = make_scratch();
    return dir;
}

void write_file(const std::filesystem::path& p, const uint8_t* data, size_t size) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    if (!f) std::abort();
}

}  // namespace effnet::fuzz
