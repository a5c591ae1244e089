// A protobuf wire-format reader for tests: splits a message into its fields
// (number, wire type, value) so a test can check an ONNX file's structure
// without the protobuf library or Python. Throws std::runtime_error on a
// malformed message (truncated varint or length, unknown wire type).
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace effnet::test {

struct ProtoField {
    int number = 0;
    int wire = 0;         // 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
    uint64_t varint = 0;  // wire 0 (and the raw bits of wire 1 and 5)
    std::string bytes;    // wire 2
    int64_t as_int() const { return int64_t(varint); }
    float as_float() const {
        uint32_t b = uint32_t(varint);
        float f;
        std::memcpy(&f, &b, 4);
        return f;
    }
};

inline std::vector<ProtoField> parse_proto(const std::string& msg) {
    std::vector<ProtoField> out;
    size_t pos = 0;
    auto varint = [&]() {
        uint64_t v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= msg.size()) throw std::runtime_error("truncated varint");
            const uint8_t b = uint8_t(msg[pos++]);
            v |= uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
        throw std::runtime_error("varint longer than 10 bytes");
    };
    while (pos < msg.size()) {
        const uint64_t key = varint();
        ProtoField f;
        f.number = int(key >> 3);
        f.wire = int(key & 7);
        if (f.wire == 0) {
            f.varint = varint();
        } else if (f.wire == 2) {
            const uint64_t n = varint();
            if (n > msg.size() - pos) throw std::runtime_error("length runs past the message");
            f.bytes = msg.substr(pos, size_t(n));
            pos += size_t(n);
        } else if (f.wire == 1 || f.wire == 5) {
            const size_t n = f.wire == 1 ? 8 : 4;
            if (n > msg.size() - pos) throw std::runtime_error("truncated fixed field");
            for (size_t i = 0; i < n; ++i) f.varint |= uint64_t(uint8_t(msg[pos + i])) << (8 * i);
            pos += n;
        } else {
            throw std::runtime_error("unknown wire type " + std::to_string(f.wire));
        }
        out.push_back(std::move(f));
    }
    return out;
}

// The fields numbered `number`, in order.
inline std::vector<ProtoField> fields(const std::vector<ProtoField>& msg, int number) {
    std::vector<ProtoField> out;
    for (auto& f : msg)
        if (f.number == number) out.push_back(f);
    return out;
}

// The one field numbered `number`; throws when it is absent or repeated.
inline ProtoField field(const std::vector<ProtoField>& msg, int number) {
    auto f = fields(msg, number);
    if (f.size() != 1)
        throw std::runtime_error("field " + std::to_string(number) + " occurs " +
                                 std::to_string(f.size()) + " times");
    return f[0];
}

}  // namespace effnet::test
