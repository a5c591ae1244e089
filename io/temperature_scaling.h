// Temperature scaling (Guo et al. 2017): one scalar T > 0 divides the logits
// before the sigmoid/softmax, fitted on a validation set to minimise the
// negative log-likelihood of its labels. T > 1 softens over-confident
// probabilities, T < 1 sharpens under-confident ones; the ranking of the
// samples (and so AUROC) is unchanged.
//
// Both heads of the model reduce to one margin per sample:
//   binary cross-entropy, one logit z:     m = z,        P(1) = sigmoid(m / T)
//   two-class softmax, logits (z0, z1):    m = z1 - z0,  P(1) = softmax(z / T)_1
//                                                              = sigmoid(m / T)
// NLL(T) = mean over samples of softplus(m / T) - y m / T.
//
// The fit: golden-section search on u = ln T over the bracket
// [ln 0.01, ln 100], stopped when the bracket is narrower than 1e-6 in u
// (T known to a relative 1e-6); that takes 36 NLL evaluations of O(n) each.
// NLL is convex in 1/T (a sum of softplus terms of 1/T), and 1/T = exp(-u) is
// monotone in u, so NLL is unimodal in u and the search finds its minimum
// inside the bracket. When the minimum lies at a bracket end (perfectly
// separated margins want T -> 0; margins all zero make NLL flat, and then
// T = 1 is returned) the fit says so in at_bracket_edge.
#pragma once

#include <vector>

namespace effnet {

struct TemperatureSearch {
    double t_min = 0.01, t_max = 100;
    double tolerance_log_t = 1e-6;
};

struct TemperatureFit {
    double temperature = 1;
    double nll_before = 0;  // at T = 1
    double nll_after = 0;   // at the fitted T
    int evaluations = 0;    // NLL evaluations of the search
    bool at_bracket_edge = false;
};

// `logits` row-major with `columns` per sample: 1 (BCE) or 2 (softmax,
// column 1 is the positive class). Returns one margin per sample.
std::vector<double> logit_margins(const std::vector<float>& logits, int columns);
// For results that kept only probabilities: m = ln(p / (1 - p)), with p
// clamped to [1e-7, 1 - 1e-7] (float32 probabilities saturate near there), so
// margins beyond about +-16 are lost; prefer logit_margins.
std::vector<double> margins_from_probabilities(const std::vector<double>& prob);

// Mean NLL of `label` (0/1) given P(1) = sigmoid(margin / temperature).
double temperature_nll(const std::vector<double>& margin, const std::vector<int>& label,
                       double temperature);
// Needs at least one sample; labels 0/1, margins finite.
TemperatureFit fit_temperature(const std::vector<double>& margin, const std::vector<int>& label,
                               const TemperatureSearch& search = {});
// P(1) = sigmoid(margin / temperature) per sample.
std::vector<double> apply_temperature(const std::vector<double>& margin, double temperature);

}  // namespace effnet
