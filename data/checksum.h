// Checksums of outside data: CRC-32 (the ISO-HDLC polynomial 0xEDB88320 of
// PNG chunks, zlib's crc32 and gzip) and Adler-32 (the trailer of a zlib
// stream, RFC 1950). Either continues across calls: pass the previous result
// as the last argument. crc32("123456789") = 0xCBF43926,
// adler32("Wikipedia") = 0x11E60398.
#pragma once

#include <cstddef>
#include <cstdint>

namespace effnet {

uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);
uint32_t adler32(const void* data, size_t n, uint32_t adler = 1);

}  // namespace effnet
