#include "train/loss_head.h"

#include "kernels/loss.h"
#include "tensor/nvtx.h"

namespace effnet {

LossHead::LossHead(LossKind kind, int64_t max_batch, int64_t k, Device device, float smoothing)
    : kind_(kind),
      smoothing_(smoothing),
      probs_(Tensor::empty(Shape{max_batch, k}, device)),
      loss_(Tensor::empty(Shape{1}, device)),
      dlogits_(Tensor::empty(Shape{max_batch, k}, device)) {}

void LossHead::forward_on_device(const Tensor& logits, const Tensor& labels, Context& ctx) {
    EFFNET_NVTX_RANGE("loss.forward");
    Tensor probs = probs_.narrow0(0, logits.dim(0));
    logits_ = logits;
    labels_ = labels;
    if (kind_ == LossKind::BCE)
        bce_with_logits_forward_on_device(logits, labels, probs, loss_, ctx, smoothing_);
    else
        softmax_cross_entropy_forward_on_device(logits, labels, probs, loss_, ctx, smoothing_);
}

float LossHead::forward(const Tensor& logits, const Tensor& labels, Context& ctx) {
    forward_on_device(logits, labels, ctx);
    return loss_.to_vector()[0];
}

const Tensor& LossHead::backward(Context& ctx, float scale) {
    EFFNET_NVTX_RANGE("loss.backward");
    const int64_t n = logits_.dim(0);
    Tensor probs = probs_.narrow0(0, n);
    dlogits_view_ = dlogits_.narrow0(0, n);
    if (kind_ == LossKind::BCE)
        bce_with_logits_backward(probs, labels_, dlogits_view_, ctx, smoothing_);
    else
        softmax_cross_entropy_backward(probs, labels_, dlogits_view_, ctx, smoothing_);
    if (scale != 1.0f) {
        // A few logits per image: scaled on the host (on the GPU through a
        // synchronising copy; only uneven data-parallel shares ask for it).
        Tensor host = dlogits_view_.is_cuda() ? dlogits_view_.to(Device::CPU) : dlogits_view_;
        for (int64_t i = 0; i < host.numel(); ++i) host.f32()[i] *= scale;
        if (dlogits_view_.is_cuda()) dlogits_view_.copy_from(host);
    }
    return dlogits_view_;
}

int64_t LossHead::correct() const {
    const int64_t n = logits_.dim(0), k = logits_.numel() / n;
    std::vector<float> z = logits_.to_vector();
    Tensor labels = labels_.is_cuda() ? labels_.to(Device::CPU) : labels_;
    int64_t ok = 0;
    for (int64_t i = 0; i < n; ++i) {
        int pred = 0;
        if (k == 1) {
            pred = z[size_t(i)] >= 0;
        } else {
            for (int64_t j = 1; j < k; ++j)
                if (z[size_t(i * k + j)] > z[size_t(i * k + pred)]) pred = int(j);
        }
        ok += pred == labels.i32()[i];
    }
    return ok;
}

}  // namespace effnet
