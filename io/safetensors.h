// safetensors files (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON header
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "string value", ...}}
// then the raw little-endian tensor bytes (offsets relative to their start).
//
// The reader trusts nothing: the length, every offset, size, dtype and shape
// is checked against the file before any byte is used, and regions may not
// overlap. The writer is atomic: a temporary file beside the target is
// written, fsync'ed and renamed over it, so a crash leaves the old file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace effnet {

struct SafetensorsEntry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;  // raw little-endian data
};

struct SafetensorsFile {
    std::vector<SafetensorsEntry> tensors;  // in file order
    std::map<std::string, std::string> metadata;
    const SafetensorsEntry* find(const std::string& name) const;
};

// Parses a whole file held in memory; `path` only names it in errors.
SafetensorsFile parse_safetensors(const std::vector<uint8_t>& file, const std::string& path);
SafetensorsFile read_safetensors(const std::string& path);

// One tensor to write: `data` points at host memory of numel*dtype_size bytes.
struct SafetensorsView {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    const void* data;
};
void write_safetensors(const std::string& path, const std::vector<SafetensorsView>& tensors,
                       const std::map<std::string, std::string>& metadata);

// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace effnet
