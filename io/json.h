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
    std::string text;  // the number's literal text, or the string
    std::vector<Value> items;
    std::vector<std::pair<std::string, Value>> members;  // in file order

    const Value* find(const std::string& key) const;
    bool is_integer() const;  // a NUMBER written without fraction or exponent
};

// Throws effnet::IoError("... at byte N") on malformed input.
Value parse(const std::string& text);
// A JSON string literal with the needed escapes.
std::string quote(const std::string& s);

// ---- writing ------------------------------------------------------------------
// Every JSON file effnet writes (metrics.json, effnet_bench --json, the
// statistics objects) is built with these, so numbers look the same
// everywhere: 6 significant digits ("%.6g"), NaN and infinities as null.
std::string number(double v);
// [lo, hi]
std::string interval(double lo, double hi);

// An object with its members in insertion order; raw() takes a value that is
// JSON text already (a nested object or array).
class Object {
public:
    Object& raw(const std::string& key, const std::string& json);
    Object& num(const std::string& key, double v) { return raw(key, number(v)); }
    Object& integer(const std::string& key, int64_t v) { return raw(key, std::to_string(v)); }
    Object& boolean(const std::string& key, bool v) { return raw(key, v ? "true" : "false"); }
    Object& text(const std::string& key, const std::string& v) { return raw(key, quote(v)); }
    bool empty() const { return text_.empty(); }
    std::string str() const { return "{" + text_ + "}"; }

private:
    std::string text_;
};

// [item_json(items[0]), ...]
template <class T, class F>
std::string array(const std::vector<T>& items, F item_json) {
    std::string s = "[";
    for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + item_json(items[i]);
    return s + "]";
}

}  // namespace effnet::json
