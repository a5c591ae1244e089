// Operand checks and backend choice for kernels/linear.h (the pattern:
// kernels/dispatch.h).
#include "kernels/linear.h"

#include "kernels/dispatch.h"

namespace effnet {

namespace {
using detail::check_operands;

struct LinearSizes {
    int64_t n, in, out;
};
// x [N, ...] (in = the rest) and w [out, in], on the context's device; a bias
// or its gradient, when defined, holds `out` values.
LinearSizes check_linear(const char* op, const Context& ctx, const Tensor& x, const Tensor& w,
                         const Tensor& bias, const char* bias_name) {
    check_operands(op, ctx, {{x, "x"}, {w, "w"}});
    EFFNET_CHECK(x.rank() >= 1 && x.dim(0) > 0 && w.rank() >= 1,
                 op << ": x " << x.shape() << " and w " << w.shape()
                    << " need a batch and an output dimension");
    const LinearSizes s{x.dim(0), x.numel() / x.dim(0), w.dim(0)};
    EFFNET_CHECK(w.numel() == s.out * s.in,
                 op << ": x " << x.shape() << " and w " << w.shape() << " do not match");
    if (bias.defined()) {
        check_operands(op, ctx, {{bias, bias_name}});
        EFFNET_CHECK(bias.numel() == s.out,
                     op << ": " << bias_name << " " << bias.shape() << ", expected " << s.out);
    }
    return s;
}
}  // namespace

void linear_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y, Context& ctx) {
    const char* op = "linear_forward";
    const auto [n, in, out] = check_linear(op, ctx, x, w, bias, "bias");
    check_operands(op, ctx, {{y, "y"}});
    EFFNET_CHECK(y.numel() == n * out,
                 op << ": y " << y.shape() << ", expected " << n << " x " << out);
    const float* b = bias.defined() ? bias.f32() : nullptr;
    if constexpr (kWithCuda) {
        if (x.is_cuda())
            return cuda::linear_forward(x.f32(), w.f32(), b, y.f32(), n, in, out, ctx.cublas(),
                                        ctx.stream());
    }
    cpu::linear_forward(x.f32(), w.f32(), b, y.f32(), n, in, out, ctx.stream());
}

void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw,
                     Tensor& dbias, Context& ctx) {
    const char* op = "linear_backward";
    const auto [n, in, out] = check_linear(op, ctx, x, w, dbias, "dbias");
    check_operands(op, ctx, {{dy, "dy"}, {dw, "dw"}});
    EFFNET_CHECK(dy.numel() == n * out,
                 op << ": dy " << dy.shape() << ", expected " << n << " x " << out);
    EFFNET_CHECK(dw.numel() == w.numel(),
                 op << ": dw " << dw.shape() << ", expected " << w.shape());
    if (dx) {
        check_operands(op, ctx, {{*dx, "dx"}});
        EFFNET_CHECK(dx->numel() == x.numel(),
                     op << ": dx " << dx->shape() << ", expected " << x.shape());
    }
    float* dx_data = dx ? dx->f32() : nullptr;
    float* db = dbias.defined() ? dbias.f32() : nullptr;
    if constexpr (kWithCuda) {
        if (x.is_cuda())
            return cuda::linear_backward(x.f32(), w.f32(), dy.f32(), dx_data, dw.f32(), db, n, in,
                                         out, ctx.cublas(), ctx.stream());
    }
    cpu::linear_backward(x.f32(), w.f32(), dy.f32(), dx_data, dw.f32(), db, n, in, out,
                         ctx.stream());
}

}  // namespace effnet
