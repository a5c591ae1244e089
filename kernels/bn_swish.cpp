// Operand checks and backend choice for kernels/bn_swish.h (the pattern:
// kernels/dispatch.h). With cuDNN chosen for batch norm, the GPU runs cuDNN's
// batch norm into a workspace z and swish apart (see kernels/bn_swish.h).
#include "kernels/bn_swish.h"

#include "kernels/activation.h"
#include "kernels/cuda/cudnn.h"
#include "kernels/dispatch.h"

namespace effnet {

namespace {
using detail::check_numel;
using detail::check_operands;
using detail::check_rows_channels;
using detail::use_cudnn_batchnorm;

// save_affine holds [scale (C), shift (C)].
void check_save_affine(const char* op, const Context& ctx, const Tensor& save_affine, int64_t c) {
    check_operands(op, ctx, {{save_affine, "save_affine"}});
    check_numel(op, {{save_affine, "save_affine"}}, 2 * c, "values (scale and shift per channel)");
}
}  // namespace

void bn_swish_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                            Tensor& save_mean, Tensor& save_invstd, Tensor& save_affine,
                            Tensor& running_mean, Tensor& running_var, const BatchNormParams& p,
                            Context& ctx) {
    const char* op = "bn_swish_train_forward";
    const auto [m, c] = check_rows_channels(op, ctx, {{x, "x"}, {y, "y"}},
                                            {{gamma, "gamma"},
                                             {beta, "beta"},
                                             {save_mean, "save_mean"},
                                             {save_invstd, "save_invstd"},
                                             {running_mean, "running_mean"},
                                             {running_var, "running_var"}});
    check_save_affine(op, ctx, save_affine, c);
    detail::check_sync_bn_on_host(op, x, p.sync);
    if (p.sync)
        return cpu::bn_swish_train_forward_synced(
            x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(), save_invstd.f32(),
            save_affine.f32(), running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum,
            *p.sync);
    if constexpr (kWithCuda) {
        if (x.is_cuda() && use_cudnn_batchnorm(ctx)) {
            float* z = static_cast<float*>(ctx.workspace(x.nbytes()));
            cuda::cudnn_batchnorm_train_forward(
                ctx.cudnn(), x.f32(), gamma.f32(), beta.f32(), z, save_mean.f32(),
                save_invstd.f32(), running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum);
            cuda::swish_forward(z, y.f32(), m * c, ctx.stream());
            cuda::bn_affine_from_stats(gamma.f32(), beta.f32(), save_mean.f32(), save_invstd.f32(),
                                       save_affine.f32(), c, ctx.stream());
            return;
        }
        if (x.is_cuda())
            return cuda::bn_swish_train_forward(
                x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(), save_invstd.f32(),
                save_affine.f32(), running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum,
                ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)), ctx.stream());
    }
    cpu::bn_swish_train_forward(x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(),
                                save_invstd.f32(), save_affine.f32(), running_mean.f32(),
                                running_var.f32(), m, c, p.eps, p.momentum, ctx.stream());
}

void bn_swish_eval_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                           const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                           const BatchNormParams& p, Context& ctx) {
    const auto [m, c] = check_rows_channels("bn_swish_eval_forward", ctx, {{x, "x"}, {y, "y"}},
                                            {{gamma, "gamma"},
                                             {beta, "beta"},
                                             {running_mean, "running_mean"},
                                             {running_var, "running_var"}});
    if constexpr (kWithCuda) {
        if (x.is_cuda() && use_cudnn_batchnorm(ctx)) {
            float* z = static_cast<float*>(ctx.workspace(x.nbytes()));
            cuda::cudnn_batchnorm_eval_forward(ctx.cudnn(), x.f32(), gamma.f32(), beta.f32(),
                                               running_mean.f32(), running_var.f32(), z, m, c,
                                               p.eps);
            cuda::swish_forward(z, y.f32(), m * c, ctx.stream());
            return;
        }
        if (x.is_cuda())
            return cuda::bn_swish_eval_forward(x.f32(), gamma.f32(), beta.f32(), running_mean.f32(),
                                               running_var.f32(), y.f32(), m, c, p.eps,
                                               ctx.stream());
    }
    cpu::bn_swish_eval_forward(x.f32(), gamma.f32(), beta.f32(), running_mean.f32(),
                               running_var.f32(), y.f32(), m, c, p.eps, ctx.stream());
}

void bn_swish_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                       const Tensor& save_mean, const Tensor& save_invstd,
                       const Tensor& save_affine, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                       Context& ctx, double eps, ChannelSumReducer* sync) {
    const char* op = "bn_swish_backward";
    const auto [m, c] = check_rows_channels(op, ctx, {{x, "x"}, {dy, "dy"}, {dx, "dx"}},
                                            {{gamma, "gamma"},
                                             {save_mean, "save_mean"},
                                             {save_invstd, "save_invstd"},
                                             {dgamma, "dgamma"},
                                             {dbeta, "dbeta"}});
    check_save_affine(op, ctx, save_affine, c);
    detail::check_sync_bn_on_host(op, x, sync);
    if (sync)
        return cpu::bn_swish_backward_synced(x.f32(), dy.f32(), gamma.f32(), save_mean.f32(),
                                             save_invstd.f32(), save_affine.f32(), dx.f32(),
                                             dgamma.f32(), dbeta.f32(), m, c, *sync);
    if constexpr (kWithCuda) {
        if (x.is_cuda() && use_cudnn_batchnorm(ctx)) {
            float* dz = static_cast<float*>(ctx.workspace(x.nbytes()));
            cuda::swish_grad_of_bn(x.f32(), dy.f32(), save_affine.f32(), dz, m, c, ctx.stream());
            cuda::cudnn_batchnorm_backward(ctx.cudnn(), x.f32(), dz, gamma.f32(), save_mean.f32(),
                                           save_invstd.f32(), dx.f32(), dgamma.f32(), dbeta.f32(),
                                           m, c, eps);
            return;
        }
        if (x.is_cuda())
            return cuda::bn_swish_backward(
                x.f32(), dy.f32(), gamma.f32(), save_mean.f32(), save_invstd.f32(),
                save_affine.f32(), dx.f32(), dgamma.f32(), dbeta.f32(), m, c,
                ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)), ctx.stream());
    }
    cpu::bn_swish_backward(x.f32(), dy.f32(), gamma.f32(), save_mean.f32(), save_invstd.f32(),
                           save_affine.f32(), dx.f32(), dgamma.f32(), dbeta.f32(), m, c,
                           ctx.stream());
}

}  // namespace effnet
