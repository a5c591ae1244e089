// AUROC with its uncertainty, and the comparison of two models' AUROCs on the
// same samples, by DeLong's method (DeLong, DeLong & Clarke-Pearson 1988,
// Biometrics 44:837-845) computed as Sun & Xu (2014, IEEE Signal Processing
// Letters 21:1389-1393) do, in O(n log n) from midranks.
//
// With m positives X_i and n negatives Y_j, psi(x, y) = 1 if x > y, 1/2 if
// x = y, 0 otherwise. The structural components (placements) are
//   V10_i = (1/n) sum_j psi(X_i, Y_j)     (one per positive)
//   V01_j = (1/m) sum_i psi(X_i, Y_j)     (one per negative)
// AUROC is the mean of either (the Mann-Whitney statistic of io/metrics.h).
// From midranks: V10_i = (Tz_i - Tx_i) / n and V01_j = 1 - (Tz_j - Ty_j) / m,
// with Tz the midranks over all samples, Tx among the positives, Ty among the
// negatives. For models r, s:
//   S10[r][s] = sum_i (V10_i^r - A^r)(V10_i^s - A^s) / (m - 1)
//   S01[r][s] = sum_j (V01_j^r - A^r)(V01_j^s - A^s) / (n - 1)
//   Cov(A^r, A^s) = S10[r][s] / m + S01[r][s] / n.
// The 95% interval is A +- 1.96 sqrt(Var), clipped to [0, 1]. The paired
// test: d = A^a - A^b, Var(d) = Var(A^a) + Var(A^b) - 2 Cov(A^a, A^b),
// z = d / sqrt(Var(d)), two-sided p = 2 (1 - Phi(|z|)), d +- 1.96 sqrt(Var(d)).
// Var(d) is computed as the variance of the placement differences
// V^a - V^b, which equals the sum above without its cancellation.
//
// A variance needs at least 2 positives and 2 negatives; with fewer, or with a
// class absent, the values that cannot be computed are NaN. When Var(d) is 0,
// z and p are NaN unless d is 0 too (then z = 0, p = 1).
#pragma once

#include <cstdint>
#include <vector>

namespace effnet {

// Midranks (1-based, ties get the mean of their ranks), O(n log n).
std::vector<double> midranks(const std::vector<double>& x);

struct Placements {
    std::vector<double> v10;  // per positive, in sample order
    std::vector<double> v01;  // per negative, in sample order
};
Placements delong_placements(const std::vector<double>& score, const std::vector<int>& label);

struct DelongAuc {
    int64_t positives = 0, negatives = 0;
    double auroc = 0, variance = 0, se = 0, lo = 0, hi = 0;
};
DelongAuc delong_auroc(const std::vector<double>& score, const std::vector<int>& label);

struct PairedDelong {
    DelongAuc a, b;
    double covariance = 0;
    double difference = 0, variance = 0, se = 0, lo = 0, hi = 0;  // of A^a - A^b
    double z = 0, p_value = 0;
};
// Both models scored the same samples, in the same order.
PairedDelong delong_paired_test(const std::vector<double>& score_a,
                                const std::vector<double>& score_b, const std::vector<int>& label);

// The AUROC interval as the report asks for it: DeLong's, or the seeded
// percentile bootstrap of io/metrics.h (`rounds` resamples, `seed`).
enum class AurocInterval { DELONG, BOOTSTRAP };
struct AurocEstimate {
    double auroc = 0, lo = 0, hi = 0;
    AurocInterval method = AurocInterval::DELONG;
};
AurocEstimate auroc_with_interval(const std::vector<double>& score, const std::vector<int>& label,
                                  AurocInterval method, int rounds = 1000, uint64_t seed = 1);

// Two-sided p-value of a standard normal statistic, 2 (1 - Phi(|z|)).
double two_sided_p(double z);

}  // namespace effnet
