// The weight/input formula of scripts/parity/make_golden.py, reproduced in
// C++ so the parity test needs no weights file. See that script's docstring.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace effnet::test {

inline std::vector<double> parity_uniform(const std::string& name, int64_t n) {
    uint64_t h = 0;
    for (unsigned char c : name) h = h * 131 + c;
    std::vector<double> s(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        uint64_t z = h + 0x9E3779B97F4A7C15ull * uint64_t(i + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        s[size_t(i)] = double(z >> 11) * (2.0 / 9007199254740992.0) - 1.0;  // [-1, 1)
    }
    return s;
}

// Values of the tensor `name` with PyTorch shape `shape`, in PyTorch's flat order.
inline std::vector<float> parity_values(const std::string& name,
                                        const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    const std::vector<double> s = parity_uniform(name, n);
    const std::string leaf = name.substr(name.rfind('.') + 1);
    const std::string module = name.substr(0, name.rfind('.'));
    const std::string module_leaf =
        module.substr(module.rfind('.') == std::string::npos ? 0 : module.rfind('.') + 1);
    const bool bn = module_leaf.rfind("bn", 0) == 0;
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const double x = s[size_t(i)];
        double y;
        if (leaf == "weight" && shape.size() >= 2) {
            int64_t fan_in = 1;
            for (size_t k = 1; k < shape.size(); ++k) fan_in *= shape[k];
            y = x * std::sqrt(1.0 / double(fan_in));
        } else if (leaf == "bias" && !bn) {
            y = 0.05 * x;
        } else if (leaf == "weight") {
            y = 1 + 0.1 * x;
        } else if (leaf == "bias") {
            y = 0.1 * x;
        } else if (leaf == "running_mean") {
            y = 0.1 * x;
        } else {
            y = 1 + 0.25 * (1 + x);  // running_var
        }
        v[size_t(i)] = float(y);
    }
    return v;
}

}  // namespace effnet::test
