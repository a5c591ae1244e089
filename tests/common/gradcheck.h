// Central finite differences in double precision for checking backward
// passes. A check compares an analytic gradient of L(x) = sum_i r_i f(x)_i
// (backward run with dy = r) against (L(x + h e_j) - L(x - h e_j)) / 2h.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tensor/philox.h"

namespace effnet::test {

inline std::vector<double> random_vector(size_t n, uint64_t seed, double lo = -1.0,
                                         double hi = 1.0) {
    std::vector<double> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * philox_uniform(seed, 99, i);
    return v;
}

inline std::vector<float> random_floats(size_t n, uint64_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * philox_uniform(seed, 98, i);
    return v;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

// Numeric gradient of `loss` (a function of the whole vector) at x, perturbing each element.
template <class Loss>
std::vector<double> numeric_gradient(std::vector<double> x, Loss loss, double h = 1e-5) {
    std::vector<double> g(x.size());
    for (size_t j = 0; j < x.size(); ++j) {
        const double keep = x[j];
        x[j] = keep + h;
        const double up = loss(x);
        x[j] = keep - h;
        const double down = loss(x);
        x[j] = keep;
        g[j] = (up - down) / (2 * h);
    }
    return g;
}

// max |a - n| / max(1, max |n|): the error relative to the gradient's scale.
inline double gradient_error(const std::vector<double>& analytic,
                             const std::vector<double>& numeric) {
    double err = 0, scale = 1;
    for (size_t i = 0; i < numeric.size(); ++i) {
        err = std::max(err, std::fabs(analytic[i] - numeric[i]));
        scale = std::max(scale, std::fabs(numeric[i]));
    }
    if (analytic.size() != numeric.size()) return INFINITY;
    return err / scale;
}

// Double precision: truncation error ~h^2 and rounding ~1e-16/h give ~1e-9;
// 1e-7 leaves margin while any real mistake shows as 1e-2 or worse.
constexpr double kGradTolerance = 1e-7;

}  // namespace effnet::test
