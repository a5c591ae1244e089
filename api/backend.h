// Where a Classifier's forward passes run (api/classifier.cpp):
//   CPU:  the inference fast path (infer/), planned at load for the largest batch;
//   CUDA: the network's own EVAL forward on the GPU (there is no GPU fast path yet).
// run(x, n, logits, head): x is n images as NHWC floats, normalised;
// logits [n, classes] are overwritten; with `head`, the head activations
// [n, head_height, head_width, head_channels] too. 1 <= n <= max_batch.
#pragma once

#include <cstdint>
#include <memory>

#include "train/model_spec.h"

namespace effnet::api {

class Backend {
public:
    virtual ~Backend() = default;
    virtual void run(const float* x, int64_t n, float* logits, float* head) = 0;
    virtual int64_t head_height() const = 0;
    virtual int64_t head_width() const = 0;
    virtual int64_t head_channels() const = 0;
    virtual int threads() const = 0;  // CPU threads (0 on the GPU)
};

// Both take a model whose weights are loaded; the CPU backend folds them and
// no longer needs the model, the CUDA one keeps it (built on Device::CUDA).
std::unique_ptr<Backend> make_cpu_backend(Model& model, int64_t max_batch, int threads);
std::unique_ptr<Backend> make_cuda_backend(std::unique_ptr<Model> model, int64_t max_batch);

}  // namespace effnet::api
