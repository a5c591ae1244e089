// The class-folder dataset reader (ROOT/{train,val,test}/{class}/image or
// ROOT/{class}/image). Each input line is a relative path created under a
// fresh root (a trailing '/' makes a folder, anything else an empty file);
// the reader then lists it as --data would.
#include <fstream>
#include <sstream>

#include "data/dataset.h"
#include "fuzz_target.h"

using namespace effnet;
namespace fs = std::filesystem;

namespace {
// A relative path that stays inside the root: no "..", no absolute paths, a few levels.
bool harmless(const std::string& p) {
    if (p.empty() || p.size() > 120 || p[0] == '/' || p.find('\0') != std::string::npos)
        return false;
    int depth = 0;
    std::istringstream parts(p);
    for (std::string part; std::getline(parts, part, '/');) {
        if (part == ".." || part == ".") return false;
        if (++depth > 5) return false;
    }
    return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const fs::path root = fuzz::scratch_dir() / "folders";
    std::error_code ec;
    fs::remove_all(root, ec);
    fs::create_directories(root);
    std::istringstream lines(std::string(data, data + size));
    int made = 0;
    for (std::string line; std::getline(lines, line) && made < 24;) {
        if (!harmless(line)) continue;
        const fs::path p = root / line;
        fs::create_directories(line.back() == '/' ? p : p.parent_path(), ec);
        if (line.back() != '/' && !ec) std::ofstream(p) << "x";
        ++made;
    }
    DatasetOptions o;
    o.test_fraction = size % 2 ? 0.2 : 0.0;
    fuzz::expect_only_reported_errors([&] {
        const Dataset ds = load_dataset(root.string(), o);
        for (const Sample& s : ds.samples)
            if (s.label != 0 && s.label != 1) std::abort();
    });
    return 0;
}
