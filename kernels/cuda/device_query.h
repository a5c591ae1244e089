// What the launch maps need to know about the GPU they run on, queried from
// the CUDA runtime once per device and cached. The maps themselves
// (kernels/cuda/*_map.h) take these numbers as parameters, so CPU tests can
// walk them for a chosen GPU (132 SMs: H100/H200).
#pragma once

namespace effnet::cuda {

// Streaming multiprocessors of the current device (cudaDevAttrMultiProcessorCount).
int multiprocessor_count();

}  // namespace effnet::cuda
