// The JSON reader (safetensors headers, metrics files): strict syntax,
// bounded nesting. A document that parses is re-quoted string by string.
#include "fuzz_target.h"
#include "io/json.h"

using namespace effnet;

namespace {
void walk(const json::Value& v, int depth) {
    if (depth > 70) std::abort();  // the parser bounds nesting at 64
    if (v.type == json::Value::Type::STRING)
        json::parse(json::quote(v.text));  // quote's output must parse
    for (auto& item : v.items) walk(item, depth + 1);
    for (auto& [key, member] : v.members) walk(member, depth + 1);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::expect_only_reported_errors(
        [&] { walk(json::parse(std::string(data, data + size)), 0); });
    return 0;
}
