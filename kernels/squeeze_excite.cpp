// Operand checks and backend choice for kernels/squeeze_excite.h (the
// pattern: kernels/dispatch.h).
#include "kernels/squeeze_excite.h"

#include "kernels/dispatch.h"

namespace effnet {

namespace {
using detail::check_operands;

// An activation x [N,H,W,C] and a per-image, per-channel tensor [N,C].
void check_pooled(const char* op, const Tensor& x, const Tensor& pooled, const char* pooled_name) {
    EFFNET_CHECK(x.rank() == 4 && pooled.shape() == (Shape{x.dim(0), x.dim(3)}),
                 op << ": activation " << x.shape() << " and " << pooled_name << " "
                    << pooled.shape() << ", expected [N, H, W, C] and [N, C]");
}
void check_like(const char* op, const Tensor& x, const Tensor& t, const char* name) {
    EFFNET_CHECK(t.shape() == x.shape(),
                 op << ": " << name << " " << t.shape() << ", expected " << x.shape());
}
}  // namespace

void global_avg_pool_forward(const Tensor& x, Tensor& y, Context& ctx) {
    const char* op = "global_avg_pool_forward";
    check_operands(op, ctx, {{x, "x"}, {y, "y"}});
    check_pooled(op, x, y, "y");
    const int64_t n = x.dim(0), hw = x.dim(1) * x.dim(2), c = x.dim(3);
    if constexpr (kWithCuda) {
        if (x.is_cuda())
            return cuda::global_avg_pool_forward(
                x.f32(), y.f32(), n, hw, c,
                ctx.workspace(cuda::squeeze_excite_workspace_bytes(n, hw, c)), ctx.stream());
    }
    cpu::global_avg_pool_forward(x.f32(), y.f32(), n, hw, c, ctx.stream());
}

void global_avg_pool_backward(const Tensor& dy, Tensor& dx, Context& ctx) {
    const char* op = "global_avg_pool_backward";
    check_operands(op, ctx, {{dy, "dy"}, {dx, "dx"}});
    check_pooled(op, dx, dy, "dy");
    const int64_t n = dx.dim(0), hw = dx.dim(1) * dx.dim(2), c = dx.dim(3);
    if constexpr (kWithCuda) {
        if (dy.is_cuda())
            return cuda::global_avg_pool_backward(dy.f32(), dx.f32(), n, hw, c, ctx.stream());
    }
    cpu::global_avg_pool_backward(dy.f32(), dx.f32(), n, hw, c, ctx.stream());
}

void channel_scale_forward(const Tensor& x, const Tensor& gate, Tensor& y, Context& ctx) {
    const char* op = "channel_scale_forward";
    check_operands(op, ctx, {{x, "x"}, {gate, "gate"}, {y, "y"}});
    check_pooled(op, x, gate, "gate");
    check_like(op, x, y, "y");
    const int64_t n = x.dim(0), hw = x.dim(1) * x.dim(2), c = x.dim(3);
    if constexpr (kWithCuda) {
        if (x.is_cuda())
            return cuda::channel_scale_forward(x.f32(), gate.f32(), y.f32(), n, hw, c,
                                               ctx.stream());
    }
    cpu::channel_scale_forward(x.f32(), gate.f32(), y.f32(), n, hw, c, ctx.stream());
}

void channel_scale_backward(const Tensor& x, const Tensor& gate, const Tensor& dy, Tensor& dx,
                            Tensor& dgate, Context& ctx) {
    const char* op = "channel_scale_backward";
    check_operands(op, ctx, {{x, "x"}, {gate, "gate"}, {dy, "dy"}, {dx, "dx"}, {dgate, "dgate"}});
    check_pooled(op, x, gate, "gate");
    check_pooled(op, x, dgate, "dgate");
    check_like(op, x, dy, "dy");
    check_like(op, x, dx, "dx");
    const int64_t n = x.dim(0), hw = x.dim(1) * x.dim(2), c = x.dim(3);
    if constexpr (kWithCuda) {
        if (x.is_cuda())
            return cuda::channel_scale_backward(
                x.f32(), gate.f32(), dy.f32(), dx.f32(), dgate.f32(), n, hw, c,
                ctx.workspace(cuda::squeeze_excite_workspace_bytes(n, hw, c)), ctx.stream());
    }
    cpu::channel_scale_backward(x.f32(), gate.f32(), dy.f32(), dx.f32(), dgate.f32(), n, hw, c,
                                ctx.stream());
}

}  // namespace effnet
