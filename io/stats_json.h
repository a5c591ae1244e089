// JSON forms of the evaluation statistics for metrics.json, one function per
// result type, each returning one JSON object as text, written with
// io/json.h's writer (6 significant digits, NaN and infinities as null);
// intervals are two-element arrays [lo, hi].
#pragma once

#include <string>
#include <vector>

#include "io/calibration.h"
#include "io/operating_point.h"
#include "io/roc_statistics.h"
#include "io/subgroups.h"
#include "io/temperature_scaling.h"

namespace effnet {

// {"k", "n", "value", "ci95"}
std::string proportion_json(const Proportion& p);
// {"n", "bins", "ece", "ece_positive_class", "brier", "nll",
//  "reliability": [{"lo", "hi", "count", "mean_confidence", "observed"}, ...] (positive class),
//  "reliability_top_label": [...]}
std::string calibration_json(const CalibrationReport& r);
// {"temperature", "nll_before", "nll_after", "evaluations", "at_bracket_edge"}
std::string temperature_json(const TemperatureFit& f);
// {"rule", "threshold", "tp", "fp", "tn", "fn", "sensitivity", "specificity", "ppv", "npv"}
// with each measure a proportion_json object.
std::string operating_point_json(const OperatingPoint& op);
// {"auroc", "se", "ci95", "positives", "negatives", "method": "delong"}
std::string delong_json(const DelongAuc& d);
// {"a": delong_json, "b": delong_json, "covariance", "difference", "se", "ci95", "z", "p_value"}
std::string paired_delong_json(const PairedDelong& t);
// [{"group", "n", "positives", "negatives", "auroc", "auroc_ci95", "sensitivity",
//   "specificity", "too_small": [names of withheld figures]}, ...]
std::string subgroups_json(const std::vector<SubgroupResult>& results);

}  // namespace effnet
