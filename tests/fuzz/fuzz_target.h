// Shared by every fuzz target. A target is one function,
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
// built two ways (tests/fuzz/CMakeLists.txt):
//   fuzz_<name>    with clang's libFuzzer (-fsanitize=fuzzer), for
//                  scripts/fuzz.sh: coverage-guided, under ASan+UBSan;
//   replay_<name>  with replay_main.cpp, by any compiler: runs the committed
//                  corpus and every saved finding as an ordinary ctest test.
//
// The contract checked: whatever the bytes, the parser either succeeds or
// throws effnet::Error (or cli::UsageError) with a message; any other
// exception, a crash, a sanitizer report, a hang or an allocation beyond
// the fuzzer's limit is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "train/cli.h"
#include "tensor/error.h"

namespace effnet::fuzz {

// Runs `body`; the errors a parser may report are swallowed, anything else escapes.
template <class F>
void expect_only_reported_errors(F&& body) {
    try {
        body();
    } catch (const Error&) {
    } catch (const cli::UsageError&) {
    }
}

// A private scratch folder for targets that must read files, made once per
// process (in /dev/shm when it exists) and removed at exit.
const std::filesystem::path& scratch_dir();
void write_file(const std::filesystem::path& p, const uint8_t* data, size_t size);

}  // namespace effnet::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
