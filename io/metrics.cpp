#include "io/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "io/json.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace effnet {

namespace {
ClassStats stats(int64_t tp, int64_t fp, int64_t fn) {
    ClassStats s;
    s.precision = tp + fp ? double(tp) / double(tp + fp) : 0.0;
    s.recall = tp + fn ? double(tp) / double(tp + fn) : 0.0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
    s.support = tp + fn;
    return s;
}

// Python's str.format of a float with "{:>9.{d}f}".
std::string fixed(double v, int width, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%*.*f", width, digits, v);
    return buf;
}
std::string right(const std::string& s, int width) {
    return s.size() >= size_t(width) ? s : std::string(size_t(width) - s.size(), ' ') + s;
}
}  // namespace

double auroc(const std::vector<double>& prob, const std::vector<int>& label) {
    EFFNET_CHECK(prob.size() == label.size(),
                 "auroc: " << prob.size() << " scores for " << label.size() << " labels");
    std::vector<size_t> idx(prob.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return prob[a] < prob[b]; });
    // Mid-ranks for ties; AUC = (sum of positive ranks - P(P+1)/2) / (P N).
    double pos_rank_sum = 0;
    int64_t P = 0;
    for (size_t i = 0; i < idx.size();) {
        size_t j = i;
        while (j + 1 < idx.size() && prob[idx[j + 1]] == prob[idx[i]]) ++j;
        const double rank = (double(i) + double(j)) / 2 + 1;
        for (size_t k = i; k <= j; ++k)
            if (label[idx[k]] == 1) {
                pos_rank_sum += rank;
                ++P;
            }
        i = j + 1;
    }
    const int64_t N = int64_t(prob.size()) - P;
    if (P == 0 || N == 0) return NAN;
    return (pos_rank_sum - double(P) * double(P + 1) / 2) / (double(P) * double(N));
}

void auroc_bootstrap(const std::vector<double>& prob, const std::vector<int>& label, int rounds,
                     uint64_t seed, double& lo, double& hi) {
    std::vector<double> values;
    std::vector<double> p(prob.size());
    std::vector<int> l(prob.size());
    for (int r = 0; r < rounds; ++r) {
        for (size_t i = 0; i < prob.size(); ++i) {
            const size_t k = size_t(mix64(seed ^ mix64(uint64_t(r) * 1000003 + i)) % prob.size());
            p[i] = prob[k];
            l[i] = label[k];
        }
        const double a = auroc(p, l);
        if (!std::isnan(a)) values.push_back(a);
    }
    if (values.empty()) {
        lo = hi = NAN;
        return;
    }
    std::sort(values.begin(), values.end());
    auto pct = [&](double q) {
        return values[size_t(std::floor(q * double(values.size() - 1) + 0.5))];
    };
    lo = pct(0.025);
    hi = pct(0.975);
}

double youden_threshold(const std::vector<double>& prob, const std::vector<int>& label) {
    std::vector<double> cand(prob);
    std::sort(cand.begin(), cand.end());
    cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
    int64_t P = 0;
    for (int y : label) P += y == 1;
    const int64_t N = int64_t(label.size()) - P;
    if (P == 0 || N == 0) return 0.5;
    double best_j = -2, best_t = 0.5;
    for (double t : cand) {
        int64_t tp = 0, tn = 0;
        for (size_t i = 0; i < prob.size(); ++i) {
            tp += prob[i] >= t && label[i] == 1;
            tn += prob[i] < t && label[i] == 0;
        }
        const double j = double(tp) / P + double(tn) / N - 1;
        if (j > best_j + 1e-12 ||
            (std::fabs(j - best_j) <= 1e-12 && std::fabs(t - 0.5) < std::fabs(best_t - 0.5))) {
            best_j = j;
            best_t = t;
        }
    }
    return best_t;
}

BinaryReport binary_report(const std::vector<double>& prob, const std::vector<int>& label,
                           double threshold, int bootstrap_rounds, uint64_t seed) {
    EFFNET_CHECK(prob.size() == label.size() && !prob.empty(),
                 "binary_report needs equally many scores and labels");
    BinaryReport r;
    r.threshold = threshold;
    r.n = int64_t(prob.size());
    for (size_t i = 0; i < prob.size(); ++i) {
        const bool pred = prob[i] >= threshold;
        if (label[i] == 1)
            (pred ? r.tp : r.fn)++;
        else
            (pred ? r.fp : r.tn)++;
    }
    r.cls[1] = stats(r.tp, r.fp, r.fn);
    r.cls[0] = stats(r.tn, r.fn, r.fp);
    r.accuracy = double(r.tp + r.tn) / double(r.n);
    for (int c = 0; c < 2; ++c) {
        const double w = double(r.cls[c].support) / double(r.n);
        r.macro.precision += r.cls[c].precision / 2;
        r.macro.recall += r.cls[c].recall / 2;
        r.macro.f1 += r.cls[c].f1 / 2;
        r.weighted.precision += r.cls[c].precision * w;
        r.weighted.recall += r.cls[c].recall * w;
        r.weighted.f1 += r.cls[c].f1 * w;
    }
    r.macro.support = r.weighted.support = r.n;
    r.sensitivity = r.cls[1].recall;
    r.specificity = r.cls[0].recall;
    r.auroc = auroc(prob, label);
    auroc_bootstrap(prob, label, bootstrap_rounds, seed, r.auroc_lo, r.auroc_hi);
    return r;
}

std::string classification_report(const BinaryReport& r, int digits) {
    const int width = 12;  // len("weighted avg")
    std::ostringstream os;
    os << std::string(width, ' ') << " " << right("precision", 10) << right("recall", 10)
       << right("f1-score", 10) << right("support", 10) << "\n\n";
    auto row = [&](const std::string& name, const ClassStats& s) {
        os << right(name, width) << " "
           << " " << fixed(s.precision, 9, digits) << " " << fixed(s.recall, 9, digits) << " "
           << fixed(s.f1, 9, digits) << " " << right(std::to_string(s.support), 9) << "\n";
    };
    row("0", r.cls[0]);
    row("1", r.cls[1]);
    os << "\n";
    os << right("accuracy", width) << " " << std::string(20, ' ') << " "
       << fixed(r.accuracy, 9, digits) << " " << right(std::to_string(r.n), 9) << "\n";
    row("macro avg", r.macro);
    row("weighted avg", r.weighted);
    return os.str();
}

std::string confusion_matrix_text(const BinaryReport& r) {
    std::ostringstream os;
    os << "confusion matrix (rows: true label, columns: predicted)\n"
       << "          pred 0  pred 1\n"
       << "true 0  " << right(std::to_string(r.tn), 8) << right(std::to_string(r.fp), 8) << "\n"
       << "true 1  " << right(std::to_string(r.fn), 8) << right(std::to_string(r.tp), 8) << "\n";
    return os.str();
}

std::string report_json(const BinaryReport& r) {
    auto cls = [](const ClassStats& c) {
        return json::Object()
            .num("precision", c.precision)
            .num("recall", c.recall)
            .num("f1-score", c.f1)
            .integer("support", c.support)
            .str();
    };
    const std::string confusion = "[[" + std::to_string(r.tn) + ", " + std::to_string(r.fp) +
                                  "], [" + std::to_string(r.fn) + ", " + std::to_string(r.tp) +
                                  "]]";
    return json::Object()
        .raw("0", cls(r.cls[0]))
        .raw("1", cls(r.cls[1]))
        .num("accuracy", r.accuracy)
        .raw("macro avg", cls(r.macro))
        .raw("weighted avg", cls(r.weighted))
        .raw("confusion_matrix", confusion)
        .num("auroc", r.auroc)
        .raw("auroc_ci95", json::interval(r.auroc_lo, r.auroc_hi))
        .num("threshold", r.threshold)
        .num("sensitivity", r.sensitivity)
        .num("specificity", r.specificity)
        .integer("n", r.n)
        .str();
}

}  // namespace effnet
