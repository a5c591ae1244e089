// Test helpers shared by all suites.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tensor/gpu_runtime.h"

namespace effnet::test {
// True when EFFNET_EXPECT_GPU=1 (set by scripts/gpu_check.sh): a GPU test that
// cannot run then fails instead of skipping, so a broken driver or a build
// without CUDA cannot turn the GPU check green.
inline bool gpu_expected() {
    const char* v = std::getenv("EFFNET_EXPECT_GPU");
    return v && std::strcmp(v, "1") == 0;
}
}  // namespace effnet::test

// Skips the current test, with the reason, when no CUDA device is usable (a
// skipped test shows as "Skipped" in ctest's summary, never as passed), or
// fails it under EFFNET_EXPECT_GPU=1.
#define EFFNET_REQUIRE_GPU()                                                                            \
    do {                                                                                                \
        if (!::effnet::gpu::available()) {                                                              \
            if (::effnet::test::gpu_expected())                                                         \
                GTEST_FAIL() << "EFFNET_EXPECT_GPU=1, but this test cannot run: " << ::effnet::gpu::status(); \
            GTEST_SKIP() << "needs a CUDA GPU: " << ::effnet::gpu::status();                            \
        }                                                                                               \
    } while (0)

namespace effnet::test {

// Worst element of |a - b| <= atol + rtol*|b|, for reports in assertion messages.
struct Closeness {
    bool ok = true;
    size_t worst = 0;
    double max_abs_err = 0.0;
    double rel_l2 = 0.0;  // ||a - b|| / ||b||
    std::string str() const {
        return "worst index " + std::to_string(worst) + ", max |err| " + std::to_string(max_abs_err) +
               ", relative L2 " + std::to_string(rel_l2);
    }
};

inline Closeness compare(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol) {
    Closeness c;
    double num = 0, den = 0, worst_excess = -1;
    if (got.size() != want.size()) {
        c.ok = false;
        return c;
    }
    for (size_t i = 0; i < got.size(); ++i) {
        double e = std::fabs(double(got[i]) - want[i]);
        if (!std::isfinite(got[i])) e = INFINITY;
        num += e * e;
        den += double(want[i]) * want[i];
        double excess = e - (atol + rtol * std::fabs(want[i]));
        if (e > c.max_abs_err || !std::isfinite(e)) c.max_abs_err = e;
        if (excess > worst_excess) {
            worst_excess = excess;
            c.worst = i;
        }
        if (!(excess <= 0)) c.ok = false;
    }
    c.rel_l2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    return c;
}

}  // namespace effnet::test
