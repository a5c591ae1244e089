// The numbers of effnet_bench: one aligned text line and one JSON member each.
#pragma once

#include <cstdio>
#include <sstream>
#include <string>

#include "io/json.h"

namespace effnet {

struct BenchReport {
    std::ostringstream text;
    json::Object json;  // --json: the same numbers by key (a failed measurement is null)
    void number(const std::string& key, double v, const std::string& label, const char* unit) {
        char b[160];
        std::snprintf(b, sizeof b, "%-44s %10.2f %s\n", label.c_str(), v, unit);
        text << b;
        json.num(key, v);
    }
};

// GPU kernels on B0's shapes at `batch`: time, achieved GB/s and GFLOP/s as
// shares of the measured copy bandwidth and FMA rate, effnet's own kernels
// against cuDNN's (bench/bench_kernels.cpp).
void bench_gpu_kernels(int64_t batch, int repeats, BenchReport& rep);

}  // namespace effnet
