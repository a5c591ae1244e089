// Argument checks shared by the evaluation statistics (calibration, ROC
// statistics, operating points, subgroups). Each throws ContractError naming
// `what` (the calling function) and the first offending index.
#pragma once

#include <vector>

namespace effnet {

// Equally many scores and labels, every score finite, every label 0 or 1.
void check_scores_and_labels(const char* what, const std::vector<double>& score,
                             const std::vector<int>& label);
// As above, and every score a probability in [0, 1].
void check_probabilities_and_labels(const char* what, const std::vector<double>& prob,
                                    const std::vector<int>& label);

}  // namespace effnet
