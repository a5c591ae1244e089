#include "data/jpeg_decode.h"

#include <memory>

#include "tensor/error.h"

#if EFFNET_HAVE_LIBJPEG
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>
#endif

namespace effnet {

#if EFFNET_HAVE_LIBJPEG

namespace {

// libjpeg reports errors through a callback that must not return: it jumps
// back to decode_grey's setjmp. No C++ object with a destructor lives in the
// frames it jumps over or in decode_grey itself (its buffer is malloc'd).
struct ErrorManager {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jump_with_message(j_common_ptr c) {
    auto* e = reinterpret_cast<ErrorManager*>(c->err);
    (*c->err->format_message)(c, e->message);
    std::longjmp(e->jump, 1);
}

void on_error(j_common_ptr c) { jump_with_message(c); }

// Level -1 is a warning about damaged data that libjpeg would decode past
// (extraneous bytes, a premature end): a corrupt image is refused, not
// classified. Levels >= 0 are trace messages.
void on_message(j_common_ptr c, int level) {
    if (level < 0) jump_with_message(c);
}

enum class Outcome { DECODED, FAILED, OUT_OF_LIMITS, NO_MEMORY };

Outcome decode_grey(const uint8_t* data, size_t size, int max_side, int* width, int* height,
                    uint8_t** pixels, char* message) {
    jpeg_decompress_struct cinfo;
    ErrorManager err;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error;
    err.pub.emit_message = on_message;
    err.message[0] = '\0';
    uint8_t* volatile buffer = nullptr;  // read after a longjmp: volatile
    if (setjmp(err.jump)) {
        std::memcpy(message, err.message, JMSG_LENGTH_MAX);
        jpeg_destroy_decompress(&cinfo);
        std::free(buffer);
        return Outcome::FAILED;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
    jpeg_read_header(&cinfo, TRUE);
    *width = int(cinfo.image_width);
    *height = int(cinfo.image_height);
    if (*width <= 0 || *height <= 0 || *width > max_side || *height > max_side) {
        jpeg_destroy_decompress(&cinfo);
        return Outcome::OUT_OF_LIMITS;
    }
    cinfo.out_color_space = JCS_GRAYSCALE;
    jpeg_start_decompress(&cinfo);
    const size_t row_bytes = size_t(cinfo.output_width) * size_t(cinfo.output_components);
    buffer = static_cast<uint8_t*>(std::malloc(row_bytes * cinfo.output_height));
    if (!buffer) {
        jpeg_destroy_decompress(&cinfo);
        return Outcome::NO_MEMORY;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = buffer + size_t(cinfo.output_scanline) * row_bytes;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    *pixels = buffer;
    return Outcome::DECODED;
}

}  // namespace

bool jpeg_through_libjpeg() { return true; }

GreyImage decode_jpeg_grey(const std::vector<uint8_t>& bytes, const std::string& name,
                           const DecodeLimits& limits) {
    int w = 0, h = 0;
    uint8_t* pixels = nullptr;
    char message[JMSG_LENGTH_MAX] = {};
    const Outcome outcome =
        decode_grey(bytes.data(), bytes.size(), limits.max_side, &w, &h, &pixels, message);
    const std::unique_ptr<uint8_t, void (*)(void*)> owned(pixels, std::free);
    switch (outcome) {
        case Outcome::FAILED:
            throw IoError(name + ": corrupt or unsupported JPEG (libjpeg: " + message + ")");
        case Outcome::OUT_OF_LIMITS:
            check_side_limits(w, h, limits, name);
            throw IoError(name + ": JPEG size out of limits");  // unreachable: the check throws
        case Outcome::NO_MEMORY:
            throw IoError(name + ": out of memory decoding a " + std::to_string(w) + "x" +
                          std::to_string(h) + " JPEG");
        case Outcome::DECODED:
            break;
    }
    GreyImage out;
    out.width = w;
    out.height = h;
    out.pixels.assign(owned.get(), owned.get() + size_t(w) * size_t(h));
    return out;
}

#else

bool jpeg_through_libjpeg() { return false; }

GreyImage decode_jpeg_grey(const std::vector<uint8_t>&, const std::string& name,
                           const DecodeLimits&) {
    throw ContractError(name + ": decode_jpeg_grey in a build without libjpeg");
}

#endif

}  // namespace effnet
