// JPEG structure checks before libjpeg or stb_image decodes a file. stb_image
// 2.27 (the Debian package, the decoder where libjpeg is absent) writes past
// its Huffman arrays when a DHT segment lists more than 256 codes, decodes a
// scan with a table no DHT defined from uninitialised memory, and decodes a
// file cut short into an image whose missing part is grey; all are refused
// here. IoError names `name` and the problem.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace effnet {

// True when `bytes` start with a JPEG start-of-image marker (FF D8 FF).
bool is_jpeg(const std::vector<uint8_t>& bytes);

// Walks the marker segments (and the entropy-coded data between scans) up to
// the end-of-image marker: every segment lies inside the file, every Huffman
// table holds at most 256 codes forming a prefix code (Kraft inequality), the
// scan decodes only with Huffman tables defined before it, the
// frame is baseline or progressive Huffman coding (what stb_image reads;
// lossless and arithmetic coding are refused as unsupported), and the file
// ends with EOI.
void check_jpeg_structure(const std::vector<uint8_t>& bytes, const std::string& name);

}  // namespace effnet
