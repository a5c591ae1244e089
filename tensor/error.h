// Error handling for all of effnet.
//
// Library code never calls exit(): it throws a typed effnet::Error subclass
// whose message names what failed and where. Apps catch at main().
//
//   EFFNET_CHECK(cond, "conv2d: input " << shape << " needs 4 dims");  -> ContractError
//   EFFNET_CUDA_CHECK(cudaMemcpyAsync(..., stream));                    -> CudaError
//   EFFNET_CHECK_LAUNCH("swish_forward_kernel", "n=" << n);             -> CudaError
#pragma once

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>

namespace effnet {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};
// A caller broke a documented contract: wrong shape, bad argument.
class ContractError : public Error {
    using Error::Error;
};
// A CUDA runtime, cuBLAS or cuDNN call failed.
class CudaError : public Error {
    using Error::Error;
};
// The device ran out of memory (a CudaError with the sizes involved, where known).
class OutOfMemoryError : public CudaError {
public:
    explicit OutOfMemoryError(const std::string& what, size_t requested = 0, size_t free = 0,
                              size_t total = 0)
        : CudaError(what), requested_bytes(requested), free_bytes(free), total_bytes(total) {}
    size_t requested_bytes, free_bytes, total_bytes;
};
// A file could not be read or written, or its contents are malformed.
class IoError : public Error {
    using Error::Error;
};
// Training diverged: a NaN or infinite loss or gradient.
class NumericError : public Error {
    using Error::Error;
};

// Inline, so that tensor/'s headers are all the CUDA runtime library
// (tensor/cuda/) needs of the rest of tensor/ (tensor/CMakeLists.txt).
namespace detail {
[[noreturn]] inline void throw_contract(const char* file, int line, const char* cond,
                                        const std::string& msg) {
    std::ostringstream os;
    os << msg << " [check '" << cond << "' failed at " << file << ":" << line << "]";
    throw ContractError(os.str());
}
// The CPU-only build's refusal of `what` (a CUDA tensor, device memory): a
// CudaError "<what>: this effnet was built without CUDA (EFFNET_CUDA=OFF); use --device cpu".
[[noreturn]] inline void throw_built_without_cuda(const std::string& what) {
    throw CudaError(what +
                    ": this effnet was built without CUDA (EFFNET_CUDA=OFF); use --device cpu");
}
}  // namespace detail

}  // namespace effnet

// Checks a contract; `msg` is a stream expression (`"n=" << n`).
#define EFFNET_CHECK(cond, msg)                                                                  \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            std::ostringstream effnet_check_os_;                                                 \
            effnet_check_os_ << msg;                                                             \
            ::effnet::detail::throw_contract(__FILE__, __LINE__, #cond, effnet_check_os_.str()); \
        }                                                                                        \
    } while (0)
