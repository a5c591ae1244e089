// Backend dispatch for the batch-norm, squeeze-excite, linear, dropout,
// elementwise, loss and AdamW families (one place, since each is a shape
// check and a call).
#include "kernels/activation.h"
#include <initializer_list>

#include "kernels/adamw.h"
#include "kernels/batchnorm.h"
#include "kernels/bn_swish.h"
#include "kernels/cuda/cudnn_fallback.h"
#include "kernels/dispatch.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/squeeze_excite.h"

namespace effnet {

namespace {
// {rows, channels} of an activation whose last dimension is channels.
std::pair<int64_t, int64_t> rows_channels(const Tensor& t) {
    const int64_t c = t.dim(t.rank() - 1);
    return {c ? t.numel() / c : 0, c};
}
void check_numel(const char* op, const Tensor& a, const Tensor& b) {
    EFFNET_CHECK(a.numel() == b.numel(), op << ": " << a.shape() << " vs " << b.shape());
    EFFNET_CHECK_SAME_DEVICE(op, a, b);
}
bool use_cudnn_batchnorm(const Context& ctx) {
    if (ctx.batchnorm_kernels != KernelChoice::CUDNN) return false;
    log_kernel_choice_once("batch norm", "cuDNN (--kernels cudnn)");
    return true;
}
void check_vec(const char* op, const Tensor& t, int64_t c, const char* what) {
    EFFNET_CHECK(t.numel() == c, op << ": " << what << " has shape " << t.shape() << ", expected " << c << " channels");
}
// The operands of a batch-norm entry point: tensors shaped like x and
// per-channel vectors; returns {rows, channels}.
std::pair<int64_t, int64_t> check_bn_operands(const char* op, const Tensor& x, std::initializer_list<const Tensor*> like_x,
                                              std::initializer_list<const Tensor*> per_channel) {
    auto mc = rows_channels(x);
    for (const Tensor* t : like_x) check_numel(op, x, *t);
    for (const Tensor* t : per_channel) check_vec(op, *t, mc.second, "a per-channel tensor");
    return mc;
}
}  // namespace

// ---- batch norm --------------------------------------------------------------
void batchnorm_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y, Tensor& save_mean,
                             Tensor& save_invstd, Tensor& running_mean, Tensor& running_var,
                             const BatchNormParams& p, Context& ctx) {
    auto [m, c] = check_bn_operands("batchnorm_train_forward", x, {&y},
                                    {&gamma, &beta, &save_mean, &save_invstd, &running_mean, &running_var});
    if (x.is_cuda() && use_cudnn_batchnorm(ctx)) {
        cuda::cudnn_batchnorm_train_forward(ctx.cudnn(), x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(),
                                            save_invstd.f32(), running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum);
        return;
    }
    if (x.is_cuda()) {
        cuda::batchnorm_train_forward(x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(),
                                                           save_invstd.f32(), running_mean.f32(), running_var.f32(), m, c, p.eps,
                                                           p.momentum, ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)),
                                                           ctx.stream());
        return;
    }
    cpu::batchnorm_train_forward(x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(), save_invstd.f32(),
                                 running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum, ctx.stream());
}

void batchnorm_eval_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                            const Tensor& running_var, Tensor& y, const BatchNormParams& p, Context& ctx) {
    auto [m, c] = check_bn_operands("batchnorm_eval_forward", x, {&y}, {&gamma, &beta, &running_mean, &running_var});
    if (x.is_cuda() && use_cudnn_batchnorm(ctx)) {
        cuda::cudnn_batchnorm_eval_forward(ctx.cudnn(), x.f32(), gamma.f32(), beta.f32(), running_mean.f32(), running_var.f32(),
                                           y.f32(), m, c, p.eps);
        return;
    }
    if (x.is_cuda()) {
        cuda::batchnorm_eval_forward(x.f32(), gamma.f32(), beta.f32(), running_mean.f32(), running_var.f32(),
                                                          y.f32(), m, c, p.eps, ctx.stream());
        return;
    }
    cpu::batchnorm_eval_forward(x.f32(), gamma.f32(), beta.f32(), running_mean.f32(), running_var.f32(), y.f32(), m, c,
                                p.eps, ctx.stream());
}

void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                        const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta, Context& ctx, double eps) {
    auto [m, c] = check_bn_operands("batchnorm_backward", x, {&dy, &dx}, {&gamma, &save_mean, &save_invstd, &dgamma, &dbeta});
    if (x.is_cuda() && use_cudnn_batchnorm(ctx)) {
        cuda::cudnn_batchnorm_backward(ctx.cudnn(), x.f32(), dy.f32(), gamma.f32(), save_mean.f32(), save_invstd.f32(), dx.f32(),
                                       dgamma.f32(), dbeta.f32(), m, c, eps);
        return;
    }
    if (x.is_cuda()) {
        cuda::batchnorm_backward(x.f32(), dy.f32(), gamma.f32(), save_mean.f32(), save_invstd.f32(), dx.f32(),
                                                      dgamma.f32(), dbeta.f32(), m, c,
                                                      ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)), ctx.stream());
        return;
    }
    cpu::batchnorm_backward(x.f32(), dy.f32(), gamma.f32(), save_mean.f32(), save_invstd.f32(), dx.f32(), dgamma.f32(),
                            dbeta.f32(), m, c, ctx.stream());
}

// ---- fused batch norm + swish ------------------------------------------------
// With cuDNN chosen for batch norm, the GPU runs cuDNN's batch norm into a
// workspace z and swish apart (see kernels/bn_swish.h).
void bn_swish_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y, Tensor& save_mean,
                            Tensor& save_invstd, Tensor& save_affine, Tensor& running_mean, Tensor& running_var,
                            const BatchNormParams& p, Context& ctx) {
    const char* op = "bn_swish_train_forward";
    auto [m, c] = check_bn_operands(op, x, {&y}, {&gamma, &beta, &save_mean, &save_invstd, &running_mean, &running_var});
    check_vec(op, save_affine, 2 * c, "save_affine (scale and shift)");
    if (x.is_cuda() && use_cudnn_batchnorm(ctx)) {
        float* z = static_cast<float*>(ctx.workspace(x.nbytes()));
        cuda::cudnn_batchnorm_train_forward(ctx.cudnn(), x.f32(), gamma.f32(), beta.f32(), z, save_mean.f32(),
                                            save_invstd.f32(), running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum);
        cuda::swish_forward(z, y.f32(), m * c, ctx.stream());
        cuda::bn_affine_from_stats(gamma.f32(), beta.f32(), save_mean.f32(), save_invstd.f32(), save_affine.f32(), c,
                                   ctx.stream());
        return;
    }
    if (x.is_cuda()) {
        cuda::bn_swish_train_forward(x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(), save_invstd.f32(),
                                     save_affine.f32(), running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum,
                                     ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)), ctx.stream());
        return;
    }
    cpu::bn_swish_train_forward(x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(), save_invstd.f32(),
                                save_affine.f32(), running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum,
                                ctx.stream());
}

void bn_swish_eval_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                           const Tensor& running_var, Tensor& y, const BatchNormParams& p, Context& ctx) {
    auto [m, c] = check_bn_operands("bn_swish_eval_forward", x, {&y}, {&gamma, &beta, &running_mean, &running_var});
    if (x.is_cuda() && use_cudnn_batchnorm(ctx)) {
        float* z = static_cast<float*>(ctx.workspace(x.nbytes()));
        cuda::cudnn_batchnorm_eval_forward(ctx.cudnn(), x.f32(), gamma.f32(), beta.f32(), running_mean.f32(), running_var.f32(),
                                           z, m, c, p.eps);
        cuda::swish_forward(z, y.f32(), m * c, ctx.stream());
        return;
    }
    auto fn = x.is_cuda() ? cuda::bn_swish_eval_forward : cpu::bn_swish_eval_forward<float>;
    fn(x.f32(), gamma.f32(), beta.f32(), running_mean.f32(), running_var.f32(), y.f32(), m, c, p.eps, ctx.stream());
}

void bn_swish_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                       const Tensor& save_invstd, const Tensor& save_affine, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                       Context& ctx, double eps) {
    const char* op = "bn_swish_backward";
    auto [m, c] = check_bn_operands(op, x, {&dy, &dx}, {&gamma, &save_mean, &save_invstd, &dgamma, &dbeta});
    check_vec(op, save_affine, 2 * c, "save_affine (scale and shift)");
    if (x.is_cuda() && use_cudnn_batchnorm(ctx)) {
        float* dz = static_cast<float*>(ctx.workspace(x.nbytes()));
        cuda::swish_grad_of_bn(x.f32(), dy.f32(), save_affine.f32(), dz, m, c, ctx.stream());
        cuda::cudnn_batchnorm_backward(ctx.cudnn(), x.f32(), dz, gamma.f32(), save_mean.f32(), save_invstd.f32(), dx.f32(),
                                       dgamma.f32(), dbeta.f32(), m, c, eps);
        return;
    }
    if (x.is_cuda()) {
        cuda::bn_swish_backward(x.f32(), dy.f32(), gamma.f32(), save_mean.f32(), save_invstd.f32(), save_affine.f32(), dx.f32(),
                                dgamma.f32(), dbeta.f32(), m, c, ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)),
                                ctx.stream());
        return;
    }
    cpu::bn_swish_backward(x.f32(), dy.f32(), gamma.f32(), save_mean.f32(), save_invstd.f32(), save_affine.f32(), dx.f32(),
                           dgamma.f32(), dbeta.f32(), m, c, ctx.stream());
}

// ---- squeeze-excite pieces ---------------------------------------------------
void global_avg_pool_forward(const Tensor& x, Tensor& y, Context& ctx) {
    EFFNET_CHECK(x.rank() == 4 && y.shape() == (Shape{x.dim(0), x.dim(3)}),
                 "global_avg_pool_forward: " << x.shape() << " -> " << y.shape());
    const int64_t n = x.dim(0), hw = x.dim(1) * x.dim(2), c = x.dim(3);
    if (x.is_cuda()) {
        cuda::global_avg_pool_forward(x.f32(), y.f32(), n, hw, c, ctx.workspace(cuda::squeeze_excite_workspace_bytes(n, hw, c)),
                                      ctx.stream());
        return;
    }
    cpu::global_avg_pool_forward(x.f32(), y.f32(), n, hw, c, ctx.stream());
}

void global_avg_pool_backward(const Tensor& dy, Tensor& dx, Context& ctx) {
    EFFNET_CHECK(dx.rank() == 4 && dy.shape() == (Shape{dx.dim(0), dx.dim(3)}),
                 "global_avg_pool_backward: " << dy.shape() << " -> " << dx.shape());
    auto fn = dy.is_cuda() ? cuda::global_avg_pool_backward : cpu::global_avg_pool_backward<float>;
    fn(dy.f32(), dx.f32(), dx.dim(0), dx.dim(1) * dx.dim(2), dx.dim(3), ctx.stream());
}

void channel_scale_forward(const Tensor& x, const Tensor& gate, Tensor& y, Context& ctx) {
    EFFNET_CHECK(x.rank() == 4 && gate.shape() == (Shape{x.dim(0), x.dim(3)}) && y.shape() == x.shape(),
                 "channel_scale_forward: x " << x.shape() << ", gate " << gate.shape() << ", y " << y.shape());
    auto fn = x.is_cuda() ? cuda::channel_scale_forward : cpu::channel_scale_forward<float>;
    fn(x.f32(), gate.f32(), y.f32(), x.dim(0), x.dim(1) * x.dim(2), x.dim(3), ctx.stream());
}

void channel_scale_backward(const Tensor& x, const Tensor& gate, const Tensor& dy, Tensor& dx, Tensor& dgate,
                            Context& ctx) {
    EFFNET_CHECK(x.rank() == 4 && gate.shape() == (Shape{x.dim(0), x.dim(3)}) && dy.shape() == x.shape() &&
                     dx.shape() == x.shape() && dgate.shape() == gate.shape(),
                 "channel_scale_backward: x " << x.shape() << ", gate " << gate.shape());
    const int64_t n = x.dim(0), hw = x.dim(1) * x.dim(2), c = x.dim(3);
    if (x.is_cuda()) {
        cuda::channel_scale_backward(x.f32(), gate.f32(), dy.f32(), dx.f32(), dgate.f32(), n, hw, c,
                                     ctx.workspace(cuda::squeeze_excite_workspace_bytes(n, hw, c)), ctx.stream());
        return;
    }
    cpu::channel_scale_backward(x.f32(), gate.f32(), dy.f32(), dx.f32(), dgate.f32(), n, hw, c, ctx.stream());
}

// ---- linear ------------------------------------------------------------------
void linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y, Context& ctx) {
    const int64_t n = x.dim(0), in = x.numel() / n, out = w.dim(0);
    EFFNET_CHECK(w.numel() == out * in && y.numel() == n * out && (!bias.defined() || bias.numel() == out),
                 "linear_forward: x " << x.shape() << ", w " << w.shape() << ", y " << y.shape());
    if (x.is_cuda()) {
        cuda::linear_forward(x.f32(), w.f32(), bias.defined() ? bias.f32() : nullptr, y.f32(),
                                                                n, in, out, ctx.cublas(), ctx.stream());
        return;
    }
    cpu::linear_forward(x.f32(), w.f32(), bias.defined() ? bias.f32() : nullptr, y.f32(), n, in, out, ctx.stream());
}

void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw, Tensor& dbias,
                     Context& ctx) {
    const int64_t n = x.dim(0), in = x.numel() / n, out = w.dim(0);
    EFFNET_CHECK(dy.numel() == n * out && dw.numel() == w.numel() && (!dx || dx->numel() == x.numel()),
                 "linear_backward: x " << x.shape() << ", w " << w.shape() << ", dy " << dy.shape());
    if (x.is_cuda()) {
        cuda::linear_backward(x.f32(), w.f32(), dy.f32(), dx ? dx->f32() : nullptr, dw.f32(),
                                               dbias.defined() ? dbias.f32() : nullptr, n, in, out, ctx.cublas(),
                                               ctx.stream());
        return;
    }
    cpu::linear_backward(x.f32(), w.f32(), dy.f32(), dx ? dx->f32() : nullptr, dw.f32(),
                         dbias.defined() ? dbias.f32() : nullptr, n, in, out, ctx.stream());
}

// ---- dropout / drop-path -----------------------------------------------------
void dropout_forward(const Tensor& x, Tensor& y, float p, uint64_t seed, uint64_t stream, Context& ctx) {
    check_numel("dropout_forward", x, y);
    EFFNET_CHECK(p >= 0 && p < 1, "dropout probability " << p << " outside [0, 1)");
    auto fn = x.is_cuda() ? cuda::dropout_apply : cpu::dropout_apply<float>;
    fn(x.f32(), y.f32(), x.numel(), p, seed, stream, ctx.stream());
}

void dropout_backward(const Tensor& dy, Tensor& dx, float p, uint64_t seed, uint64_t stream, Context& ctx) {
    dropout_forward(dy, dx, p, seed, stream, ctx);  // the same mask and scale
}

void drop_path_forward(const Tensor& x, Tensor& y, float p, uint64_t seed, uint64_t stream, Context& ctx) {
    check_numel("drop_path_forward", x, y);
    EFFNET_CHECK(p >= 0 && p < 1, "drop-path probability " << p << " outside [0, 1)");
    auto fn = x.is_cuda() ? cuda::drop_path_apply : cpu::drop_path_apply<float>;
    fn(x.f32(), y.f32(), x.dim(0), x.numel() / x.dim(0), p, seed, stream, ctx.stream());
}

void drop_path_backward(const Tensor& dy, Tensor& dx, float p, uint64_t seed, uint64_t stream, Context& ctx) {
    drop_path_forward(dy, dx, p, seed, stream, ctx);
}

// ---- elementwise -------------------------------------------------------------
void add(const Tensor& a, const Tensor& b, Tensor& y, Context& ctx) {
    check_numel("add", a, b);
    check_numel("add", a, y);
    if (a.is_cuda()) {
        cuda::add(a.f32(), b.f32(), y.f32(), a.numel(), ctx.stream());
        return;
    }
    cpu::add(a.f32(), b.f32(), y.f32(), a.numel(), ctx.stream());
}

void add_inplace(Tensor& y, const Tensor& a, Context& ctx) {
    check_numel("add_inplace", y, a);
    if (a.is_cuda()) {
        cuda::add_inplace(y.f32(), a.f32(), a.numel(), ctx.stream());
        return;
    }
    cpu::add_inplace(y.f32(), a.f32(), a.numel(), ctx.stream());
}

// ---- losses ------------------------------------------------------------------
void softmax_cross_entropy_forward_on_device(const Tensor& logits, const Tensor& labels, Tensor& probs, Tensor& loss,
                                             Context& ctx) {
    const int64_t n = logits.dim(0), k = logits.numel() / n;
    EFFNET_CHECK(labels.numel() == n && probs.numel() == logits.numel() && loss.numel() == 1,
                 "softmax_cross_entropy: logits " << logits.shape() << ", labels " << labels.shape());
    if (logits.is_cuda()) {
        cuda::softmax_cross_entropy_forward(logits.f32(), labels.i32(), probs.f32(), loss.f32(),
                                            static_cast<float*>(ctx.workspace(4 * size_t(n))), n, k, ctx.stream());
        return;
    }
    cpu::softmax_cross_entropy_forward(logits.f32(), labels.i32(), probs.f32(), loss.f32(), n, k, ctx.stream());
}

// The host reads the loss: on the GPU, the one synchronisation of an eager training step.
float softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels, Tensor& probs, Tensor& loss,
                                    Context& ctx) {
    softmax_cross_entropy_forward_on_device(logits, labels, probs, loss, ctx);
    return loss.to_vector()[0];
}

void softmax_cross_entropy_backward(const Tensor& probs, const Tensor& labels, Tensor& dlogits, Context& ctx) {
    const int64_t n = probs.dim(0), k = probs.numel() / n;
    if (probs.is_cuda()) {
        cuda::softmax_cross_entropy_backward(probs.f32(), labels.i32(), dlogits.f32(), n, k, ctx.stream());
        return;
    }
    cpu::softmax_cross_entropy_backward(probs.f32(), labels.i32(), dlogits.f32(), n, k, ctx.stream());
}

void bce_with_logits_forward_on_device(const Tensor& logits, const Tensor& labels, Tensor& probs, Tensor& loss,
                                       Context& ctx) {
    const int64_t n = logits.dim(0);
    EFFNET_CHECK(logits.numel() == n && labels.numel() == n && probs.numel() == n && loss.numel() == 1,
                 "bce_with_logits: logits " << logits.shape() << " must hold one logit per sample");
    if (logits.is_cuda()) {
        cuda::bce_with_logits_forward(logits.f32(), labels.i32(), probs.f32(), loss.f32(),
                                      static_cast<float*>(ctx.workspace(4 * size_t(n))), n, ctx.stream());
        return;
    }
    cpu::bce_with_logits_forward(logits.f32(), labels.i32(), probs.f32(), loss.f32(), n, ctx.stream());
}

float bce_with_logits_forward(const Tensor& logits, const Tensor& labels, Tensor& probs, Tensor& loss, Context& ctx) {
    bce_with_logits_forward_on_device(logits, labels, probs, loss, ctx);
    return loss.to_vector()[0];
}

void bce_with_logits_backward(const Tensor& probs, const Tensor& labels, Tensor& dlogits, Context& ctx) {
    if (probs.is_cuda()) {
        cuda::bce_with_logits_backward(probs.f32(), labels.i32(), dlogits.f32(), probs.dim(0), ctx.stream());
        return;
    }
    cpu::bce_with_logits_backward(probs.f32(), labels.i32(), dlogits.f32(), probs.dim(0), ctx.stream());
}

// ---- AdamW -------------------------------------------------------------------
void adamw_update(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, int64_t offset, int64_t count,
                  const AdamWStep& s, Context& ctx) {
    EFFNET_CHECK(offset >= 0 && offset + count <= param.numel() && grad.numel() == param.numel() &&
                     m.numel() == param.numel() && v.numel() == param.numel(),
                 "adamw_update: range [" << offset << ", " << offset + count << ") of " << param.numel());
    if (param.is_cuda()) {
        cuda::adamw_update(param.f32() + offset, grad.f32() + offset, m.f32() + offset,
                                                            v.f32() + offset, count, s, ctx.stream());
        return;
    }
    cpu::adamw_update(param.f32() + offset, grad.f32() + offset, m.f32() + offset, v.f32() + offset, count, s,
                      ctx.stream());
}

}  // namespace effnet
