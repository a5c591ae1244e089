// Operand checks and backend choice for kernels/dropout.h (the pattern:
// kernels/dispatch.h). Backward applies the forward's mask and scale again,
// under its own name in error messages.
#include "kernels/dropout.h"

#include "kernels/dispatch.h"

namespace effnet {

namespace {
using detail::check_same_numel;

void check_probability(const char* op, float p) {
    EFFNET_CHECK(p >= 0 && p < 1, op << ": probability " << p << " outside [0, 1)");
}

void dropout(const char* op, const Tensor& x, Tensor& y, float p, uint64_t seed, uint64_t stream,
             uint64_t first, Context& ctx) {
    check_same_numel(op, ctx, {{x, "input"}, {y, "output"}});
    check_probability(op, p);
    if constexpr (kWithCuda) {
        if (x.is_cuda())
            return cuda::dropout_apply(x.f32(), y.f32(), x.numel(), p, seed, stream, first,
                                       ctx.stream());
    }
    cpu::dropout_apply(x.f32(), y.f32(), x.numel(), p, seed, stream, first, ctx.stream());
}

void drop_path(const char* op, const Tensor& x, Tensor& y, float p, uint64_t seed, uint64_t stream,
               uint64_t first, Context& ctx) {
    check_same_numel(op, ctx, {{x, "input"}, {y, "output"}});
    check_probability(op, p);
    EFFNET_CHECK(x.rank() >= 1, op << ": input " << x.shape() << " has no sample dimension");
    const int64_t batch = x.dim(0), per_sample = batch ? x.numel() / batch : 0;
    if constexpr (kWithCuda) {
        if (x.is_cuda())
            return cuda::drop_path_apply(x.f32(), y.f32(), batch, per_sample, p, seed, stream,
                                         first, ctx.stream());
    }
    cpu::drop_path_apply(x.f32(), y.f32(), batch, per_sample, p, seed, stream, first, ctx.stream());
}
}  // namespace

void dropout_forward(const Tensor& x, Tensor& y, float p, uint64_t seed, uint64_t stream,
                     uint64_t first, Context& ctx) {
    dropout("dropout_forward", x, y, p, seed, stream, first, ctx);
}

void dropout_backward(const Tensor& dy, Tensor& dx, float p, uint64_t seed, uint64_t stream,
                      uint64_t first, Context& ctx) {
    dropout("dropout_backward", dy, dx, p, seed, stream, first, ctx);
}

void drop_path_forward(const Tensor& x, Tensor& y, float p, uint64_t seed, uint64_t stream,
                       uint64_t first, Context& ctx) {
    drop_path("drop_path_forward", x, y, p, seed, stream, first, ctx);
}

void drop_path_backward(const Tensor& dy, Tensor& dx, float p, uint64_t seed, uint64_t stream,
                        uint64_t first, Context& ctx) {
    drop_path("drop_path_backward", dy, dx, p, seed, stream, first, ctx);
}

}  // namespace effnet
