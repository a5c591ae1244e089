#include "train/loss_head.h"

#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "tensor/nvtx.h"

namespace effnet {

LossHead::LossHead(LossKind kind, int64_t max_batch, int64_t k, Device device, float smoothing,
                   bool mixup)
    : kind_(kind),
      smoothing_(smoothing),
      probs_(Tensor::empty(Shape{max_batch, k}, device)),
      loss_(Tensor::empty(Shape{1}, device)),
      dlogits_(Tensor::empty(Shape{max_batch, k}, device)) {
    if (mixup) {
        loss_b_ = Tensor::empty(Shape{1}, device);
        dlogits_b_ = Tensor::empty(Shape{max_batch, k}, device);
    }
}

void LossHead::plain_forward(const Tensor& logits, const Tensor& labels, Tensor& probs,
                             Tensor& loss, Context& ctx) {
    if (kind_ == LossKind::BCE)
        bce_with_logits_forward_on_device(logits, labels, probs, loss, ctx, smoothing_);
    else
        softmax_cross_entropy_forward_on_device(logits, labels, probs, loss, ctx, smoothing_);
}

void LossHead::plain_backward(const Tensor& probs, const Tensor& labels, Tensor& dlogits,
                              Context& ctx) {
    if (kind_ == LossKind::BCE)
        bce_with_logits_backward(probs, labels, dlogits, ctx, smoothing_);
    else
        softmax_cross_entropy_backward(probs, labels, dlogits, ctx, smoothing_);
}

void LossHead::set_mix(const Tensor& labels_b, float lambda) {
    EFFNET_CHECK(lambda >= 0 && lambda <= 1, "mixup lambda " << lambda << " outside [0, 1]");
    EFFNET_CHECK(loss_b_.raw() != nullptr, "set_mix on a loss head built without mixup");
    labels_b_ = labels_b;
    lambda_ = lambda;
    mixing_ = true;
}

void LossHead::clear_mix() {
    mixing_ = false;
    labels_b_ = Tensor();
}

void LossHead::forward_on_device(const Tensor& logits, const Tensor& labels, Context& ctx) {
    EFFNET_NVTX_RANGE("loss.forward");
    Tensor probs = probs_.narrow0(0, logits.dim(0));
    logits_ = logits;
    labels_ = labels;
    plain_forward(logits, labels, probs, loss_, ctx);
    if (!mixing_) return;
    EFFNET_CHECK(labels_b_.shape() == labels.shape(),
                 "mixup: partner labels " << labels_b_.shape() << " for labels " << labels.shape());
    // The same probabilities again, scored against the partners' labels.
    plain_forward(logits, labels_b_, probs, loss_b_, ctx);
    moving_average(loss_, loss_b_, lambda_, ctx);  // lambda * L(a) + (1 - lambda) * L(b)
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
    plain_backward(probs, labels_, dlogits_view_, ctx);
    if (mixing_) {
        Tensor dlogits_b = dlogits_b_.narrow0(0, n);
        plain_backward(probs, labels_b_, dlogits_b, ctx);
        moving_average(dlogits_view_, dlogits_b, lambda_, ctx);
    }
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
    // With mixup the image shows more of the partner when lambda < 1/2.
    const Tensor& dominant = mixing_ && lambda_ < 0.5f ? labels_b_ : labels_;
    Tensor labels = dominant.is_cuda() ? dominant.to(Device::CPU) : dominant;
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
