// Operand checks and backend choice for kernels/adamw.h (the pattern:
// kernels/dispatch.h).
#include "kernels/adamw.h"

#include "kernels/dispatch.h"

namespace effnet {

void adamw_update(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, int64_t offset,
                  int64_t count, const AdamWStep& s, Context& ctx) {
    const char* op = "adamw_update";
    detail::check_same_numel(op, ctx, {{param, "param"}, {grad, "grad"}, {m, "m"}, {v, "v"}});
    EFFNET_CHECK(offset >= 0 && count >= 0 && offset + count <= param.numel(),
                 op << ": range [" << offset << ", " << offset + count << ") of " << param.numel());
    float *p = param.f32() + offset, *mo = m.f32() + offset, *vo = v.f32() + offset;
    const float* g = grad.f32() + offset;
    if constexpr (kWithCuda) {
        if (param.is_cuda()) return cuda::adamw_update(p, g, mo, vo, count, s, ctx.stream());
    }
    cpu::adamw_update(p, g, mo, vo, count, s, ctx.stream());
}

}  // namespace effnet
