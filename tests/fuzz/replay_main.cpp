// The driver of the replay_<name> binaries: runs a fuzz target on every file
// named on the command line or found under a named folder (sorted, so runs
// are repeatable), as a plain program any compiler builds. A finding crashes
// it (abort, sanitizer report, uncaught exception) and names the input
// first; ctest runs it over tests/fuzz/corpus/<name> and tests/fuzz/regressions/<name>.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <filesystem>
#include <fstream>
#include <vector>

#include "fuzz_target.h"

namespace fs = std::filesystem;

// libFuzzer reports one allocation beyond -rss_limit_mb (2048, scripts/fuzz.sh)
// as a finding; the replay does the same, or a saved out-of-memory input would
// pass here by simply getting its gigabytes of untouched virtual memory.
// Under ASan the runtime owns operator new: ctest sets max_allocation_size_mb.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EFFNET_REPLAY_UNDER_ASAN 1
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(EFFNET_REPLAY_UNDER_ASAN)
namespace {
constexpr size_t kMaxAllocation = size_t(2048) << 20;
void* capped_allocation(size_t n) {
    if (n > kMaxAllocation) {
        std::fprintf(
            stderr,
            "replay: finding: one allocation of %zu bytes, beyond the fuzzing limit of %zu\n", n,
            kMaxAllocation);
        std::abort();
    }
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
}  // namespace
void* operator new(size_t n) { return capped_allocation(n); }
void* operator new[](size_t n) { return capped_allocation(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
    try {
        return capped_allocation(n);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
#endif

int main(int argc, char** argv) {
    std::vector<fs::path> inputs;
    for (int i = 1; i < argc; ++i) {
        const fs::path p = argv[i];
        if (fs::is_directory(p)) {
            for (auto& e : fs::recursive_directory_iterator(p))
                if (e.is_regular_file()) inputs.push_back(e.path());
        } else if (fs::is_regular_file(p)) {
            inputs.push_back(p);
        } else {
            std::fprintf(stderr, "replay: %s: no such file or folder (skipped)\n", argv[i]);
        }
    }
    std::sort(inputs.begin(), inputs.end());
    for (const fs::path& p : inputs) {
        std::ifstream f(p, std::ios::binary);
        const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                         std::istreambuf_iterator<char>());
        std::fprintf(stderr, "replay: %s (%zu bytes)\n", p.c_str(), bytes.size());
        LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    }
    std::printf("replayed %zu inputs without a finding\n", inputs.size());
    return inputs.empty() ? 1 : 0;
}
