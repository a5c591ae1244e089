// What is needed to rebuild a model and its input pipeline from a checkpoint:
// written into every checkpoint's metadata, read back by effnet_eval,
// effnet_predict and --resume.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>

#include "data/loader.h"
#include "layers/efficientnet.h"
#include "layers/parameters.h"

namespace effnet {

enum class LossKind { CROSS_ENTROPY, BCE };

struct ModelSpec {
    int variant = 0;          // EfficientNet-B<variant>
    int64_t num_classes = 2;  // 1 with the BCE loss
    int64_t in_channels = 3;
    int image_size = 224;
    double dropout = -1;  // < 0: the variant's default
    double drop_path = 0.2;
    LossKind loss = LossKind::CROSS_ENTROPY;
    bool equalize = true;
    bool clahe = false;
    int clahe_tiles = 8;
    double clahe_clip = 2.0;
    std::array<float, 3> mean = {0.485f, 0.456f,
                                 0.406f};  // input normalisation (ImageNet by default)
    std::array<float, 3> std = {0.229f, 0.224f, 0.225f};

    EfficientNetConfig network() const;
    // Pipeline settings for evaluation (no augmentation).
    PipelineConfig pipeline() const;
    void to_metadata(std::map<std::string, std::string>& meta) const;
    static ModelSpec from_metadata(const std::map<std::string, std::string>& meta,
                                   const std::string& path);
};

// The decision settings stored beside the weights (effnet_train writes them
// into best.safetensors at the end of a run) and applied by every reader
// (effnet_eval, effnet_predict, the ONNX export's metadata):
//   P(label 1) = softmax(logits / T)_1 (sigmoid(logit / T) for one logit),
//   label 1 when P(label 1) >= threshold.
// Metadata keys: effnet.temperature (T in (0, 1000]; absent: 1),
// effnet.threshold (in [0, 1]; absent: none chosen, 0.5 applies) and
// effnet.threshold_rule (how it was chosen, e.g. "youden on val"). The
// threshold is on the probabilities at the stored temperature.
struct DecisionSettings {
    double temperature = 1;
    bool has_temperature = false;
    double threshold = 0.5;
    bool has_threshold = false;
    std::string threshold_rule;
};
// Reads the keys above; a present but bad value is an IoError naming `path` and the key.
DecisionSettings read_decision_settings(const std::map<std::string, std::string>& meta,
                                        const std::string& path);
void write_decision_settings(const DecisionSettings& s, std::map<std::string, std::string>& meta);
// Rewrites the safetensors file `path` (atomically) with `s` in its metadata.
void store_decision_settings(const std::string& path, const DecisionSettings& s);

// A model with its parameters bound on `device` and initialised from `seed`.
struct Model {
    ModelSpec spec;
    std::unique_ptr<EfficientNet> net;
    std::unique_ptr<ParameterStore> store;
    Model(const ModelSpec& s, Device device, uint64_t seed);
    // Plans activations for `batch` images.
    void plan(int64_t batch, Device device);
};

// "a,b,c" (or one value for all channels) <-> three floats.
std::string triple_to_string(const std::array<float, 3>& v);
bool parse_triple(const std::string& text, std::array<float, 3>& out);

// P(label = 1) from a row of logits.
double positive_probability(const float* logits, int64_t num_classes);
// The same, for a probability that is printed or written: a non-finite logit
// or result throws NumericError naming `image` instead (a NaN must never
// become a confident "no cardiomegaly").
double finite_probability(const float* logits, int64_t num_classes, const std::string& image);

}  // namespace effnet
