// Runs a model in EVAL mode over every batch of a loader and collects the
// mean loss, accuracy, P(label 1) per sample and the labels.
#pragma once

#include <string>
#include <vector>

#include "apps/loss_head.h"
#include "apps/model_spec.h"
#include "data/loader.h"

namespace effnet {

struct EvalResult {
    double loss = 0, accuracy = 0;
    std::vector<double> prob;
    std::vector<int> label;
    std::vector<std::string> paths;
};

EvalResult evaluate(Model& model, Loader& loader, LossHead& head, Context& ctx);

// Copies a host batch to the model's device (asynchronously from pinned memory).
Tensor to_device(const Tensor& host, Device device, Context& ctx);

}  // namespace effnet
