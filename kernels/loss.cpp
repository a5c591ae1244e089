// Operand checks and backend choice for kernels/loss.h (the pattern:
// kernels/dispatch.h). Labels are int32, everything else float32; all on the
// context's device.
#include "kernels/loss.h"

#include "kernels/dispatch.h"

namespace effnet {

namespace {
using detail::check_operands;

// scores [N, K] (logits or probabilities), labels [N] and the tensors shaped
// like scores; returns {N, K}.
std::pair<int64_t, int64_t> check_scores(const char* op, const Context& ctx, const Tensor& scores,
                                         const Tensor& labels, detail::Operands like_scores) {
    check_operands(op, ctx, like_scores);
    check_operands(op, ctx, {{labels, "labels"}}, DType::INT32);
    EFFNET_CHECK(scores.rank() >= 1 && scores.dim(0) > 0,
                 op << ": scores " << scores.shape() << " hold no sample");
    const int64_t n = scores.dim(0), k = scores.numel() / n;
    EFFNET_CHECK(labels.numel() == n,
                 op << ": labels " << labels.shape() << " for " << n << " samples");
    for (const detail::Operand& o : like_scores)
        EFFNET_CHECK(o.tensor.numel() == scores.numel(), op << ": " << o.name << " "
                                                            << o.tensor.shape() << ", expected "
                                                            << n << " x " << k << " values");
    return {n, k};
}
void check_scalar_loss(const char* op, const Tensor& loss) {
    EFFNET_CHECK(loss.numel() == 1, op << ": loss " << loss.shape() << " must hold one value");
}
void check_one_logit_per_sample(const char* op, int64_t k) {
    EFFNET_CHECK(k == 1, op << ": binary cross-entropy takes one logit per sample, got " << k);
}
void check_smoothing(const char* op, float smoothing) {
    EFFNET_CHECK(smoothing >= 0 && smoothing < 1,
                 op << ": label smoothing " << smoothing << " outside [0, 1)");
}
}  // namespace

void softmax_cross_entropy_forward_on_device(const Tensor& logits, const Tensor& labels,
                                             Tensor& probs, Tensor& loss, Context& ctx,
                                             float smoothing) {
    const char* op = "softmax_cross_entropy_forward";
    const auto [n, k] =
        check_scores(op, ctx, logits, labels, {{logits, "logits"}, {probs, "probs"}});
    check_operands(op, ctx, {{loss, "loss"}});
    check_scalar_loss(op, loss);
    check_smoothing(op, smoothing);
    if constexpr (kWithCuda) {
        if (logits.is_cuda())
            return cuda::softmax_cross_entropy_forward(
                logits.f32(), labels.i32(), probs.f32(), loss.f32(),
                static_cast<float*>(ctx.workspace(sizeof(float) * size_t(n))), n, k, smoothing,
                ctx.stream());
    }
    cpu::softmax_cross_entropy_forward(logits.f32(), labels.i32(), probs.f32(), loss.f32(), n, k,
                                       smoothing, ctx.stream());
}

// The host reads the loss: on the GPU, the one synchronisation of an eager training step.
float softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels, Tensor& probs,
                                    Tensor& loss, Context& ctx, float smoothing) {
    softmax_cross_entropy_forward_on_device(logits, labels, probs, loss, ctx, smoothing);
    return loss.to_vector()[0];
}

void softmax_cross_entropy_backward(const Tensor& probs, const Tensor& labels, Tensor& dlogits,
                                    Context& ctx, float smoothing) {
    const char* op = "softmax_cross_entropy_backward";
    const auto [n, k] =
        check_scores(op, ctx, probs, labels, {{probs, "probs"}, {dlogits, "dlogits"}});
    check_smoothing(op, smoothing);
    if constexpr (kWithCuda) {
        if (probs.is_cuda())
            return cuda::softmax_cross_entropy_backward(probs.f32(), labels.i32(), dlogits.f32(), n,
                                                        k, smoothing, ctx.stream());
    }
    cpu::softmax_cross_entropy_backward(probs.f32(), labels.i32(), dlogits.f32(), n, k, smoothing,
                                        ctx.stream());
}

void bce_with_logits_forward_on_device(const Tensor& logits, const Tensor& labels, Tensor& probs,
                                       Tensor& loss, Context& ctx, float smoothing) {
    const char* op = "bce_with_logits_forward";
    const auto [n, k] =
        check_scores(op, ctx, logits, labels, {{logits, "logits"}, {probs, "probs"}});
    check_one_logit_per_sample(op, k);
    check_operands(op, ctx, {{loss, "loss"}});
    check_scalar_loss(op, loss);
    check_smoothing(op, smoothing);
    if constexpr (kWithCuda) {
        if (logits.is_cuda())
            return cuda::bce_with_logits_forward(
                logits.f32(), labels.i32(), probs.f32(), loss.f32(),
                static_cast<float*>(ctx.workspace(sizeof(float) * size_t(n))), n, smoothing,
                ctx.stream());
    }
    cpu::bce_with_logits_forward(logits.f32(), labels.i32(), probs.f32(), loss.f32(), n, smoothing,
                                 ctx.stream());
}

float bce_with_logits_forward(const Tensor& logits, const Tensor& labels, Tensor& probs,
                              Tensor& loss, Context& ctx, float smoothing) {
    bce_with_logits_forward_on_device(logits, labels, probs, loss, ctx, smoothing);
    return loss.to_vector()[0];
}

void bce_with_logits_backward(const Tensor& probs, const Tensor& labels, Tensor& dlogits,
                              Context& ctx, float smoothing) {
    const char* op = "bce_with_logits_backward";
    const auto [n, k] =
        check_scores(op, ctx, probs, labels, {{probs, "probs"}, {dlogits, "dlogits"}});
    check_one_logit_per_sample(op, k);
    check_smoothing(op, smoothing);
    if constexpr (kWithCuda) {
        if (probs.is_cuda())
            return cuda::bce_with_logits_backward(probs.f32(), labels.i32(), dlogits.f32(), n,
                                                  smoothing, ctx.stream());
    }
    cpu::bce_with_logits_backward(probs.f32(), labels.i32(), dlogits.f32(), n, smoothing,
                                  ctx.stream());
}

}  // namespace effnet
