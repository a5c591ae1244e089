// JPEG decoding through libjpeg-turbo, where the build has it
// (EFFNET_HAVE_LIBJPEG; Debian libjpeg-dev). stb_image 2.27's Huffman decoder
// reads past its tables on damaged entropy-coded data; libjpeg-turbo checks
// what it decodes and reports it. Grey output: the luma of YCbCr files, the
// one channel of grey files; CMYK and 12-bit files are refused with
// libjpeg's reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace effnet {

// True when this build decodes JPEG through libjpeg (false: stb_image).
bool jpeg_through_libjpeg();

// Decodes `bytes` (a JPEG, data/jpeg_check.h's is_jpeg) to 8-bit grey. A
// damaged file, a warning libjpeg would decode past (extraneous bytes, a
// premature end) or a side beyond `limits` is an IoError naming `name`.
// Only callable where jpeg_through_libjpeg().
GreyImage decode_jpeg_grey(const std::vector<uint8_t>& bytes, const std::string& name,
                           const DecodeLimits& limits);

}  // namespace effnet
