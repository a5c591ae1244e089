#include "api/backend.h"

#include <algorithm>

#include "infer/inference_model.h"
#include "tensor/context.h"
#include "tensor/error.h"

namespace effnet::api {

namespace {

class CpuBackend : public Backend {
public:
    CpuBackend(Model& model, int64_t max_batch, int threads)
        : fast_(*model.net, shape(model.spec, max_batch, threads)) {}
    void run(const float* x, int64_t n, float* logits, float* head) override {
        if (head)
            fast_.run(x, n, logits, head);
        else
            fast_.run(x, n, logits);
    }
    int64_t head_height() const override { return fast_.head_height(); }
    int64_t head_width() const override { return fast_.head_width(); }
    int64_t head_channels() const override { return fast_.head_channels(); }
    int threads() const override { return fast_.shape().threads; }

private:
    static InferenceShape shape(const ModelSpec& spec, int64_t max_batch, int threads) {
        InferenceShape s;
        s.max_batch = max_batch;
        s.height = s.width = spec.image_size;
        s.threads = threads;
        return s;
    }
    InferenceModel fast_;
};

class CudaBackend : public Backend {
public:
    CudaBackend(std::unique_ptr<Model> model, int64_t max_batch)
        : model_(std::move(model)), ctx_(Device::CUDA) {
        model_->plan(max_batch, Device::CUDA);
        // The stem and four stages halve the side (padding k/2: ceil(side / 2)).
        head_side_ = model_->spec.image_size;
        for (int i = 0; i < 5; ++i) head_side_ = (head_side_ + 1) / 2;
        head_c_ = model_->net->classifier_weight().dim(1);
    }
    void run(const float* x, int64_t n, float* logits, float* head) override {
        const ModelSpec& s = model_->spec;
        const Shape in{n, s.image_size, s.image_size, s.in_channels};
        const Tensor xd = Tensor::wrap(const_cast<float*>(x), in, Device::CPU).to(Device::CUDA);
        const std::vector<float> z =
            model_->net->forward(xd, RunState{Mode::EVAL, 0, 0}, ctx_).to_vector();
        std::copy(z.begin(), z.end(), logits);
        if (head) {
            const Tensor& h = model_->net->head_features();
            EFFNET_CHECK(h.numel() == n * head_side_ * head_side_ * head_c_,
                         "CUDA backend: head activations " << h.shape().str());
            const std::vector<float> v = h.to_vector();
            std::copy(v.begin(), v.end(), head);
        }
    }
    int64_t head_height() const override { return head_side_; }
    int64_t head_width() const override { return head_side_; }
    int64_t head_channels() const override { return head_c_; }
    int threads() const override { return 0; }

private:
    std::unique_ptr<Model> model_;
    Context ctx_;
    int64_t head_side_ = 0, head_c_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(Model& model, int64_t max_batch, int threads) {
    return std::make_unique<CpuBackend>(model, max_batch, threads);
}

std::unique_ptr<Backend> make_cuda_backend(std::unique_ptr<Model> model, int64_t max_batch) {
    return std::make_unique<CudaBackend>(std::move(model), max_batch);
}

}  // namespace effnet::api
