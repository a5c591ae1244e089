// Backend dispatch for kernels/activation.h.
#include "kernels/activation.h"

#include "kernels/dispatch.h"

namespace effnet {

namespace {
void check_same(const char* op, const Tensor& a, const Tensor& b) {
    EFFNET_CHECK(a.numel() == b.numel(), op << ": " << a.shape() << " vs " << b.shape());
    EFFNET_CHECK_SAME_DEVICE(op, a, b);
}
}  // namespace

void swish_forward(const Tensor& x, Tensor& y, Context& ctx) {
    check_same("swish_forward", x, y);
    if (x.is_cuda()) {
        cuda::swish_forward(x.f32(), y.f32(), x.numel(), ctx.stream());
        return;
    }
    cpu::swish_forward(x.f32(), y.f32(), x.numel(), ctx.stream());
}

void swish_backward(const Tensor& x, const Tensor& dy, Tensor& dx, Context& ctx) {
    check_same("swish_backward", x, dy);
    check_same("swish_backward", x, dx);
    if (x.is_cuda()) {
        cuda::swish_backward(x.f32(), dy.f32(), dx.f32(), x.numel(), ctx.stream());
        return;
    }
    cpu::swish_backward(x.f32(), dy.f32(), dx.f32(), x.numel(), ctx.stream());
}

void sigmoid_forward(const Tensor& x, Tensor& y, Context& ctx) {
    check_same("sigmoid_forward", x, y);
    if (x.is_cuda()) {
        cuda::sigmoid_forward(x.f32(), y.f32(), x.numel(), ctx.stream());
        return;
    }
    cpu::sigmoid_forward(x.f32(), y.f32(), x.numel(), ctx.stream());
}

void sigmoid_backward(const Tensor& y, const Tensor& dy, Tensor& dx, Context& ctx) {
    check_same("sigmoid_backward", y, dy);
    check_same("sigmoid_backward", y, dx);
    if (y.is_cuda()) {
        cuda::sigmoid_backward(y.f32(), dy.f32(), dx.f32(), y.numel(), ctx.stream());
        return;
    }
    cpu::sigmoid_backward(y.f32(), dy.f32(), dx.f32(), y.numel(), ctx.stream());
}

}  // namespace effnet
