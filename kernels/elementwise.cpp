// Operand checks and backend choice for kernels/elementwise.h (the pattern:
// kernels/dispatch.h).
#include "kernels/elementwise.h"

#include "kernels/dispatch.h"

namespace effnet {

using detail::check_same_numel;

void add(const Tensor& a, const Tensor& b, Tensor& y, Context& ctx) {
    check_same_numel("add", ctx, {{a, "a"}, {b, "b"}, {y, "y"}});
    if constexpr (kWithCuda) {
        if (a.is_cuda()) return cuda::add(a.f32(), b.f32(), y.f32(), a.numel(), ctx.stream());
    }
    cpu::add(a.f32(), b.f32(), y.f32(), a.numel(), ctx.stream());
}

void add_inplace(Tensor& y, const Tensor& a, Context& ctx) {
    check_same_numel("add_inplace", ctx, {{y, "y"}, {a, "a"}});
    if constexpr (kWithCuda) {
        if (a.is_cuda()) return cuda::add_inplace(y.f32(), a.f32(), a.numel(), ctx.stream());
    }
    cpu::add_inplace(y.f32(), a.f32(), a.numel(), ctx.stream());
}

void moving_average(Tensor& y, const Tensor& x, float decay, Context& ctx) {
    check_same_numel("moving_average", ctx, {{y, "y"}, {x, "x"}});
    EFFNET_CHECK(decay >= 0 && decay <= 1, "moving_average: decay " << decay << " outside [0, 1]");
    if constexpr (kWithCuda) {
        if (x.is_cuda())
            return cuda::moving_average(y.f32(), x.f32(), decay, x.numel(), ctx.stream());
    }
    cpu::moving_average(y.f32(), x.f32(), decay, x.numel(), ctx.stream());
}

}  // namespace effnet
