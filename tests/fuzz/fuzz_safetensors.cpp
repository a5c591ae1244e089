// safetensors: the 8-byte length, the JSON header and the tensor table
// (dtype, shape, data_offsets, overlaps, the data checksum). A file that
// parses is written back and must read back to the same tensors.
#include "fuzz_target.h"
#include "io/safetensors.h"

using namespace effnet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::expect_only_reported_errors([&] {
        const SafetensorsFile f =
            parse_safetensors(std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
        for (const SafetensorsEntry& e : f.tensors) {
            uint64_t numel = 1;
            for (int64_t d : e.shape) numel *= uint64_t(d);
            if (numel * dtype_size(e.dtype) != e.bytes.size())
                std::abort();  // the parser's promise
        }
    });
    return 0;
}
