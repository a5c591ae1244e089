#include "io/score_checks.h"

#include <cmath>

#include "tensor/error.h"

namespace effnet {

void check_scores_and_labels(const char* what, const std::vector<double>& score,
                             const std::vector<int>& label) {
    EFFNET_CHECK(score.size() == label.size(),
                 what << ": " << score.size() << " scores for " << label.size() << " labels");
    for (size_t i = 0; i < score.size(); ++i) {
        EFFNET_CHECK(std::isfinite(score[i]), what << ": score " << i << " is " << score[i]);
        EFFNET_CHECK(label[i] == 0 || label[i] == 1,
                     what << ": label " << i << " is " << label[i] << " (expected 0 or 1)");
    }
}

void check_probabilities_and_labels(const char* what, const std::vector<double>& prob,
                                    const std::vector<int>& label) {
    check_scores_and_labels(what, prob, label);
    for (size_t i = 0; i < prob.size(); ++i)
        EFFNET_CHECK(prob[i] >= 0 && prob[i] <= 1,
                     what << ": probability " << i << " is " << prob[i] << ", outside [0, 1]");
}

}  // namespace effnet
