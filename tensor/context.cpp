#include "tensor/context.h"

#include <algorithm>
#include <iostream>
#include <mutex>

#include "tensor/error.h"
#include "tensor/gpu_runtime.h"

namespace effnet {

Context::Context(Device device) : device_(device) {
    if (device_ != Device::CUDA) return;
    // Always refused in the CPU-only build, where available() is false.
    EFFNET_CHECK(gpu::available(), "a CUDA context needs a usable GPU: " << gpu::status());
    if constexpr (kWithCuda) {
        stream_ = gpu::device_stream();
        cublas_ = gpu::create_cublas(stream_, allow_tf32_);
        cudnn_ = gpu::create_cudnn(stream_);
    }
}

Context::~Context() {
    if constexpr (kWithCuda) {
        if (device_ == Device::CUDA) {
            workspace_ = Tensor();
            gpu::destroy_cudnn(cudnn_);
            gpu::destroy_cublas(cublas_);
        }
    }
}

void* Context::workspace(size_t bytes) {
    if (!workspace_.defined() || workspace_.nbytes() < bytes) {
        bool capturing = false;
        if constexpr (kWithCuda) capturing = device_ == Device::CUDA && gpu::is_capturing(stream_);
        EFFNET_CHECK(!capturing, "the context workspace must grow from "
                                     << workspace_.nbytes() << " to " << bytes
                                     << " bytes during CUDA graph capture; run the step once "
                                        "eagerly before capturing it");
        int64_t floats = static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float));
        workspace_ = Tensor::empty(Shape{floats > 0 ? floats : 1}, device_);
    }
    return workspace_.raw();
}

void Context::synchronize() const {
    if constexpr (kWithCuda) {
        if (device_ == Device::CUDA) gpu::synchronize(stream_);
    }
}

void Context::set_allow_tf32(bool allow) {
    allow_tf32_ = allow;
    if constexpr (kWithCuda) {
        if (device_ == Device::CUDA) gpu::set_cublas_tf32(cublas_, allow);
    }
}

void apply_kernel_spec(Context& ctx, const std::string& spec) {
    auto parse = [&](const std::string& v) {
        if (v == "custom") return KernelChoice::CUSTOM;
        if (v == "cudnn") return KernelChoice::CUDNN;
        throw ContractError("--kernels " + spec + ": '" + v + "' is neither custom nor cudnn");
    };
    if (spec.find('=') == std::string::npos) {
        ctx.depthwise_kernels = ctx.batchnorm_kernels = ctx.conv_kernels = parse(spec);
        return;
    }
    size_t start = 0;
    while (start <= spec.size()) {
        const size_t end = std::min(spec.find(',', start), spec.size());
        const std::string item = spec.substr(start, end - start);
        const size_t eq = item.find('=');
        if (eq == std::string::npos)
            throw ContractError("--kernels " + spec + ": '" + item +
                                "' is not family=custom|cudnn");
        const std::string family = item.substr(0, eq);
        const KernelChoice choice = parse(item.substr(eq + 1));
        if (family == "depthwise")
            ctx.depthwise_kernels = choice;
        else if (family == "batchnorm")
            ctx.batchnorm_kernels = choice;
        else if (family == "stem")
            ctx.conv_kernels = choice;
        else
            throw ContractError("--kernels " + spec + ": unknown family '" + family +
                                "' (depthwise, batchnorm, stem)");
        start = end + 1;
    }
}

std::string kernel_spec(const Context& ctx) {
    auto name = [](KernelChoice k) { return k == KernelChoice::CUDNN ? "cudnn" : "custom"; };
    return std::string("depthwise=") + name(ctx.depthwise_kernels) +
           ",batchnorm=" + name(ctx.batchnorm_kernels) + ",stem=" + name(ctx.conv_kernels);
}

Device resolve_device(const std::string& request) {
    Device d;
    if (request == "cpu") {
        d = Device::CPU;
    } else if (request == "cuda") {
        if (!gpu::available()) throw CudaError("--device cuda requested, but " + gpu::status());
        d = Device::CUDA;
    } else if (request == "auto") {
        d = gpu::available() ? Device::CUDA : Device::CPU;
    } else {
        throw ContractError("unknown device '" + request + "' (expected auto, cpu or cuda)");
    }
    static std::once_flag logged;
    std::call_once(logged, [d] {
        if (d == Device::CUDA)
            std::cerr << "effnet: running on CUDA: " << gpu::status() << "\n";
        else
            std::cerr << "effnet: running on the CPU (" << gpu::status() << ")\n";
    });
    return d;
}

}  // namespace effnet
