// DICOM images, read through DCMTK where the build found it (libdcmtk-dev;
// EFFNET_WITH_DICOM in effnet_config.h).
//
// decode_dicom_bytes makes the pipeline's 8-bit grey image from one
// single-frame DICOM image, as a radiology viewer would first display it:
//   stored values (BitsStored of BitsAllocated, signed or unsigned)
//   -> modality values (RescaleSlope * stored + RescaleIntercept)
//   -> the VOI window: the file's first WindowCenter/WindowWidth when it has
//      one (DICOM's linear window function), else the image's min-max
//   -> 0..255, and MONOCHROME1 (low values white) inverted so that dense
//      tissue is bright, as in MONOCHROME2.
// Colour images (RGB, YBR, palette) become grey by BT.601 luminance, as
// other formats do. Pixel data in the JPEG (baseline, extended, lossless;
// DCMTK's dcmjpeg), JPEG-LS (dcmjpls) and RLE (dcmdata) transfer syntaxes is
// decoded; any other compressed syntax (JPEG 2000, ...) is refused by name.
//
// Refused with IoError naming the file and the problem: not DICOM, truncated
// or corrupt, no pixel data (e.g. a report or presentation state), more than
// one frame, a side over the limit (checked before pixels are decoded), or a
// build without DCMTK. Safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace effnet {

// True when this build reads DICOM.
bool dicom_available();
// One line for --help: what the build does with DICOM files.
std::string dicom_support();
// A DICOM file by content ("DICM" after the 128-byte preamble) or, for files
// without the preamble, by name (.dcm, .dicom).
bool looks_like_dicom(const std::vector<uint8_t>& bytes, const std::string& name);

GreyImage decode_dicom_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                             const DecodeLimits& limits = {});

}  // namespace effnet
