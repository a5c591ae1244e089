// DICOM files written by the tests themselves through DCMTK (only where the
// build has it: call write_dicom after checking dicom_available()).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace effnet::test {

enum class DicomSyntax {
    EXPLICIT_LITTLE,   // uncompressed
    JPEG_LOSSLESS,     // JPEG process 14, selection value 1 (dcmjpeg)
    JPEG_LS_LOSSLESS,  // dcmjpls
    RLE,               // dcmdata
    JPEG2000_FAKE,     // a JPEG 2000 transfer syntax around bytes that are no codestream
};

struct DicomSpec {
    int rows = 4, cols = 5;
    std::string photometric = "MONOCHROME2";  // or MONOCHROME1, RGB
    int bits_allocated = 16, bits_stored = 12;
    bool is_signed = false;
    std::vector<int32_t>
        values;  // rows*cols stored values (RGB: 3 per pixel), repeated for every frame
    std::optional<double> slope, intercept;
    std::optional<double> window_center, window_width;
    int frames = 1;
    bool pixel_data = true;
    bool meta_header = true;  // false: a bare dataset, no preamble or "DICM" (older files)
    DicomSyntax syntax = DicomSyntax::EXPLICIT_LITTLE;
};

// Throws std::runtime_error when DCMTK cannot write the file (or is absent).
void write_dicom(const std::filesystem::path& path, const DicomSpec& spec);

}  // namespace effnet::test
