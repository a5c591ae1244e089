// The public exceptions (include/effnet/effnet.h). Their destructors are
// defined here so that each class's type information lives in the library
// once, and a catch in the application matches what the library threw.
#include "effnet/effnet.h"

namespace effnet {

namespace {
std::string describe(const std::string& path, const std::string& reason) {
    return path.empty() ? reason : path + ": " + reason;
}
}  // namespace

ClassifierError::ClassifierError(const std::string& path, const std::string& reason)
    : std::runtime_error(describe(path, reason)), path_(path), reason_(reason) {}

ClassifierError::~ClassifierError() = default;
ModelFileError::~ModelFileError() = default;
ImageError::~ImageError() = default;
DeviceError::~DeviceError() = default;
OutputError::~OutputError() = default;
ArgumentError::~ArgumentError() = default;

}  // namespace effnet
