#include "io/subgroups.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "io/roc_statistics.h"
#include "io/score_checks.h"
#include "tensor/error.h"

namespace effnet {

namespace {
// "age=5-17" < "age=18-39": equal keys, then values compared by their leading
// numbers where both have one, then as text.
bool group_less(const std::string& a, const std::string& b) {
    const size_t ea = a.find('='), eb = b.find('=');
    const std::string ka = a.substr(0, ea), kb = b.substr(0, eb);
    if (ka != kb) return ka < kb;
    const std::string va = a.substr(ea + 1), vb = b.substr(eb + 1);
    const bool na = !va.empty() && std::isdigit(static_cast<unsigned char>(va[0]));
    const bool nb = !vb.empty() && std::isdigit(static_cast<unsigned char>(vb[0]));
    if (na && nb) {
        const double xa = std::strtod(va.c_str(), nullptr), xb = std::strtod(vb.c_str(), nullptr);
        if (xa != xb) return xa < xb;
    } else if (na != nb) {
        return na;  // numbered bands before "unknown" and other words
    }
    return va < vb;
}
}  // namespace

std::vector<SubgroupResult> subgroup_report(const std::vector<double>& prob,
                                            const std::vector<int>& label,
                                            const std::vector<std::vector<std::string>>& tags,
                                            double threshold, const SubgroupOptions& options) {
    check_scores_and_labels("subgroup_report", prob, label);
    EFFNET_CHECK(tags.size() == prob.size(), "subgroup_report: tags for " << tags.size() << " of "
                                                                          << prob.size()
                                                                          << " samples");
    std::map<std::string, std::vector<size_t>> members;
    for (size_t i = 0; i < tags.size(); ++i)
        for (const std::string& t : tags[i]) {
            EFFNET_CHECK(t.find('=') != std::string::npos, "subgroup_report: sample "
                                                               << i << " has tag '" << t
                                                               << "' (expected key=value)");
            std::vector<size_t>& m = members[t];
            if (m.empty() || m.back() != i)
                m.push_back(i);  // a tag repeated on one sample counts once
        }
    std::vector<SubgroupResult> out;
    for (const auto& [group, idx] : members) {
        SubgroupResult r;
        r.group = group;
        std::vector<double> p;
        std::vector<int> y;
        for (size_t i : idx) {
            p.push_back(prob[i]);
            y.push_back(label[i]);
        }
        const OperatingPoint op = evaluate_operating_point(p, y, threshold);
        r.n = int64_t(idx.size());
        r.positives = op.tp + op.fn;
        r.negatives = op.tn + op.fp;
        r.sensitivity = op.sensitivity;
        r.specificity = op.specificity;
        r.sensitivity_too_small = r.positives < options.min_per_class;
        r.specificity_too_small = r.negatives < options.min_per_class;
        r.auroc_too_small = r.sensitivity_too_small || r.specificity_too_small;
        auto withhold = [](Proportion& q) { q.value = q.lo = q.hi = NAN; };
        if (r.sensitivity_too_small) withhold(r.sensitivity);
        if (r.specificity_too_small) withhold(r.specificity);
        if (r.auroc_too_small) {
            r.auroc = r.auroc_lo = r.auroc_hi = NAN;
        } else {
            const DelongAuc d = delong_auroc(p, y);
            r.auroc = d.auroc;
            r.auroc_lo = d.lo;
            r.auroc_hi = d.hi;
        }
        out.push_back(r);
    }
    std::sort(out.begin(), out.end(), [](const SubgroupResult& a, const SubgroupResult& b) {
        return group_less(a.group, b.group);
    });
    return out;
}

std::string subgroup_table_text(const std::vector<SubgroupResult>& results,
                                const SubgroupOptions& options) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "%-18s %6s %6s %6s  %-22s %-22s %-22s\n", "subgroup", "n", "pos",
                  "neg", "AUROC (95% CI)", "sensitivity (95% CI)", "specificity (95% CI)");
    std::string out = buf;
    auto cell = [&](bool too_small, double v, double lo, double hi) {
        if (too_small) return std::string("n too small");
        char c[64];
        std::snprintf(c, sizeof c, "%.3f (%.3f-%.3f)", v, lo, hi);
        return std::string(c);
    };
    for (const SubgroupResult& r : results) {
        const Proportion &se = r.sensitivity, &sp = r.specificity;
        std::snprintf(buf, sizeof buf, "%-18s %6lld %6lld %6lld  %-22s %-22s %-22s\n",
                      r.group.c_str(), (long long)r.n, (long long)r.positives,
                      (long long)r.negatives,
                      cell(r.auroc_too_small, r.auroc, r.auroc_lo, r.auroc_hi).c_str(),
                      cell(r.sensitivity_too_small, se.value, se.lo, se.hi).c_str(),
                      cell(r.specificity_too_small, sp.value, sp.lo, sp.hi).c_str());
        out += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "(n too small: fewer than %lld samples of a class the figure needs)\n",
                  (long long)options.min_per_class);
    return out + buf;
}

double parse_age_years(const std::string& text) {
    const size_t a = text.find_first_not_of(" \t"), b = text.find_last_not_of(" \t");
    if (a == std::string::npos) return NAN;
    const std::string t = text.substr(a, b - a + 1);
    // DICOM AS: nnnD, nnnW, nnnM or nnnY.
    if (t.size() == 4 && std::isdigit(static_cast<unsigned char>(t[0])) &&
        std::isdigit(static_cast<unsigned char>(t[1])) &&
        std::isdigit(static_cast<unsigned char>(t[2]))) {
        const double v = std::atoi(t.substr(0, 3).c_str());
        switch (t[3]) {
            case 'Y':
                return v;
            case 'M':
                return v / 12;
            case 'W':
                return v * 7 / 365.25;
            case 'D':
                return v / 365.25;
            default:
                break;
        }
    }
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (end != t.c_str() + t.size() || !std::isfinite(v)) return NAN;
    return v;
}

std::string age_band(double years, const std::vector<int>& edges) {
    EFFNET_CHECK(!edges.empty() && std::is_sorted(edges.begin(), edges.end()) &&
                     std::adjacent_find(edges.begin(), edges.end()) == edges.end() &&
                     edges.front() > 0,
                 "age_band: edges must be positive and strictly increasing");
    if (!(years >= 0 && years <= 120)) return "unknown";
    const int whole = int(std::floor(years));
    int lower = 0;
    for (int e : edges) {
        if (whole < e) return std::to_string(lower) + "-" + std::to_string(e - 1);
        lower = e;
    }
    return std::to_string(lower) + "+";
}

std::string age_tag(double years, const std::vector<int>& edges) {
    return "age=" + age_band(years, edges);
}

}  // namespace effnet
