// Test helpers shared by all suites.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tensor/gpu_runtime.h"
#include "tensor/philox.h"
#include "tensor/tensor.h"

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
#define EFFNET_REQUIRE_GPU()                                                      \
    do {                                                                          \
        if (!::effnet::gpu::available()) {                                        \
            if (::effnet::test::gpu_expected())                                   \
                GTEST_FAIL() << "EFFNET_EXPECT_GPU=1, but this test cannot run: " \
                             << ::effnet::gpu::status();                          \
            GTEST_SKIP() << "needs a CUDA GPU: " << ::effnet::gpu::status();      \
        }                                                                         \
    } while (0)

namespace effnet::test {

// Worst element of |a - b| <= atol + rtol*|b|, for reports in assertion messages.
struct Closeness {
    bool ok = true;
    size_t worst = 0;
    double max_abs_err = 0.0;
    double rel_l2 = 0.0;  // ||a - b|| / ||b||
    std::string str() const {
        return "worst index " + std::to_string(worst) + ", max |err| " +
               std::to_string(max_abs_err) + ", relative L2 " + std::to_string(rel_l2);
    }
};

inline Closeness compare(const std::vector<float>& got, const std::vector<float>& want, double atol,
                         double rtol) {
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

// Thresholds of a GPU-vs-CPU comparison: every element within
// atol + rtol*|cpu| (the worst index is reported) and the relative L2 error
// of the whole at most rel_l2.
struct Tolerance {
    double atol, rtol, rel_l2;
    Tolerance with_atol(double a) const { return {a, rtol, rel_l2}; }
};
// FP32 defaults of the kernel tests: kOpTolerance for the ops at small, odd
// and B0 batch-4 shapes; kB0Tolerance for B0's batch-32 shapes (the
// "B0Batch32" tests) and the accumulation tests:
//   - element-wise results and sums of at most 25 products (depthwise forward
//     and input gradient, batch-norm normalisation and dx, channel scale):
//     atol 1e-5, rtol 1e-5;
//   - reductions accumulated in double on both sides and rounded to float once
//     (SE pool and gate gradient, batch-norm statistics, dgamma, dbeta):
//     atol 1e-5, rtol 1e-5;
//   - float sums over N*Ho*Wo products (weight gradients): atol
//     float_sum_atol(N*Ho*Wo, rms(x)*rms(dy)) (common/tolerance.h).
// Looser tolerances are stated, with their reason, where they are used.
constexpr Tolerance kOpTolerance{1e-4, 1e-4, 1e-5};
constexpr Tolerance kB0Tolerance{1e-5, 1e-5, 1e-5};

inline void expect_close(const std::vector<float>& got, const std::vector<float>& want,
                         const std::string& what, const Tolerance& tol) {
    const Closeness c = compare(got, want, tol.atol, tol.rtol);
    EXPECT_TRUE(c.ok && c.rel_l2 <= tol.rel_l2)
        << what << ": " << c.str() << " (atol " << tol.atol << ", rtol " << tol.rtol << ")";
}
inline void expect_close(const std::vector<float>& got, const Tensor& want, const std::string& what,
                         const Tolerance& tol) {
    expect_close(got, want.to_vector(), what, tol);
}
inline void expect_close(const Tensor& got, const Tensor& want, const std::string& what,
                         const Tolerance& tol) {
    expect_close(got.to_vector(), want.to_vector(), what, tol);
}

// A host tensor of uniform [lo, hi) values: random_floats(numel, seed, lo, hi)
// (common/gradcheck.h), generated on all cores (B0's batch-32 tensors hold up
// to 38.5M floats).
inline Tensor random_tensor(const Shape& s, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    Tensor t = Tensor::empty(s);
    float* v = t.f32();
    const int64_t n = s.numel();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * philox_uniform(seed, 98, uint64_t(i));
    return t;
}
// Uploads, fills and read-backs are ordered with the kernels by the stream
// rule (tensor/tensor.h): one device stream, read-backs synchronise it.
inline Tensor to_gpu(const Tensor& t) { return t.to(Device::CUDA); }
// A device tensor of NaN: an output a kernel never writes fails the comparison.
inline Tensor poisoned_gpu(const Shape& s) { return Tensor::full(s, NAN, Device::CUDA); }

}  // namespace effnet::test
