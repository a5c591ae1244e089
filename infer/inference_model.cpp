#include "infer/inference_model.h"

#include "infer/cpu/engine.h"

namespace effnet {

namespace {
infer::cpu::EngineOptions engine_options(const InferenceShape& s) {
    infer::cpu::EngineOptions o;
    o.max_batch = s.max_batch;
    o.height = s.height;
    o.width = s.width;
    o.threads = s.threads;
    o.group_floats = s.group_floats;
    return o;
}
}  // namespace

InferenceModel::InferenceModel(EfficientNet& net, const InferenceShape& shape)
    : InferenceModel(FoldedEfficientNet::from_network(net), shape) {}

InferenceModel::InferenceModel(const FoldedEfficientNet& folded, const InferenceShape& shape)
    : shape_(shape),
      num_classes_(folded.num_classes),
      in_channels_(folded.in_channels),
      engine_(std::make_unique<infer::cpu::Engine>(folded, engine_options(shape))) {
    shape_.threads = engine_->threads();
}

InferenceModel::~InferenceModel() = default;
InferenceModel::InferenceModel(InferenceModel&&) noexcept = default;
InferenceModel& InferenceModel::operator=(InferenceModel&&) noexcept = default;

void InferenceModel::run(const float* x, int64_t n, float* logits) { engine_->run(x, n, logits); }

void InferenceModel::run(const float* x, int64_t n, float* logits, float* head_features) {
    EFFNET_CHECK(head_features, "InferenceModel::run: null head_features");
    engine_->run(x, n, logits, head_features);
}

int64_t InferenceModel::head_height() const { return engine_->head_height(); }
int64_t InferenceModel::head_width() const { return engine_->head_width(); }
int64_t InferenceModel::head_channels() const { return engine_->head_channels(); }

std::vector<InferencePassTime> InferenceModel::run_profiled(const float* x, int64_t n,
                                                            float* logits) {
    std::vector<InferencePassTime> out;
    for (auto& t : engine_->run_profiled(x, n, logits)) out.push_back({t.name, t.ms});
    return out;
}

int64_t InferenceModel::planned_bytes() const { return engine_->planned_bytes(); }

std::string InferenceModel::plan() const { return engine_->segments(); }

}  // namespace effnet
