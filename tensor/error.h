// Error handling for all of effnet.
//
// Library code never calls exit(): it throws a typed effnet::Error subclass
// whose message names what failed and where. Apps catch at main().
//
//   EFFNET_CHECK(cond, "conv2d: input " << shape << " needs 4 dims");  -> ContractError
//   EFFNET_CUDA_CHECK(cudaMemcpy(...));                                 -> CudaError
//   EFFNET_CHECK_LAUNCH("swish_forward_kernel", "n=" << n);             -> CudaError
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace effnet {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};
// A caller broke a documented contract: wrong shape, bad argument.
class ContractError : public Error { using Error::Error; };
// A CUDA runtime, cuBLAS or cuDNN call failed.
class CudaError : public Error { using Error::Error; };
// The device ran out of memory (a CudaError with the sizes involved).
class OutOfMemoryError : public CudaError { using CudaError::CudaError; };
// A file could not be read or written, or its contents are malformed.
class IoError : public Error { using Error::Error; };
// Training diverged: a NaN or infinite loss or gradient.
class NumericError : public Error { using Error::Error; };

namespace detail {
[[noreturn]] void throw_contract(const char* file, int line, const char* cond, const std::string& msg);
}  // namespace detail

}  // namespace effnet

// Checks a contract; `msg` is a stream expression (`"n=" << n`).
#define EFFNET_CHECK(cond, msg)                                                        \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            std::ostringstream effnet_check_os_;                                       \
            effnet_check_os_ << msg;                                                   \
            ::effnet::detail::throw_contract(__FILE__, __LINE__, #cond,                \
                                             effnet_check_os_.str());                  \
        }                                                                              \
    } while (0)
