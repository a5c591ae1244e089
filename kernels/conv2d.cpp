// Operand checks and backend choice for kernels/conv2d.h (the pattern:
// kernels/dispatch.h). On the GPU a dense convolution wider than 1x1 (the
// stem) runs on cuDNN by default (Context::conv_kernels), else im2col + cuBLAS;
// a 1x1 convolution is always one cuBLAS GEMM.
#include "kernels/conv2d.h"

#include "kernels/cuda/cudnn.h"
#include "kernels/dispatch.h"

namespace effnet {

namespace {
using detail::check_conv_operands;
// [[maybe_unused]]: called only from the CUDA branches, which the CPU-only
// build compiles away.

// Whether a dense convolution goes to cuDNN (never a 1x1: that is one GEMM).
[[maybe_unused]] bool use_cudnn_conv(const Context& ctx, const ConvGeometry& g) {
    if (g.is_pointwise() || ctx.conv_kernels != KernelChoice::CUDNN) return false;
    log_kernel_choice_once("dense convolution (stem)", "cuDNN");
    return true;
}
// Device scratch: the weights in cuDNN's filter order, or the im2col workspace.
[[maybe_unused]] float* krsc_scratch(Context& ctx, const ConvGeometry& g) {
    return static_cast<float*>(ctx.workspace(sizeof(float) * cuda::conv2d_krsc_floats(g)));
}
[[maybe_unused]] float* im2col_scratch(Context& ctx, const ConvGeometry& g) {
    return static_cast<float*>(ctx.workspace(sizeof(float) * cuda::conv2d_workspace_floats(g)));
}
}  // namespace

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g,
                    Context& ctx) {
    check_conv_operands("conv2d_forward", ctx, x, w, y, g, false);
    if constexpr (kWithCuda) {
        if (x.is_cuda() && use_cudnn_conv(ctx, g))
            return cuda::cudnn_conv2d_forward(ctx.cudnn(), x.f32(), w.f32(), y.f32(), g,
                                              krsc_scratch(ctx, g), ctx.allow_tf32(), ctx.stream());
        if (x.is_cuda())
            return cuda::conv2d_forward(x.f32(), w.f32(), y.f32(), g, im2col_scratch(ctx, g),
                                        ctx.cublas(), ctx.stream());
    }
    cpu::conv2d_forward(x.f32(), w.f32(), y.f32(), g, ctx.stream());
}

void conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g,
                           Context& ctx) {
    check_conv_operands("conv2d_backward_input", ctx, dx, w, dy, g, false);
    if constexpr (kWithCuda) {
        if (dy.is_cuda() && use_cudnn_conv(ctx, g))
            return cuda::cudnn_conv2d_backward_input(ctx.cudnn(), dy.f32(), w.f32(), dx.f32(), g,
                                                     krsc_scratch(ctx, g), ctx.allow_tf32(),
                                                     ctx.stream());
        if (dy.is_cuda())
            return cuda::conv2d_backward_input(dy.f32(), w.f32(), dx.f32(), g,
                                               im2col_scratch(ctx, g), ctx.cublas(), ctx.stream());
    }
    cpu::conv2d_backward_input(dy.f32(), w.f32(), dx.f32(), g, ctx.stream());
}

void conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g,
                            Context& ctx) {
    check_conv_operands("conv2d_backward_weight", ctx, x, dw, dy, g, false);
    if constexpr (kWithCuda) {
        if (x.is_cuda() && use_cudnn_conv(ctx, g))
            return cuda::cudnn_conv2d_backward_weight(ctx.cudnn(), x.f32(), dy.f32(), dw.f32(), g,
                                                      krsc_scratch(ctx, g), ctx.allow_tf32(),
                                                      ctx.stream());
        if (x.is_cuda())
            return cuda::conv2d_backward_weight(x.f32(), dy.f32(), dw.f32(), g,
                                                im2col_scratch(ctx, g), ctx.cublas(), ctx.stream());
    }
    cpu::conv2d_backward_weight(x.f32(), dy.f32(), dw.f32(), g, ctx.stream());
}

std::vector<std::string> cudnn_nondeterministic_choices() {
    if constexpr (kWithCuda)
        return cuda::cudnn_nondeterministic_choices();
    else
        return {};
}

}  // namespace effnet
