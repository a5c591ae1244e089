// Context checks and backend choice for kernels/roofline.h: the ceilings are
// the GPU's, so there is no CPU branch, and the CPU-only build has none at all.
#include "kernels/roofline.h"

#include "effnet_config.h"
#include "tensor/error.h"

namespace effnet {

namespace {
void check_gpu_context(const char* op, const Context& ctx) {
    EFFNET_CHECK(ctx.device() == Device::CUDA,
                 op << ": the ceilings are measured on the GPU; needs a CUDA context");
}
}  // namespace

double measure_copy_gb_per_s(Context& ctx, int repeats) {
    check_gpu_context("measure_copy_gb_per_s", ctx);
    EFFNET_CHECK(repeats >= 1, "measure_copy_gb_per_s: " << repeats << " repeats");
    if constexpr (kWithCuda)
        return cuda::measure_copy_gb_per_s(ctx.stream(), repeats);
    else
        return 0;  // not reached: no CUDA context exists in the CPU-only build
}

double measure_fma_gflop_per_s(Context& ctx) {
    check_gpu_context("measure_fma_gflop_per_s", ctx);
    if constexpr (kWithCuda)
        return cuda::measure_fma_gflop_per_s(ctx.stream());
    else
        return 0;  // not reached: no CUDA context exists in the CPU-only build
}

}  // namespace effnet
