#include "io/operating_point.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numeric>

#include "io/metrics.h"
#include "io/score_checks.h"
#include "tensor/error.h"

namespace effnet {

Proportion wilson_interval(int64_t k, int64_t n, double z) {
    EFFNET_CHECK(n >= 0 && k >= 0 && k <= n, "wilson_interval: " << k << " of " << n);
    Proportion p;
    p.k = k;
    p.n = n;
    if (n == 0) {
        p.value = p.lo = p.hi = NAN;
        return p;
    }
    const double nn = double(n), ph = double(k) / nn, z2 = z * z;
    const double denom = 1 + z2 / nn;
    const double centre = (ph + z2 / (2 * nn)) / denom;
    const double half = z / denom * std::sqrt(ph * (1 - ph) / nn + z2 / (4 * nn * nn));
    p.value = ph;
    // At k = 0 and k = n the bound is exactly 0 or 1; rounding must not move it.
    p.lo = k == 0 ? 0.0 : std::max(0.0, centre - half);
    p.hi = k == n ? 1.0 : std::min(1.0, centre + half);
    return p;
}

namespace {
std::string trim(const std::string& s) {
    const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::string number_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}
}  // namespace

OperatingPointSpec parse_operating_point(const std::string& text) {
    const std::string t = trim(text);
    const std::string usage =
        "operating point '" + text + "': expected youden, sens=X, spec=X or threshold=X";
    OperatingPointSpec spec;
    if (t == "youden") return spec;
    const size_t eq = t.find('=');
    EFFNET_CHECK(eq != std::string::npos, usage);
    const std::string key = trim(t.substr(0, eq)), value = trim(t.substr(eq + 1));
    if (key == "sens" || key == "sensitivity")
        spec.rule = OperatingRule::SENSITIVITY;
    else if (key == "spec" || key == "specificity")
        spec.rule = OperatingRule::SPECIFICITY;
    else if (key == "threshold")
        spec.rule = OperatingRule::FIXED;
    else
        EFFNET_CHECK(false, usage);
    char* end = nullptr;
    spec.target = std::strtod(value.c_str(), &end);
    EFFNET_CHECK(
        !value.empty() && end == value.c_str() + value.size() && std::isfinite(spec.target),
        usage << " ('" << value << "' is not a number)");
    if (spec.rule != OperatingRule::FIXED)
        EFFNET_CHECK(spec.target > 0 && spec.target <= 1,
                     "operating point '" << text << "': the target must lie in (0, 1]");
    return spec;
}

std::string to_string(const OperatingPointSpec& spec) {
    switch (spec.rule) {
        case OperatingRule::YOUDEN:
            return "youden";
        case OperatingRule::SENSITIVITY:
            return "sens=" + number_text(spec.target);
        case OperatingRule::SPECIFICITY:
            return "spec=" + number_text(spec.target);
        case OperatingRule::FIXED:
            return "threshold=" + number_text(spec.target);
    }
    return "?";
}

double choose_threshold(const std::vector<double>& prob, const std::vector<int>& label,
                        const OperatingPointSpec& spec) {
    check_scores_and_labels("choose_threshold", prob, label);
    if (spec.rule == OperatingRule::FIXED) return spec.target;
    if (spec.rule == OperatingRule::YOUDEN) return youden_threshold(prob, label);
    const int64_t P = std::count(label.begin(), label.end(), 1);
    const int64_t N = int64_t(label.size()) - P;
    std::vector<size_t> order(prob.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return prob[a] < prob[b]; });
    // A count c meets a target fraction of `total` when c >= target * total;
    // the slack absorbs the rounding of decimal targets such as 0.9.
    auto meets = [&](int64_t c, int64_t total) { return double(c) >= spec.target * total - 1e-9; };
    if (spec.rule == OperatingRule::SENSITIVITY) {
        EFFNET_CHECK(P > 0, "choose_threshold " << to_string(spec) << ": no positive samples");
        // Walking down the scores, tp counts the positives at or above the
        // current one. Inside a run of tied scores the count is partial, but
        // the whole run shares the value returned and only adds to tp.
        int64_t tp = 0;
        for (size_t i = order.size(); i-- > 0;) {
            tp += label[order[i]];
            if (meets(tp, P)) return prob[order[i]];
        }
        return prob[order.front()];  // unreachable: the lowest score gives sensitivity 1
    }
    EFFNET_CHECK(N > 0, "choose_threshold " << to_string(spec) << ": no negative samples");
    int64_t tn = 0;  // negatives scoring below the current distinct value
    for (size_t i = 0; i < order.size(); ++i) {
        if ((i == 0 || prob[order[i - 1]] != prob[order[i]]) && meets(tn, N)) return prob[order[i]];
        tn += 1 - label[order[i]];
    }
    return std::nextafter(prob[order.back()], std::numeric_limits<double>::infinity());
}

OperatingPoint evaluate_operating_point(const std::vector<double>& prob,
                                        const std::vector<int>& label, double threshold,
                                        const OperatingPointSpec& spec) {
    check_scores_and_labels("evaluate_operating_point", prob, label);
    OperatingPoint op;
    op.spec = spec;
    op.threshold = threshold;
    for (size_t i = 0; i < prob.size(); ++i) {
        const bool predicted = prob[i] >= threshold;
        if (label[i] == 1)
            (predicted ? op.tp : op.fn)++;
        else
            (predicted ? op.fp : op.tn)++;
    }
    op.sensitivity = wilson_interval(op.tp, op.tp + op.fn);
    op.specificity = wilson_interval(op.tn, op.tn + op.fp);
    op.ppv = wilson_interval(op.tp, op.tp + op.fp);
    op.npv = wilson_interval(op.tn, op.tn + op.fn);
    return op;
}

OperatingPoint operating_point(const OperatingPointSpec& spec,
                               const std::vector<double>& choose_prob,
                               const std::vector<int>& choose_label,
                               const std::vector<double>& prob, const std::vector<int>& label) {
    return evaluate_operating_point(prob, label, choose_threshold(choose_prob, choose_label, spec),
                                    spec);
}

std::string operating_point_text(const OperatingPoint& op) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "operating point %s: threshold %.4f\n",
                  to_string(op.spec).c_str(), op.threshold);
    std::string out = buf;
    auto line = [&](const char* name, const Proportion& p) {
        std::snprintf(buf, sizeof buf, "  %-12s %.3f (95%% CI %.3f-%.3f)  %lld/%lld\n", name,
                      p.value, p.lo, p.hi, (long long)p.k, (long long)p.n);
        out += buf;
    };
    line("sensitivity", op.sensitivity);
    line("specificity", op.specificity);
    line("PPV", op.ppv);
    line("NPV", op.npv);
    return out;
}

}  // namespace effnet
