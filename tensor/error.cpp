#include "tensor/error.h"

namespace effnet::detail {

void throw_contract(const char* file, int line, const char* cond, const std::string& msg) {
    std::ostringstream os;
    os << msg << " [check '" << cond << "' failed at " << file << ":" << line << "]";
    throw ContractError(os.str());
}

}  // namespace effnet::detail
