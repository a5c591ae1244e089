// The device's ceilings (kernels/roofline.h), which effnet_bench divides by.
#include <gtest/gtest.h>

#include <cmath>

#include "common/gpu_test.h"
#include "kernels/roofline.h"

using namespace effnet;

// The ceilings effnet_bench divides by (kernels/roofline.h) are measurements,
// not results with a CPU reference: they must at least come out finite and
// above what any sm_80+ GPU delivers at the least (10 GB/s, 100 GFLOP/s).
TEST(RooflineGpu, CeilingsArePlausible) {
    EFFNET_REQUIRE_GPU();
    Context g(Device::CUDA);
    const double copy = measure_copy_gb_per_s(g, 3), fma = measure_fma_gflop_per_s(g);
    EXPECT_TRUE(std::isfinite(copy) && copy > 10) << copy << " GB/s";
    EXPECT_TRUE(std::isfinite(fma) && fma > 100) << fma << " GFLOP/s";
}
