// The loss at the end of the network, planned for the largest batch:
// softmax cross-entropy over num_classes logits, or binary cross-entropy with
// one logit. forward returns the mean loss; backward writes dL/dlogits.
// `smoothing` is the label smoothing of --label-smoothing (kernels/loss.h);
// the head that scores validation has none, so validation losses stay the
// negative log-likelihood whatever the training recipe.
#pragma once

#include "train/model_spec.h"
#include "tensor/context.h"

namespace effnet {

class LossHead {
public:
    LossHead(LossKind kind, int64_t max_batch, int64_t num_classes, Device device,
             float smoothing = 0);
    float forward(const Tensor& logits, const Tensor& labels, Context& ctx);
    // forward without reading the loss back (capturable in a CUDA graph); the
    // loss stays in loss().
    void forward_on_device(const Tensor& logits, const Tensor& labels, Context& ctx);
    const Tensor& loss() const { return loss_; }
    // dL/dlogits of the mean loss, times `scale`.
    const Tensor& backward(Context& ctx, float scale = 1.0f);
    // Number of correct predictions (argmax, or logit >= 0 for BCE) in the last forward.
    int64_t correct() const;

private:
    LossKind kind_;
    float smoothing_;
    Tensor probs_, loss_, dlogits_, dlogits_view_, labels_, logits_;
};

}  // namespace effnet
