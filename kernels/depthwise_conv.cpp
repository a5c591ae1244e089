// Operand checks and backend choice for kernels/depthwise_conv.h (the
// pattern: kernels/dispatch.h). On the GPU, effnet's kernels run unless
// Context::depthwise_kernels asks for cuDNN's.
#include "kernels/depthwise_conv.h"

#include "kernels/cuda/cudnn.h"
#include "kernels/dispatch.h"

namespace effnet {

namespace {
using detail::check_conv_operands;
// [[maybe_unused]]: called only from the CUDA branches, which the CPU-only
// build compiles away.

// Whether this context wants cuDNN for depthwise convolution; says so once per process.
[[maybe_unused]] bool use_cudnn_depthwise(const Context& ctx) {
    if (ctx.depthwise_kernels != KernelChoice::CUDNN) return false;
    log_kernel_choice_once("depthwise convolution", "cuDNN (--kernels cudnn)");
    return true;
}
// Device scratch for the tap-major weights (C*k*k floats, the bytes of w).
[[maybe_unused]] float* tap_major_scratch(Context& ctx, const Tensor& w) {
    return static_cast<float*>(ctx.workspace(w.nbytes()));
}
}  // namespace

void depthwise_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g,
                              Context& ctx) {
    check_conv_operands("depthwise_conv2d_forward", ctx, x, w, y, g, true);
    if constexpr (kWithCuda) {
        if (x.is_cuda() && use_cudnn_depthwise(ctx))
            return cuda::cudnn_depthwise_forward(ctx.cudnn(), x.f32(), w.f32(), y.f32(), g);
        if (x.is_cuda())
            return cuda::depthwise_conv2d_forward(x.f32(), w.f32(), y.f32(), g,
                                                  tap_major_scratch(ctx, w), ctx.stream());
    }
    cpu::depthwise_conv2d_forward(x.f32(), w.f32(), y.f32(), g, ctx.stream());
}

void depthwise_conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx,
                                     const ConvGeometry& g, Context& ctx) {
    check_conv_operands("depthwise_conv2d_backward_input", ctx, dx, w, dy, g, true);
    if constexpr (kWithCuda) {
        if (dy.is_cuda() && use_cudnn_depthwise(ctx))
            return cuda::cudnn_depthwise_backward_input(ctx.cudnn(), dy.f32(), w.f32(), dx.f32(),
                                                        g);
        if (dy.is_cuda())
            return cuda::depthwise_conv2d_backward_input(dy.f32(), w.f32(), dx.f32(), g,
                                                         tap_major_scratch(ctx, w), ctx.stream());
    }
    cpu::depthwise_conv2d_backward_input(dy.f32(), w.f32(), dx.f32(), g, ctx.stream());
}

void depthwise_conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw,
                                      const ConvGeometry& g, Context& ctx) {
    check_conv_operands("depthwise_conv2d_backward_weight", ctx, x, dw, dy, g, true);
    if constexpr (kWithCuda) {
        if (x.is_cuda() && use_cudnn_depthwise(ctx))
            return cuda::cudnn_depthwise_backward_weight(ctx.cudnn(), x.f32(), dy.f32(), dw.f32(),
                                                         g);
        if (x.is_cuda()) {
            float* partials = static_cast<float*>(
                ctx.workspace(sizeof(float) * cuda::depthwise_weight_workspace_floats(g)));
            return cuda::depthwise_conv2d_backward_weight(x.f32(), dy.f32(), dw.f32(), g, partials,
                                                          ctx.stream());
        }
    }
    cpu::depthwise_conv2d_backward_weight(x.f32(), dy.f32(), dw.f32(), g, ctx.stream());
}

}  // namespace effnet
