// Where a tensor lives and what its elements are.
#pragma once

#include <cstddef>
#include <string>

namespace effnet {

enum class Device { CPU, CUDA };

// float32 is the engine's working type; the 16-bit types are storage types
// reserved for mixed precision (no op accepts them yet).
enum class DType { FLOAT32, FLOAT16, BFLOAT16, INT32, INT64 };

inline size_t dtype_size(DType t) {
    switch (t) {
        case DType::FLOAT32:
            return 4;
        case DType::INT32:
            return 4;
        case DType::INT64:
            return 8;
        case DType::FLOAT16:
            return 2;
        case DType::BFLOAT16:
            return 2;
    }
    return 0;
}

inline const char* dtype_name(DType t) {
    switch (t) {
        case DType::FLOAT32:
            return "F32";
        case DType::INT32:
            return "I32";
        case DType::INT64:
            return "I64";
        case DType::FLOAT16:
            return "F16";
        case DType::BFLOAT16:
            return "BF16";
    }
    return "?";
}

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

}  // namespace effnet
