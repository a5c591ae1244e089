// Per-channel sums over the rows of an [M, C] matrix, in double, on OpenMP
// threads. Each thread sums a fixed (static) share of the rows privately and
// the partials are added in thread order, so results are bit-reproducible
// for a given thread count.
#pragma once

#include <omp.h>

#include <cstdint>
#include <vector>

namespace effnet::cpu {

// out1[c] = sum_r f1(r, c), out2[c] = sum_r f2(r, c), for r in [0, m).
template <class F1, class F2>
void channel_sums2(int64_t m, int64_t c, F1 f1, F2 f2, std::vector<double>& out1,
                   std::vector<double>& out2) {
    const int threads = omp_get_max_threads();
    std::vector<std::vector<double>> a(threads), b(threads);
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num();
        a[t].assign(c, 0.0);
        b[t].assign(c, 0.0);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < m; ++r)
            for (int64_t j = 0; j < c; ++j) {
                a[t][j] += f1(r, j);
                b[t][j] += f2(r, j);
            }
    }
    out1.assign(c, 0.0);
    out2.assign(c, 0.0);
    for (int t = 0; t < threads; ++t)
        for (int64_t j = 0; j < c && !a[t].empty(); ++j) {
            out1[j] += a[t][j];
            out2[j] += b[t][j];
        }
}

}  // namespace effnet::cpu
