// Per-channel sums over the rows of an [M, C] matrix, in double, on OpenMP
// threads (each thread sums its rows privately, then the partials are added).
#pragma once

#include <cstdint>
#include <vector>

namespace effnet::cpu {

// out1[c] = sum_r f1(r, c), out2[c] = sum_r f2(r, c), for r in [0, m).
template <class F1, class F2>
void channel_sums2(int64_t m, int64_t c, F1 f1, F2 f2, std::vector<double>& out1, std::vector<double>& out2) {
    out1.assign(c, 0.0);
    out2.assign(c, 0.0);
#pragma omp parallel
    {
        std::vector<double> a(c, 0.0), b(c, 0.0);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < m; ++r)
            for (int64_t j = 0; j < c; ++j) {
                a[j] += f1(r, j);
                b[j] += f2(r, j);
            }
#pragma omp critical
        for (int64_t j = 0; j < c; ++j) {
            out1[j] += a[j];
            out2[j] += b[j];
        }
    }
}

}  // namespace effnet::cpu
