// The numbers of effnet_bench: one aligned text line and one JSON member each.
#pragma once

#include <cstdio>
#include <sstream>
#include <string>

namespace effnet {

struct BenchReport {
    std::ostringstream text, json;
    bool first = true;
    void number(const std::string& key, double v, const std::string& label, const char* unit) {
        char b[160];
        std::snprintf(b, sizeof b, "%-44s %10.2f %s\n", label.c_str(), v, unit);
        text << b;
        json << (first ? "" : ",\n  ") << "\"" << key << "\": " << v;
        first = false;
    }
};

// GPU kernels on B0's shapes at `batch`: time, achieved GB/s and GFLOP/s as
// shares of the measured copy bandwidth and FMA rate, effnet's own kernels
// against cuDNN's (apps/bench_kernels.cpp).
void bench_gpu_kernels(int64_t batch, int repeats, BenchReport& rep);

}  // namespace effnet
