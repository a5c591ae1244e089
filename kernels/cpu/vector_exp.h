// exp() that the compiler can vectorise: std::exp is a scalar libm call, and
// with it swish and sigmoid took over a third of the CPU inference time.
//
// float: range reduction x = n ln2 + r (|r| <= ln2/2, ln2 split in two for
// exactness), a degree-6 polynomial for e^r (Cephes' expf coefficients), and
// 2^n assembled in the exponent bits. Inputs are clamped to [-87.3, 88.37],
// where e^x is a normal float: below, the result is e^-87.3 ~ 1.2e-38 instead
// of a denormal or zero (irrelevant inside sigmoid and swish). Relative error
// below 2 ulp over the range (tests/kernels/test_activation.cpp).
// double: std::exp (the double instantiations are the references of the
// gradient checks, not a hot path).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace effnet::cpu {

inline float vector_exp(float x) {
    x = std::min(std::max(x, -87.3f), 88.37f);
    // n = round(x / ln2) by the 1.5 * 2^23 trick (no rounding instruction needed).
    const float shifter = 12582912.0f;
    const float n = (x * 1.44269504088896341f + shifter) - shifter;
    const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float er = p * r * r + r + 1.0f;
    // A NaN x stays NaN through er; n itself must not be converted while NaN
    // (undefined behaviour, reported by UBSan in scripts/sanitize.sh).
    const int32_t bits = (int32_t(n == n ? n : 0.0f) + 127) << 23;
    return er * __builtin_bit_cast(float, bits);
}

inline double vector_exp(double x) { return std::exp(x); }

}  // namespace effnet::cpu
