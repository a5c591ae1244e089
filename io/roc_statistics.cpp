#include "io/roc_statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "io/metrics.h"
#include "io/operating_point.h"
#include "io/score_checks.h"
#include "tensor/error.h"

namespace effnet {

std::vector<double> midranks(const std::vector<double>& x) {
    std::vector<size_t> order(x.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
    std::vector<double> rank(x.size());
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
        const double mid = (double(i) + double(j)) / 2 + 1;  // ranks i+1 .. j+1
        for (size_t k = i; k <= j; ++k) rank[order[k]] = mid;
        i = j + 1;
    }
    return rank;
}

Placements delong_placements(const std::vector<double>& score, const std::vector<int>& label) {
    check_scores_and_labels("delong_placements", score, label);
    std::vector<double> pos, neg;
    for (size_t i = 0; i < score.size(); ++i) (label[i] == 1 ? pos : neg).push_back(score[i]);
    Placements p;
    if (pos.empty() || neg.empty()) return p;
    const double m = double(pos.size()), n = double(neg.size());
    std::vector<double> all(pos);
    all.insert(all.end(), neg.begin(), neg.end());
    const std::vector<double> tz = midranks(all), tx = midranks(pos), ty = midranks(neg);
    p.v10.resize(pos.size());
    p.v01.resize(neg.size());
    // Tz_i - Tx_i counts the negatives below positive i (ties one half), and
    // Tz_j - Ty_j the positives below negative j.
    for (size_t i = 0; i < pos.size(); ++i) p.v10[i] = (tz[i] - tx[i]) / n;
    for (size_t j = 0; j < neg.size(); ++j) p.v01[j] = 1 - (tz[pos.size() + j] - ty[j]) / m;
    return p;
}

namespace {
double mean(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

// Sample covariance (divisor size - 1) of two equally long component lists.
double covariance(const std::vector<double>& a, double mean_a, const std::vector<double>& b,
                  double mean_b) {
    if (a.size() < 2) return NAN;
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += (a[i] - mean_a) * (b[i] - mean_b);
    return s / double(a.size() - 1);
}

// Cov(A^r, A^s) = S10 / m + S01 / n.
double auc_covariance(const Placements& r, double auc_r, const Placements& s, double auc_s) {
    return covariance(r.v10, auc_r, s.v10, auc_s) / double(r.v10.size()) +
           covariance(r.v01, auc_r, s.v01, auc_s) / double(r.v01.size());
}

DelongAuc summarise(const Placements& p, const std::vector<int>& label) {
    DelongAuc d;
    d.positives = std::count(label.begin(), label.end(), 1);
    d.negatives = int64_t(label.size()) - d.positives;
    if (p.v10.empty()) {
        d.auroc = d.variance = d.se = d.lo = d.hi = NAN;
        return d;
    }
    d.auroc = mean(p.v10);
    d.variance = auc_covariance(p, d.auroc, p, d.auroc);
    d.se = std::sqrt(d.variance);
    d.lo = std::isnan(d.se) ? NAN : std::max(0.0, d.auroc - kZ95 * d.se);
    d.hi = std::isnan(d.se) ? NAN : std::min(1.0, d.auroc + kZ95 * d.se);
    return d;
}
}  // namespace

DelongAuc delong_auroc(const std::vector<double>& score, const std::vector<int>& label) {
    return summarise(delong_placements(score, label), label);
}

double two_sided_p(double z) { return std::erfc(std::fabs(z) / std::sqrt(2.0)); }

PairedDelong delong_paired_test(const std::vector<double>& score_a,
                                const std::vector<double>& score_b, const std::vector<int>& label) {
    EFFNET_CHECK(score_a.size() == score_b.size(),
                 "delong_paired_test: " << score_a.size() << " scores of model a, "
                                        << score_b.size() << " of model b");
    const Placements pa = delong_placements(score_a, label), pb = delong_placements(score_b, label);
    PairedDelong t;
    t.a = summarise(pa, label);
    t.b = summarise(pb, label);
    t.difference = t.a.auroc - t.b.auroc;
    if (pa.v10.empty()) {
        t.covariance = t.variance = t.se = t.lo = t.hi = t.z = t.p_value = NAN;
        return t;
    }
    // Var(d) from the differences of the placements: the same number as
    // Var(a) + Var(b) - 2 Cov(a, b), but never negative through cancellation,
    // and exactly 0 for identical models.
    Placements diff = pa;
    for (size_t i = 0; i < diff.v10.size(); ++i) diff.v10[i] -= pb.v10[i];
    for (size_t j = 0; j < diff.v01.size(); ++j) diff.v01[j] -= pb.v01[j];
    t.variance = auc_covariance(diff, t.difference, diff, t.difference);
    t.covariance = auc_covariance(pa, t.a.auroc, pb, t.b.auroc);
    t.se = std::sqrt(t.variance);
    t.lo = t.difference - kZ95 * t.se;
    t.hi = t.difference + kZ95 * t.se;
    if (t.variance > 0) {
        t.z = t.difference / t.se;
        t.p_value = two_sided_p(t.z);
    } else if (t.variance == 0 && t.difference == 0) {
        t.z = 0;
        t.p_value = 1;
    } else {
        t.z = t.p_value = NAN;
    }
    return t;
}

AurocEstimate auroc_with_interval(const std::vector<double>& score, const std::vector<int>& label,
                                  AurocInterval method, int rounds, uint64_t seed) {
    AurocEstimate e;
    e.method = method;
    if (method == AurocInterval::DELONG) {
        const DelongAuc d = delong_auroc(score, label);
        e.auroc = d.auroc;
        e.lo = d.lo;
        e.hi = d.hi;
        return e;
    }
    check_scores_and_labels("auroc_with_interval", score, label);
    e.auroc = auroc(score, label);
    auroc_bootstrap(score, label, rounds, seed, e.lo, e.hi);
    return e;
}

}  // namespace effnet
