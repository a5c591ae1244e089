// A small JSON reader and writer, enough for safetensors headers and
// metrics files. The parser is strict (RFC 8259 syntax), bounded in nesting
// depth, and reports the byte offset of the first error.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace effnet::json {

struct Value {
    enum class Type { NUL, BOOL, NUMBER, STRING, ARRAY, OBJECT };
    Type type = Type::NUL;
    bool boolean = false;
    double number = 0;
    std::string text;        // the number's literal text, or the string
    std::vector<Value> items;
    std::vector<std::pair<std::string, Value>> members;  // in file order

    const Value* find(const std::string& key) const;
    bool is_integer() const;  // a NUMBER written without fraction or exponent
};

// Throws effnet::IoError("... at byte N") on malformed input.
Value parse(const std::string& text);
// A JSON string literal with the needed escapes.
std::string quote(const std::string& s);

}  // namespace effnet::json
