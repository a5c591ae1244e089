// The device's ceilings, measured rather than looked up, for benchmarks that
// report achieved GB/s and GFLOP/s as a share of what the GPU can do:
// device-to-device copy bandwidth and FP32 FMA throughput.
#pragma once

#include "tensor/gpu_handles.h"

namespace effnet::cuda {

// GB/s of cudaMemcpyDeviceToDevice over a 1 GiB buffer (bytes read + written).
double measure_copy_gb_per_s(CudaStream stream, int repeats);
// GFLOP/s (one FMA = 2 FLOPs) of independent FP32 FMA chains filling every SM.
double measure_fma_gflop_per_s(CudaStream stream);

}  // namespace effnet::cuda
