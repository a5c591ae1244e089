// NVTX ranges for Nsight Systems: `EFFNET_NVTX_RANGE("blocks.1.0.forward");`
// opens a range closed at the end of the scope. Compiles to nothing in the
// CPU-only build; costs one branch per range when no profiler is attached.
#pragma once

#include <string>

#include "effnet_config.h"

#if EFFNET_WITH_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace effnet {

class NvtxRange {
public:
#if EFFNET_WITH_CUDA
    explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
    explicit NvtxRange(const std::string& name) { nvtxRangePushA(name.c_str()); }
    ~NvtxRange() { nvtxRangePop(); }
#else
    explicit NvtxRange(const char*) {}
    explicit NvtxRange(const std::string&) {}
#endif
    NvtxRange(const NvtxRange&) = delete;
    NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace effnet

#define EFFNET_NVTX_CONCAT2(a, b) a##b
#define EFFNET_NVTX_CONCAT(a, b) EFFNET_NVTX_CONCAT2(a, b)
#define EFFNET_NVTX_RANGE(name) ::effnet::NvtxRange EFFNET_NVTX_CONCAT(effnet_nvtx_, __LINE__)(name)
