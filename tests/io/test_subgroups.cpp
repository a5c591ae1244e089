#include <gtest/gtest.h>

#include <cmath>

#include "io/roc_statistics.h"
#include "io/subgroups.h"
#include "tensor/error.h"

using namespace effnet;

namespace {
// 50 samples: sex=F for i < 30 (15 positives, 15 negatives), sex=M for the
// other 20 (9 positives, 11 negatives: below the floor of 10 positives).
// Every sample also carries an age tag: "age=18-39" for even i, "age=80+"
// for odd i. Scores: positives 0.55 + 0.01 i, negatives 0.6 - 0.01 i, so
// overlapping but ordered by index.
struct Cohort {
    std::vector<double> p;
    std::vector<int> y;
    std::vector<std::vector<std::string>> tags;
};
Cohort cohort() {
    Cohort c;
    for (int i = 0; i < 50; ++i) {
        const bool female = i < 30;
        const int y = female ? (i % 2) : (i < 39 ? 1 : 0);
        c.y.push_back(y);
        c.p.push_back(y ? 0.55 + 0.01 * i : 0.6 - 0.01 * i);
        c.tags.push_back({female ? "sex=F" : "sex=M", i % 2 == 0 ? "age=18-39" : "age=80+"});
    }
    return c;
}

std::vector<double> pick(const std::vector<double>& v, const std::vector<size_t>& idx) {
    std::vector<double> out;
    for (size_t i : idx) out.push_back(v[i]);
    return out;
}
}  // namespace

TEST(Subgroups, CountsFiguresAndTheFloor) {
    const Cohort c = cohort();
    const auto r = subgroup_report(c.p, c.y, c.tags, 0.505);
    ASSERT_EQ(r.size(), 4u);
    // Ordered by key, then value, numbers as numbers.
    EXPECT_EQ(r[0].group, "age=18-39");
    EXPECT_EQ(r[1].group, "age=80+");
    EXPECT_EQ(r[2].group, "sex=F");
    EXPECT_EQ(r[3].group, "sex=M");

    const SubgroupResult& f = r[2];
    EXPECT_EQ(f.n, 30);
    EXPECT_EQ(f.positives, 15);
    EXPECT_EQ(f.negatives, 15);
    EXPECT_FALSE(f.auroc_too_small || f.sensitivity_too_small || f.specificity_too_small);
    std::vector<size_t> idx;
    std::vector<int> yf;
    for (size_t i = 0; i < 30; ++i) idx.push_back(i), yf.push_back(c.y[i]);
    const DelongAuc d = delong_auroc(pick(c.p, idx), yf);
    EXPECT_EQ(f.auroc, d.auroc);
    EXPECT_EQ(f.auroc_lo, d.lo);
    EXPECT_EQ(f.auroc_hi, d.hi);
    // At threshold 0.505: female positives are i = 1, 3, ..., 29 with
    // p = 0.56 ... 0.84, all predicted positive; female negatives i = 0, 2, ..., 28
    // with p = 0.60 ... 0.32 are predicted negative for i >= 10 (10 of 15).
    EXPECT_EQ(f.sensitivity.k, 15);
    EXPECT_EQ(f.sensitivity.n, 15);
    EXPECT_EQ(f.specificity.k, 10);
    EXPECT_EQ(f.specificity.n, 15);
    EXPECT_DOUBLE_EQ(f.specificity.value, 10.0 / 15);
    EXPECT_EQ(f.specificity.lo, wilson_interval(10, 15).lo);

    // 9 positives < 10: no AUROC, no sensitivity; 11 negatives give specificity.
    const SubgroupResult& m = r[3];
    EXPECT_EQ(m.n, 20);
    EXPECT_EQ(m.positives, 9);
    EXPECT_EQ(m.negatives, 11);
    EXPECT_TRUE(m.auroc_too_small);
    EXPECT_TRUE(m.sensitivity_too_small);
    EXPECT_FALSE(m.specificity_too_small);
    EXPECT_TRUE(std::isnan(m.auroc) && std::isnan(m.auroc_lo));
    EXPECT_TRUE(std::isnan(m.sensitivity.value) && std::isnan(m.sensitivity.lo));
    EXPECT_EQ(m.sensitivity.k, 9);  // counts are kept
    EXPECT_EQ(m.sensitivity.n, 9);
    EXPECT_FALSE(std::isnan(m.specificity.value));

    // With a floor of 9 the men's AUROC is reported.
    const auto loose = subgroup_report(c.p, c.y, c.tags, 0.505, SubgroupOptions{9});
    EXPECT_FALSE(loose[3].auroc_too_small);
    EXPECT_FALSE(std::isnan(loose[3].auroc));

    const std::string text = subgroup_table_text(r);
    EXPECT_NE(text.find("sex=M"), std::string::npos);
    EXPECT_NE(text.find("n too small"), std::string::npos);
    EXPECT_NE(text.find("fewer than 10"), std::string::npos);
}

TEST(Subgroups, TagsAreCheckedAndCountedOnce) {
    EXPECT_THROW(subgroup_report({0.5}, {1}, {{"female"}}, 0.5), ContractError);
    EXPECT_THROW(subgroup_report({0.5, 0.2}, {1, 0}, {{"sex=F"}}, 0.5), ContractError);
    const auto r = subgroup_report({0.5, 0.2}, {1, 0}, {{"sex=F", "sex=F"}, {}}, 0.5);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].n, 1);
}

TEST(Subgroups, NumericOrderingOfBands) {
    const std::vector<std::vector<std::string>> tags = {{"age=unknown"}, {"age=80+"}, {"age=18-39"},
                                                        {"age=5-17"},    {"view=PA"}, {"view=AP"}};
    const auto r = subgroup_report(std::vector<double>(6, 0.5), {1, 0, 1, 0, 1, 0}, tags, 0.5);
    ASSERT_EQ(r.size(), 6u);
    const char* want[] = {"age=5-17", "age=18-39", "age=80+", "age=unknown", "view=AP", "view=PA"};
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ(r[i].group, want[i]);
}

TEST(Ages, ParsedFromNumbersAndDicomAgeStrings) {
    EXPECT_EQ(parse_age_years("58"), 58.0);
    EXPECT_EQ(parse_age_years(" 61 "), 61.0);
    EXPECT_EQ(parse_age_years("58.5"), 58.5);
    EXPECT_EQ(parse_age_years("058Y"), 58.0);
    EXPECT_EQ(parse_age_years("006M"), 0.5);
    EXPECT_NEAR(parse_age_years("010W"), 70 / 365.25, 1e-15);
    EXPECT_NEAR(parse_age_years("003D"), 3 / 365.25, 1e-15);
    for (const char* bad : {"", "abc", "58 years", "058X", "12Y"})
        EXPECT_TRUE(std::isnan(parse_age_years(bad))) << "'" << bad << "'";
}

TEST(Ages, Bands) {
    EXPECT_EQ(age_band(0), "0-17");
    EXPECT_EQ(age_band(17.9), "0-17");
    EXPECT_EQ(age_band(18), "18-39");
    EXPECT_EQ(age_band(59.99), "40-59");
    EXPECT_EQ(age_band(60), "60-79");
    EXPECT_EQ(age_band(80), "80+");
    EXPECT_EQ(age_band(120), "80+");
    EXPECT_EQ(age_band(121), "unknown");
    EXPECT_EQ(age_band(-1), "unknown");
    EXPECT_EQ(age_band(NAN), "unknown");
    EXPECT_EQ(age_band(64, {65}), "0-64");
    EXPECT_EQ(age_band(65, {65}), "65+");
    EXPECT_EQ(age_tag(72), "age=60-79");
    EXPECT_THROW(age_band(30, {40, 20}), ContractError);
    EXPECT_THROW(age_band(30, {}), ContractError);
}
