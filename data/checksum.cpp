// CRC-32 by "slicing by 8": table k holds the CRC of a byte followed by k zero
// bytes, so eight input bytes advance the register with eight lookups
// (about 8x the byte-at-a-time loop; checkpoints of tens of MB are summed on
// every write). Adler-32 defers the modulo to once per 5552 bytes, the
// longest run whose sums cannot overflow 32 bits.
#include "data/checksum.h"

#include <array>

namespace effnet {

namespace {

using CrcTables = std::array<std::array<uint32_t, 256>, 8>;

CrcTables make_crc_tables() {
    CrcTables t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        t[0][i] = c;
    }
    for (size_t k = 1; k < 8; ++k)
        for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    return t;
}

const CrcTables& crc_tables() {
    static const CrcTables t = make_crc_tables();
    return t;
}

uint32_t load_le32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
    const CrcTables& t = crc_tables();
    const auto* p = static_cast<const uint8_t*>(data);
    uint32_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        const uint32_t lo = load_le32(p) ^ c, hi = load_le32(p + 4);
        c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
            t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    }
    for (; n > 0; --n, ++p) c = t[0][(c ^ *p) & 0xFF] ^ (c >> 8);
    return ~c;
}

uint32_t adler32(const void* data, size_t n, uint32_t adler) {
    constexpr uint32_t kMod = 65521;  // the largest prime below 2^16
    constexpr size_t kRun = 5552;
    const auto* p = static_cast<const uint8_t*>(data);
    uint32_t a = adler & 0xFFFF, b = adler >> 16;
    while (n > 0) {
        const size_t run = n < kRun ? n : kRun;
        for (size_t i = 0; i < run; ++i) {
            a += p[i];
            b += a;
        }
        a %= kMod;
        b %= kMod;
        p += run;
        n -= run;
    }
    return b << 16 | a;
}

}  // namespace effnet
