// The device's ceilings, measured rather than looked up, for benchmarks that
// report achieved GB/s and GFLOP/s as a share of what the GPU can do:
// device-to-device copy bandwidth and FP32 FMA throughput. They need a GPU
// context (ContractError otherwise); cuda:: versions in kernels/cuda/roofline.cu.
#pragma once

#include "tensor/context.h"
#include "tensor/gpu_handles.h"

namespace effnet {

// GB/s of cudaMemcpyDeviceToDevice over a 1 GiB buffer (bytes read + written), `repeats` copies.
double measure_copy_gb_per_s(Context& ctx, int repeats);
// GFLOP/s (one FMA = 2 FLOPs) of independent FP32 FMA chains filling every SM.
double measure_fma_gflop_per_s(Context& ctx);

namespace cuda {
double measure_copy_gb_per_s(CudaStream stream, int repeats);
double measure_fma_gflop_per_s(CudaStream stream);
}  // namespace cuda

}  // namespace effnet
