// Model weights by timm name, in safetensors files.
//
// save_weights writes every parameter and buffer of a model (device tensors
// are copied to the host) plus optional extra tensors and metadata.
// load_weights copies tensors whose names and shapes match into the model
// and reports, by name, what was missing, unexpected or mis-shaped; with
// WeightsMatch::EXACT any of those is an error naming them all (PARTIAL: the
// caller decides, e.g. fine-tuning with a new classifier). A tensor holding a NaN
// or an infinity is always refused (IoError naming it): a damaged weight
// would otherwise turn into confident, wrong predictions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "layers/layer.h"

namespace effnet {

enum class WeightsMatch { EXACT, PARTIAL };

struct LoadReport {
    std::vector<std::string> loaded, missing, unexpected,
        mismatched;  // mismatched: "name: file [..] vs model [..]"
    bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    std::string summary() const;
};

// Tensors of a model (parameters, then buffers) as host views for writing.
// Device tensors are copied into `keepalive`.
std::vector<SafetensorsView> model_tensor_views(Layer& model, std::vector<Tensor>& keepalive);

void save_weights(const std::string& path, Layer& model,
                  const std::map<std::string, std::string>& metadata = {},
                  const std::vector<SafetensorsView>& extra = {});
LoadReport load_weights(const SafetensorsFile& file, Layer& model, WeightsMatch match,
                        const std::string& path,
                        const std::vector<std::string>& ignore_prefixes = {});
LoadReport load_weights(const std::string& path, Layer& model, WeightsMatch match);

// Throws IoError naming `path`, the tensor, how many values are NaN or
// infinite and the first one's index, when a floating-point entry holds any.
void check_finite(const SafetensorsEntry& e, const std::string& path);

}  // namespace effnet
