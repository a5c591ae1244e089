// Tolerances for float32 results of long sums (weight gradients: a sum over
// every output pixel of the batch) compared with a double-accumulated CPU
// reference.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <vector>

namespace effnet::test {

// Absolute tolerance for a float32 sum of K terms of root-mean-square r,
// summed in chains of at most L = 4096 terms (a GPU thread's pixels, a
// cuBLAS/cuDNN split-K chunk) whose chain sums are then added exactly enough
// (double, or few of them). The partial sum of a chain after l random-signed
// terms is ~r*sqrt(l), and each addition rounds it by up to eps/2
// (eps = FLT_EPSILON = 2^-23): the rounding error of a chain has standard
// deviation eps*r*sqrt(sum_l l / 12) = eps*r*L/sqrt(24), and K/L chains add
// to eps*r*sqrt(K*L/24) <= 13.1*eps*r*sqrt(K). About five standard deviations:
//   atol = 64 * eps * sqrt(K) * r.
// (K = 401,408, r = 1/3: 1.6e-3, where the sums themselves are ~r*sqrt(K) = 211.)
inline double float_sum_atol(int64_t terms, double rms) {
    return 64.0 * double(FLT_EPSILON) * std::sqrt(double(terms)) * rms;
}

inline double rms(const std::vector<float>& v) {
    double s = 0;
    for (float f : v) s += double(f) * f;
    return v.empty() ? 0.0 : std::sqrt(s / double(v.size()));
}

}  // namespace effnet::test
