// Image decoding through the loader's entry point (decode_image_bytes:
// PNG 8/16-bit through libpng or stb_image behind the CRC/Adler-32 check,
// JPEG, BMP, and the refusal of everything else), then the preprocessing a
// decoded image goes through (equalisation, CLAHE, resizing).
#include "data/image.h"
#include "data/preprocess.h"
#include "fuzz_target.h"

using namespace effnet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    DecodeLimits limits;
    limits.max_side =
        1024;  // keeps each input fast; the side check itself is exercised at any limit
    fuzz::expect_only_reported_errors([&] {
        const GreyImage img =
            decode_image_bytes(std::vector<uint8_t>(data, data + size), "fuzz.img", limits);
        if (img.width < 1 || img.height < 1 || img.width > limits.max_side ||
            img.height > limits.max_side ||
            img.pixels.size() != size_t(img.width) * size_t(img.height))
            std::abort();
        equalize_histogram(img);
        clahe(img, std::min(8, img.width), std::min(8, img.height), 2.0);
        to_grey(resize(to_plane(img), 32, 32));
    });
    return 0;
}
