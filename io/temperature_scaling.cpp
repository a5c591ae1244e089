#include "io/temperature_scaling.h"

#include <algorithm>
#include <cmath>

#include "io/score_checks.h"
#include "tensor/error.h"

namespace effnet {

namespace {
// log(1 + e^a) without overflow for large |a|.
double softplus(double a) { return std::max(a, 0.0) + std::log1p(std::exp(-std::fabs(a))); }

double nll(const std::vector<double>& margin, const std::vector<int>& label, double temperature) {
    double sum = 0;
    for (size_t i = 0; i < margin.size(); ++i) {
        const double a = margin[i] / temperature;
        sum += softplus(a) - label[i] * a;
    }
    return sum / double(margin.size());
}
}  // namespace

std::vector<double> logit_margins(const std::vector<float>& logits, int columns) {
    EFFNET_CHECK(columns == 1 || columns == 2,
                 "logit_margins: " << columns << " logits per sample (expected 1 or 2)");
    EFFNET_CHECK(logits.size() % size_t(columns) == 0,
                 "logit_margins: " << logits.size() << " logits is not a multiple of " << columns);
    std::vector<double> m(logits.size() / size_t(columns));
    for (size_t i = 0; i < m.size(); ++i)
        m[i] = columns == 1 ? double(logits[i]) : double(logits[2 * i + 1]) - double(logits[2 * i]);
    return m;
}

std::vector<double> margins_from_probabilities(const std::vector<double>& prob) {
    std::vector<double> m(prob.size());
    for (size_t i = 0; i < prob.size(); ++i) {
        EFFNET_CHECK(prob[i] >= 0 && prob[i] <= 1,
                     "margins_from_probabilities: probability " << i << " is " << prob[i]);
        const double p = std::clamp(prob[i], 1e-7, 1 - 1e-7);
        m[i] = std::log(p) - std::log1p(-p);
    }
    return m;
}

double temperature_nll(const std::vector<double>& margin, const std::vector<int>& label,
                       double temperature) {
    EFFNET_CHECK(temperature > 0 && std::isfinite(temperature),
                 "temperature_nll: temperature " << temperature << " (must be > 0)");
    check_scores_and_labels("temperature_nll", margin, label);
    EFFNET_CHECK(!margin.empty(), "temperature_nll: no samples");
    return nll(margin, label, temperature);
}

TemperatureFit fit_temperature(const std::vector<double>& margin, const std::vector<int>& label,
                               const TemperatureSearch& search) {
    check_scores_and_labels("fit_temperature", margin, label);
    EFFNET_CHECK(!margin.empty(), "fit_temperature: no samples");
    EFFNET_CHECK(search.t_min > 0 && search.t_max > search.t_min && search.tolerance_log_t > 0,
                 "fit_temperature: bracket [" << search.t_min << ", " << search.t_max
                                              << "], tolerance " << search.tolerance_log_t);
    TemperatureFit fit;
    fit.nll_before = nll(margin, label, 1.0);
    if (std::all_of(margin.begin(), margin.end(), [](double m) { return m == 0; })) {
        fit.nll_after = fit.nll_before;  // every T gives ln 2
        fit.at_bracket_edge = true;
        return fit;
    }
    auto f = [&](double u) {
        ++fit.evaluations;
        return nll(margin, label, std::exp(u));
    };
    const double inv_phi = (std::sqrt(5.0) - 1) / 2;  // 0.618...
    double a = std::log(search.t_min), b = std::log(search.t_max);
    double c = b - inv_phi * (b - a), d = a + inv_phi * (b - a);
    double fc = f(c), fd = f(d);
    while (b - a > search.tolerance_log_t) {
        // Keep the sub-bracket that holds the lower point; reuse one evaluation.
        if (fc <= fd) {
            b = d;
            d = c;
            fd = fc;
            c = b - inv_phi * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + inv_phi * (b - a);
            fd = f(d);
        }
    }
    const double u = fc <= fd ? c : d;
    fit.temperature = std::exp(u);
    fit.nll_after = std::min(fc, fd);
    const double edge = 2 * search.tolerance_log_t;
    fit.at_bracket_edge = u - std::log(search.t_min) < edge || std::log(search.t_max) - u < edge;
    return fit;
}

std::vector<double> apply_temperature(const std::vector<double>& margin, double temperature) {
    EFFNET_CHECK(temperature > 0 && std::isfinite(temperature),
                 "apply_temperature: temperature " << temperature << " (must be > 0)");
    std::vector<double> p(margin.size());
    for (size_t i = 0; i < margin.size(); ++i) p[i] = 1 / (1 + std::exp(-margin[i] / temperature));
    return p;
}

}  // namespace effnet
