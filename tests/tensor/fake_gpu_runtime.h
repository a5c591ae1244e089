// A recording stand-in for the CUDA runtime (the functions of
// tensor/gpu_runtime.h and tensor/cuda/fill.cu), linked instead of the
// effnet_gpu_runtime library into the fake-runtime tests of the CUDA build
// (tests/tensor/CMakeLists.txt), so that the stream rule of tensor/tensor.h
// and the loader's staging-buffer rule (data/loader.h) are checked on the CPU.
//
// "Device" memory is host memory. Every enqueued operation (copy, memset,
// fill) is deferred: it runs only when its stream is synchronised or an event
// recorded after it is waited for, as on a GPU that is slow to start. The
// destination of a device-to-host copy is poisoned when the copy is enqueued
// (its bytes have not arrived yet), so a host read that forgets to synchronise
// sees poison, and a staging buffer reused before its copy ran shows up in
// the copied values. Every call is logged with the stream it used.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tensor/gpu_handles.h"

namespace effnet::fake_gpu {

struct Call {
    std::string
        op;  // "memcpy_h2d", "memcpy_d2h", "memcpy_d2d", "memset", "fill", "random", "sync", "event", ...
    CudaStream stream;  // the stream it was enqueued on (or synchronised)
};

// Calls since the last reset, in order.
const std::vector<Call>& calls();
void reset_calls();
// Operations enqueued but not yet run.
size_t pending();
// Drops them (their buffers may be gone), so one failing test cannot corrupt the next.
void discard_pending();
// What gpu::is_capturing reports (as if a CUDA graph capture were under way).
void set_capturing(bool capturing);
// The byte fresh "device" memory is filled with (0xFF: a NaN pattern in float).
constexpr unsigned char kPoison = 0xFF;

}  // namespace effnet::fake_gpu
