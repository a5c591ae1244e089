#include "io/stats_json.h"

#include <cmath>
#include <cstdio>

#include "io/json.h"

namespace effnet {

namespace {

using json::array;
using json::interval;
using json::number;
using json::Object;

std::string bin_json(const ReliabilityBin& b) {
    return Object()
        .num("lo", b.lo)
        .num("hi", b.hi)
        .integer("count", b.count)
        .num("mean_confidence", b.mean_confidence)
        .num("observed", b.observed)
        .str();
}
}  // namespace

std::string proportion_json(const Proportion& p) {
    return Object()
        .integer("k", p.k)
        .integer("n", p.n)
        .num("value", p.value)
        .raw("ci95", interval(p.lo, p.hi))
        .str();
}

std::string calibration_json(const CalibrationReport& r) {
    return Object()
        .integer("n", r.n)
        .integer("bins", r.bins)
        .num("ece", r.ece)
        .num("ece_positive_class", r.ece_positive_class)
        .num("brier", r.brier)
        .num("nll", r.nll)
        .raw("reliability", array(r.positive_class, bin_json))
        .raw("reliability_top_label", array(r.top_label, bin_json))
        .str();
}

std::string temperature_json(const TemperatureFit& f) {
    return Object()
        .num("temperature", f.temperature)
        .num("nll_before", f.nll_before)
        .num("nll_after", f.nll_after)
        .integer("evaluations", f.evaluations)
        .boolean("at_bracket_edge", f.at_bracket_edge)
        .str();
}

std::string operating_point_json(const OperatingPoint& op) {
    return Object()
        .text("rule", to_string(op.spec))
        .num("threshold", op.threshold)
        .integer("tp", op.tp)
        .integer("fp", op.fp)
        .integer("tn", op.tn)
        .integer("fn", op.fn)
        .raw("sensitivity", proportion_json(op.sensitivity))
        .raw("specificity", proportion_json(op.specificity))
        .raw("ppv", proportion_json(op.ppv))
        .raw("npv", proportion_json(op.npv))
        .str();
}

std::string delong_json(const DelongAuc& d) {
    return Object()
        .num("auroc", d.auroc)
        .num("se", d.se)
        .raw("ci95", interval(d.lo, d.hi))
        .integer("positives", d.positives)
        .integer("negatives", d.negatives)
        .text("method", "delong")
        .str();
}

std::string paired_delong_json(const PairedDelong& t) {
    return Object()
        .raw("a", delong_json(t.a))
        .raw("b", delong_json(t.b))
        .num("covariance", t.covariance)
        .num("difference", t.difference)
        .num("se", t.se)
        .raw("ci95", interval(t.lo, t.hi))
        .num("z", t.z)
        .num("p_value", t.p_value)
        .str();
}

std::string subgroups_json(const std::vector<SubgroupResult>& results) {
    return array(results, [](const SubgroupResult& r) {
        std::vector<std::string> withheld;
        if (r.auroc_too_small) withheld.push_back("auroc");
        if (r.sensitivity_too_small) withheld.push_back("sensitivity");
        if (r.specificity_too_small) withheld.push_back("specificity");
        return Object()
            .text("group", r.group)
            .integer("n", r.n)
            .integer("positives", r.positives)
            .integer("negatives", r.negatives)
            .num("auroc", r.auroc)
            .raw("auroc_ci95", interval(r.auroc_lo, r.auroc_hi))
            .raw("sensitivity", proportion_json(r.sensitivity))
            .raw("specificity", proportion_json(r.specificity))
            .raw("too_small", array(withheld, [](const std::string& s) { return json::quote(s); }))
            .str();
    });
}

}  // namespace effnet
