// Subgroup results: does the model work as well for women as for men, for AP
// as for PA films, for the over-80s? Each sample carries tags "key=value"
// ("sex=F", "view=PA", "age=60-79"); a sample may carry any number of tags and
// counts in every subgroup it is tagged with.
//
// Per subgroup: counts (n, positives, negatives), AUROC with its DeLong 95%
// interval, and sensitivity / specificity at a given threshold (predicted
// positive when prob >= threshold) with 95% Wilson intervals. Below the floor
// a figure is withheld ("n too small") but its counts are kept:
//   AUROC        needs >= min_per_class positives AND negatives,
//   sensitivity  needs >= min_per_class positives,
//   specificity  needs >= min_per_class negatives.
// The default floor is 10 of a class. Withheld values are NaN.
// Subgroups come out ordered by key, then by value with numbers compared as
// numbers ("age=5-17" before "age=18-39"; "sex=F" before "sex=M").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/operating_point.h"

namespace effnet {

struct SubgroupOptions {
    int64_t min_per_class = 10;
};

struct SubgroupResult {
    std::string group;  // the tag, "sex=F"
    int64_t n = 0, positives = 0, negatives = 0;
    bool auroc_too_small = false, sensitivity_too_small = false, specificity_too_small = false;
    double auroc = 0, auroc_lo = 0, auroc_hi = 0;  // NaN when too small
    Proportion sensitivity, specificity;           // k and n always; the rest NaN when too small
};

// `tags[i]` lists sample i's tags; a tag without '=' throws ContractError.
std::vector<SubgroupResult> subgroup_report(const std::vector<double>& prob,
                                            const std::vector<int>& label,
                                            const std::vector<std::vector<std::string>>& tags,
                                            double threshold, const SubgroupOptions& options = {});

// A table for report.txt, one line per subgroup; withheld figures read
// "n too small".
std::string subgroup_table_text(const std::vector<SubgroupResult>& results,
                                const SubgroupOptions& options = {});

// Ages as the datasets write them: a number of years ("58", "58.5"; NIH
// Data_Entry_2017.csv, CheXpert) or a DICOM age string, three digits and a
// unit ("058Y", "006M", "010W", "003D"). NaN when unreadable.
double parse_age_years(const std::string& text);
// The age band of `years` for edges e_1 < ... < e_k (default 18, 40, 60, 80):
// "0-17", "18-39", "40-59", "60-79", "80+"; band [e_i, e_{i+1}) is written
// "e_i-(e_{i+1} - 1)"; fractional years count by their whole years. "unknown"
// for NaN, a negative age or one above 120 (taken as a data-entry error).
std::string age_band(double years, const std::vector<int>& edges = {18, 40, 60, 80});
// "age=" + age_band(...).
std::string age_tag(double years, const std::vector<int>& edges = {18, 40, 60, 80});

}  // namespace effnet
