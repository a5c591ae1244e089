// Backend dispatch for kernels/conv2d.h and kernels/depthwise_conv.h.
#include "kernels/conv2d.h"

#include "kernels/depthwise_conv.h"
#include "kernels/cuda/cudnn_fallback.h"
#include "kernels/dispatch.h"

namespace effnet {

namespace {
// Whether this context wants cuDNN for depthwise convolution; says so once per process.
bool use_cudnn_depthwise(const Context& ctx) {
    if (ctx.depthwise_kernels != KernelChoice::CUDNN) return false;
    log_kernel_choice_once("depthwise convolution", "cuDNN (--kernels cudnn)");
    return true;
}

// Whether a dense convolution goes to cuDNN (never a 1x1: that is one GEMM).
bool use_cudnn_conv(const Context& ctx, const ConvGeometry& g) {
    if (g.is_pointwise() || ctx.conv_kernels != KernelChoice::CUDNN) return false;
    log_kernel_choice_once("dense convolution (stem)", "cuDNN");
    return true;
}
float* krsc_scratch(Context& ctx, const ConvGeometry& g) {
    return static_cast<float*>(ctx.workspace(4 * cuda::conv2d_krsc_floats(g)));
}

void check_geometry(const char* op, const Tensor& x, const Tensor& w, const Tensor& y, const ConvGeometry& g,
                    bool depthwise) {
    EFFNET_CHECK(x.shape() == (Shape{g.n, g.h, g.w, g.cin}), op << ": input " << x.shape() << ", expected NHWC ["
                                                                << g.n << ", " << g.h << ", " << g.w << ", " << g.cin << "]");
    EFFNET_CHECK(y.shape() == (Shape{g.n, g.ho(), g.wo(), g.cout}),
                 op << ": output " << y.shape() << ", expected [" << g.n << ", " << g.ho() << ", " << g.wo() << ", "
                    << g.cout << "]");
    EFFNET_CHECK(w.shape() == (Shape{g.cout, g.cin_per_group(), g.kh, g.kw}),
                 op << ": weight " << w.shape() << " does not match the geometry");
    EFFNET_CHECK(!depthwise || (g.groups == g.cin && g.cin == g.cout), op << ": not a depthwise geometry");
    EFFNET_CHECK_SAME_DEVICE(op, x, w);
    EFFNET_CHECK_SAME_DEVICE(op, x, y);
}
}  // namespace

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g, Context& ctx) {
    check_geometry("conv2d_forward", x, w, y, g, false);
    if (x.is_cuda() && use_cudnn_conv(ctx, g)) {
        cuda::cudnn_conv2d_forward(ctx.cudnn(), x.f32(), w.f32(), y.f32(), g, krsc_scratch(ctx, g), ctx.allow_tf32(), ctx.stream());
        return;
    }
    if (x.is_cuda()) {
        cuda::conv2d_forward(x.f32(), w.f32(), y.f32(), g, static_cast<float*>(ctx.workspace(4 * cuda::conv2d_workspace_floats(g))),
                                    ctx.cublas(), ctx.stream());
        return;
    }
    cpu::conv2d_forward(x.f32(), w.f32(), y.f32(), g, ctx.stream());
}

void conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g, Context& ctx) {
    check_geometry("conv2d_backward_input", dx, w, dy, g, false);
    if (dy.is_cuda() && use_cudnn_conv(ctx, g)) {
        cuda::cudnn_conv2d_backward_input(ctx.cudnn(), dy.f32(), w.f32(), dx.f32(), g, krsc_scratch(ctx, g), ctx.allow_tf32(),
                                          ctx.stream());
        return;
    }
    if (dy.is_cuda()) {
        cuda::conv2d_backward_input(dy.f32(), w.f32(), dx.f32(), g, static_cast<float*>(ctx.workspace(4 * cuda::conv2d_workspace_floats(g))),
                                    ctx.cublas(), ctx.stream());
        return;
    }
    cpu::conv2d_backward_input(dy.f32(), w.f32(), dx.f32(), g, ctx.stream());
}

void conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g, Context& ctx) {
    check_geometry("conv2d_backward_weight", x, dw, dy, g, false);
    if (x.is_cuda() && use_cudnn_conv(ctx, g)) {
        cuda::cudnn_conv2d_backward_weight(ctx.cudnn(), x.f32(), dy.f32(), dw.f32(), g, krsc_scratch(ctx, g), ctx.allow_tf32(),
                                           ctx.stream());
        return;
    }
    if (x.is_cuda()) {
        cuda::conv2d_backward_weight(x.f32(), dy.f32(), dw.f32(), g, static_cast<float*>(ctx.workspace(4 * cuda::conv2d_workspace_floats(g))),
                                    ctx.cublas(), ctx.stream());
        return;
    }
    cpu::conv2d_backward_weight(x.f32(), dy.f32(), dw.f32(), g, ctx.stream());
}

void depthwise_conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g, Context& ctx) {
    check_geometry("depthwise_conv2d_forward", x, w, y, g, true);
    if (x.is_cuda() && use_cudnn_depthwise(ctx)) {
        cuda::cudnn_depthwise_forward(ctx.cudnn(), x.f32(), w.f32(), y.f32(), g);
        return;
    }
    if (x.is_cuda()) {
        cuda::depthwise_conv2d_forward(x.f32(), w.f32(), y.f32(), g,
                                                        static_cast<float*>(ctx.workspace(w.nbytes())), ctx.stream());
        return;
    }
    cpu::depthwise_conv2d_forward(x.f32(), w.f32(), y.f32(), g, ctx.stream());
}

void depthwise_conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g,
                                     Context& ctx) {
    check_geometry("depthwise_conv2d_backward_input", dx, w, dy, g, true);
    if (dy.is_cuda() && use_cudnn_depthwise(ctx)) {
        cuda::cudnn_depthwise_backward_input(ctx.cudnn(), dy.f32(), w.f32(), dx.f32(), g);
        return;
    }
    if (dy.is_cuda()) {
        cuda::depthwise_conv2d_backward_input(dy.f32(), w.f32(), dx.f32(), g,
                                                               static_cast<float*>(ctx.workspace(w.nbytes())), ctx.stream());
        return;
    }
    cpu::depthwise_conv2d_backward_input(dy.f32(), w.f32(), dx.f32(), g, ctx.stream());
}

void depthwise_conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g,
                                      Context& ctx) {
    check_geometry("depthwise_conv2d_backward_weight", x, dw, dy, g, true);
    if (x.is_cuda() && use_cudnn_depthwise(ctx)) {
        cuda::cudnn_depthwise_backward_weight(ctx.cudnn(), x.f32(), dy.f32(), dw.f32(), g);
        return;
    }
    if (x.is_cuda()) {
        cuda::depthwise_conv2d_backward_weight(
                             x.f32(), dy.f32(), dw.f32(), g,
                             static_cast<float*>(ctx.workspace(4 * cuda::depthwise_weight_workspace_floats(g))), ctx.stream());
        return;
    }
    cpu::depthwise_conv2d_backward_weight(x.f32(), dy.f32(), dw.f32(), g, ctx.stream());
}

}  // namespace effnet
