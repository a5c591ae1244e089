// Operand checks and backend choice for kernels/activation.h (the pattern:
// kernels/dispatch.h).
#include "kernels/activation.h"

#include "kernels/dispatch.h"

namespace effnet {

using detail::check_same_numel;

void swish_forward(const Tensor& x, Tensor& y, Context& ctx) {
    check_same_numel("swish_forward", ctx, {{x, "x"}, {y, "y"}});
    if constexpr (kWithCuda) {
        if (x.is_cuda()) return cuda::swish_forward(x.f32(), y.f32(), x.numel(), ctx.stream());
    }
    cpu::swish_forward(x.f32(), y.f32(), x.numel(), ctx.stream());
}

void swish_backward(const Tensor& x, const Tensor& dy, Tensor& dx, Context& ctx) {
    check_same_numel("swish_backward", ctx, {{x, "x"}, {dy, "dy"}, {dx, "dx"}});
    if constexpr (kWithCuda) {
        if (x.is_cuda())
            return cuda::swish_backward(x.f32(), dy.f32(), dx.f32(), x.numel(), ctx.stream());
    }
    cpu::swish_backward(x.f32(), dy.f32(), dx.f32(), x.numel(), ctx.stream());
}

void sigmoid_forward(const Tensor& x, Tensor& y, Context& ctx) {
    check_same_numel("sigmoid_forward", ctx, {{x, "x"}, {y, "y"}});
    if constexpr (kWithCuda) {
        if (x.is_cuda()) return cuda::sigmoid_forward(x.f32(), y.f32(), x.numel(), ctx.stream());
    }
    cpu::sigmoid_forward(x.f32(), y.f32(), x.numel(), ctx.stream());
}

void sigmoid_backward(const Tensor& y, const Tensor& dy, Tensor& dx, Context& ctx) {
    check_same_numel("sigmoid_backward", ctx, {{y, "y"}, {dy, "dy"}, {dx, "dx"}});
    if constexpr (kWithCuda) {
        if (y.is_cuda())
            return cuda::sigmoid_backward(y.f32(), dy.f32(), dx.f32(), y.numel(), ctx.stream());
    }
    cpu::sigmoid_backward(y.f32(), dy.f32(), dx.f32(), y.numel(), ctx.stream());
}

}  // namespace effnet
