#include "tensor/error.h"

namespace effnet::detail {

void throw_contract(const char* file, int line, const char* cond, const std::string& msg) {
    std::ostringstream os;
    os << msg << " [check '" << cond << "' failed at " << file << ":" << line << "]";
    throw ContractError(os.str());
}

void throw_built_without_cuda(const std::string& what) {
    throw CudaError(what + ": this effnet was built without CUDA (EFFNET_CUDA=OFF); use --device cpu");
}

}  // namespace effnet::detail
