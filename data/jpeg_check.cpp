#include "data/jpeg_check.h"

#include <tuple>

#include "tensor/error.h"

namespace effnet {

namespace {

[[noreturn]] void corrupt(const std::string& name, const std::string& what) {
    throw IoError(name + ": corrupt JPEG (" + what + ")");
}

std::string hex_marker(uint8_t m) {
    static const char* digits = "0123456789ABCDEF";
    return std::string("FF") + digits[m >> 4] + digits[m & 15];
}

// One DHT segment's payload: tables of (class/id byte, 16 counts, values).
// defined[class][id]: which tables the DHT segments so far have defined.
using DefinedTables = bool[2][4];

void check_huffman_tables(const uint8_t* p, size_t n, size_t at, const std::string& name,
                          DefinedTables& defined) {
    while (n > 0) {
        if (n < 17)
            corrupt(name, "a Huffman table at byte " + std::to_string(at) + " is cut short");
        const int cls = p[0] >> 4, id = p[0] & 15;
        if (cls > 1 || id > 3)
            corrupt(name, "a Huffman table at byte " + std::to_string(at) + " has class " +
                              std::to_string(cls) + ", id " + std::to_string(id));
        defined[cls][id] = true;
        size_t codes = 0;
        // The sum of 2^(16 - length) over the codes: at most 2^16 for a prefix code.
        uint64_t kraft = 0;
        for (int len = 1; len <= 16; ++len) {
            codes += p[len];
            kraft += uint64_t(p[len]) << (16 - len);
        }
        if (codes > 256)
            corrupt(name,
                    "a Huffman table lists " + std::to_string(codes) + " codes, at most 256 exist");
        if (kraft > (uint64_t(1) << 16))
            corrupt(name, "a Huffman table's code lengths do not form a prefix code");
        if (n < 17 + codes)
            corrupt(name, "a Huffman table at byte " + std::to_string(at) + " is cut short");
        p += 17 + codes;
        n -= 17 + codes;
        at += 17 + codes;
    }
}

// A start-of-scan payload: every Huffman table the scan decodes with must
// have been defined before it (stb_image would decode with whatever its
// uninitialised table memory holds: a fuzzing finding). A progressive scan
// uses DC tables in its first DC pass only, AC tables in its AC passes only.
void check_scan_tables(const uint8_t* p, size_t n, size_t at, bool progressive,
                       const DefinedTables& defined, const std::string& name) {
    const size_t components = n > 0 ? p[0] : 0;
    if (components < 1 || components > 4 || n < 1 + 2 * components + 3)
        corrupt(name, "a start-of-scan segment at byte " + std::to_string(at) + " is malformed");
    const uint8_t spectral_start = p[1 + 2 * components];
    const uint8_t approximation_high = p[3 + 2 * components] >> 4;
    const bool uses_dc = !progressive || (spectral_start == 0 && approximation_high == 0);
    const bool uses_ac = !progressive || spectral_start > 0;
    for (size_t k = 0; k < components; ++k) {
        const int dc = p[2 + 2 * k] >> 4, ac = p[2 + 2 * k] & 15;
        for (const auto& [used, cls, id] :
             {std::tuple{uses_dc, 0, dc}, std::tuple{uses_ac, 1, ac}}) {
            if (!used) continue;
            if (id > 3 || !defined[cls][id])
                corrupt(name, std::string("a scan decodes with ") + (cls == 0 ? "DC" : "AC") +
                                  " Huffman table " + std::to_string(id) +
                                  ", which no DHT segment before it defines");
        }
    }
}

}  // namespace

bool is_jpeg(const std::vector<uint8_t>& b) {
    return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

void check_jpeg_structure(const std::vector<uint8_t>& b, const std::string& name) {
    if (!is_jpeg(b)) corrupt(name, "no start-of-image marker");
    size_t pos = 2;
    bool scanned = false, progressive = false;
    DefinedTables defined = {};
    for (;;) {
        if (pos >= b.size())
            corrupt(name, scanned ? "truncated: the file ends before its end-of-image marker"
                                  : "truncated: the file ends before any image data");
        if (b[pos] != 0xFF) corrupt(name, "expected a marker at byte " + std::to_string(pos));
        while (pos < b.size() && b[pos] == 0xFF) ++pos;  // fill bytes
        if (pos >= b.size()) continue;
        const uint8_t m = b[pos++];
        if (m == 0xD9) {
            if (!scanned) corrupt(name, "an end-of-image marker before any image data");
            return;
        }
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7))
            continue;  // markers without a segment
        if (b.size() - pos < 2)
            corrupt(name, "truncated inside the " + hex_marker(m) + " segment at byte " +
                              std::to_string(pos));
        const size_t len = size_t(b[pos]) << 8 | b[pos + 1];
        if (len < 2 || len > b.size() - pos)
            corrupt(name, "truncated: segment " + hex_marker(m) + " at byte " +
                              std::to_string(pos) + " claims " + std::to_string(len) + " bytes, " +
                              std::to_string(b.size() - pos) + " remain");
        if (m == 0xC4) check_huffman_tables(&b[pos + 2], len - 2, pos + 2, name, defined);
        if (m == 0xC2) progressive = true;
        if (m == 0xDA) check_scan_tables(&b[pos + 2], len - 2, pos + 2, progressive, defined, name);
        // Start-of-frame markers other than baseline, extended and progressive
        // Huffman coding (C0..C2): lossless, hierarchical, arithmetic.
        if (m >= 0xC3 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)
            throw IoError(
                name + ": unsupported JPEG coding (" + hex_marker(m) +
                ": lossless, hierarchical or arithmetic); baseline and progressive JPEGs are read");
        pos += len;
        if (m == 0xDA) {
            // Entropy-coded data up to the next marker that is not a stuffed
            // byte (FF 00) or a restart marker (FF D0..D7).
            scanned = true;
            while (pos + 1 < b.size() && !(b[pos] == 0xFF && b[pos + 1] != 0x00 &&
                                           !(b[pos + 1] >= 0xD0 && b[pos + 1] <= 0xD7)))
                ++pos;
            if (pos + 1 >= b.size()) pos = b.size();
        }
    }
}

}  // namespace effnet
