// Operand checks and backend choice for kernels/batchnorm.h (the pattern:
// kernels/dispatch.h). On the GPU, effnet's kernels run unless
// Context::batchnorm_kernels asks for cuDNN's.
#include "kernels/batchnorm.h"

#include "kernels/cuda/cudnn.h"
#include "kernels/dispatch.h"

namespace effnet {

using detail::check_rows_channels;
using detail::check_sync_bn_on_host;
using detail::use_cudnn_batchnorm;

void batchnorm_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                             Tensor& save_mean, Tensor& save_invstd, Tensor& running_mean,
                             Tensor& running_var, const BatchNormParams& p, Context& ctx) {
    const auto [m, c] = check_rows_channels("batchnorm_train_forward", ctx, {{x, "x"}, {y, "y"}},
                                            {{gamma, "gamma"},
                                             {beta, "beta"},
                                             {save_mean, "save_mean"},
                                             {save_invstd, "save_invstd"},
                                             {running_mean, "running_mean"},
                                             {running_var, "running_var"}});
    check_sync_bn_on_host("batchnorm_train_forward", x, p.sync);
    if (p.sync)
        return cpu::batchnorm_train_forward_synced(
            x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(), save_invstd.f32(),
            running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum, *p.sync);
    if constexpr (kWithCuda) {
        if (x.is_cuda() && use_cudnn_batchnorm(ctx))
            return cuda::cudnn_batchnorm_train_forward(
                ctx.cudnn(), x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(),
                save_invstd.f32(), running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum);
        if (x.is_cuda())
            return cuda::batchnorm_train_forward(
                x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(), save_invstd.f32(),
                running_mean.f32(), running_var.f32(), m, c, p.eps, p.momentum,
                ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)), ctx.stream());
    }
    cpu::batchnorm_train_forward(x.f32(), gamma.f32(), beta.f32(), y.f32(), save_mean.f32(),
                                 save_invstd.f32(), running_mean.f32(), running_var.f32(), m, c,
                                 p.eps, p.momentum, ctx.stream());
}

void batchnorm_eval_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                            const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                            const BatchNormParams& p, Context& ctx) {
    const auto [m, c] = check_rows_channels("batchnorm_eval_forward", ctx, {{x, "x"}, {y, "y"}},
                                            {{gamma, "gamma"},
                                             {beta, "beta"},
                                             {running_mean, "running_mean"},
                                             {running_var, "running_var"}});
    if constexpr (kWithCuda) {
        if (x.is_cuda() && use_cudnn_batchnorm(ctx))
            return cuda::cudnn_batchnorm_eval_forward(ctx.cudnn(), x.f32(), gamma.f32(), beta.f32(),
                                                      running_mean.f32(), running_var.f32(),
                                                      y.f32(), m, c, p.eps);
        if (x.is_cuda())
            return cuda::batchnorm_eval_forward(x.f32(), gamma.f32(), beta.f32(),
                                                running_mean.f32(), running_var.f32(), y.f32(), m,
                                                c, p.eps, ctx.stream());
    }
    cpu::batchnorm_eval_forward(x.f32(), gamma.f32(), beta.f32(), running_mean.f32(),
                                running_var.f32(), y.f32(), m, c, p.eps, ctx.stream());
}

void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                        const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                        Tensor& dgamma, Tensor& dbeta, Context& ctx, double eps,
                        ChannelSumReducer* sync) {
    const auto [m, c] =
        check_rows_channels("batchnorm_backward", ctx, {{x, "x"}, {dy, "dy"}, {dx, "dx"}},
                            {{gamma, "gamma"},
                             {save_mean, "save_mean"},
                             {save_invstd, "save_invstd"},
                             {dgamma, "dgamma"},
                             {dbeta, "dbeta"}});
    check_sync_bn_on_host("batchnorm_backward", x, sync);
    if (sync)
        return cpu::batchnorm_backward_synced(x.f32(), dy.f32(), gamma.f32(), save_mean.f32(),
                                              save_invstd.f32(), dx.f32(), dgamma.f32(),
                                              dbeta.f32(), m, c, *sync);
    if constexpr (kWithCuda) {
        if (x.is_cuda() && use_cudnn_batchnorm(ctx))
            return cuda::cudnn_batchnorm_backward(ctx.cudnn(), x.f32(), dy.f32(), gamma.f32(),
                                                  save_mean.f32(), save_invstd.f32(), dx.f32(),
                                                  dgamma.f32(), dbeta.f32(), m, c, eps);
        if (x.is_cuda())
            return cuda::batchnorm_backward(
                x.f32(), dy.f32(), gamma.f32(), save_mean.f32(), save_invstd.f32(), dx.f32(),
                dgamma.f32(), dbeta.f32(), m, c,
                ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)), ctx.stream());
    }
    cpu::batchnorm_backward(x.f32(), dy.f32(), gamma.f32(), save_mean.f32(), save_invstd.f32(),
                            dx.f32(), dgamma.f32(), dbeta.f32(), m, c, ctx.stream());
}

}  // namespace effnet
