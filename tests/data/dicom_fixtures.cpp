#include "dicom_fixtures.h"

#include <cstdio>
#include <stdexcept>

#include "effnet_config.h"

#if EFFNET_WITH_DICOM
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>

#include <mutex>
#endif

namespace effnet::test {

#if EFFNET_WITH_DICOM

namespace {

void check(const OFCondition& c, const std::string& what) {
    if (c.bad()) throw std::runtime_error("writing a test DICOM: " + what + ": " + c.text());
}

void register_encoders() {
    static std::once_flag once;
    std::call_once(once, [] {
        DJEncoderRegistration::registerCodecs();
        DJLSEncoderRegistration::registerCodecs();
        DcmRLEEncoderRegistration::registerCodecs();
    });
}

std::string num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.10g", v);
    return b;
}

}  // namespace

void write_dicom(const std::filesystem::path& path, const DicomSpec& s) {
    register_encoders();
    DcmFileFormat file;
    DcmDataset* d = file.getDataset();
    const int samples = s.photometric == "RGB" ? 3 : 1;
    check(d->putAndInsertString(DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation),
          "SOP class");
    check(d->putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.2.1125.1.1"),
          "SOP instance");
    check(d->putAndInsertString(DCM_Modality, "DX"), "modality");
    check(d->putAndInsertString(DCM_PhotometricInterpretation, s.photometric.c_str()),
          "photometric");
    check(d->putAndInsertUint16(DCM_SamplesPerPixel, Uint16(samples)), "samples");
    if (samples == 3) check(d->putAndInsertUint16(DCM_PlanarConfiguration, 0), "planar");
    check(d->putAndInsertUint16(DCM_Rows, Uint16(s.rows)), "rows");
    check(d->putAndInsertUint16(DCM_Columns, Uint16(s.cols)), "columns");
    check(d->putAndInsertUint16(DCM_BitsAllocated, Uint16(s.bits_allocated)), "bits allocated");
    check(d->putAndInsertUint16(DCM_BitsStored, Uint16(s.bits_stored)), "bits stored");
    check(d->putAndInsertUint16(DCM_HighBit, Uint16(s.bits_stored - 1)), "high bit");
    check(d->putAndInsertUint16(DCM_PixelRepresentation, s.is_signed ? 1 : 0),
          "pixel representation");
    if (s.frames > 1)
        check(d->putAndInsertString(DCM_NumberOfFrames, std::to_string(s.frames).c_str()),
              "frames");
    if (s.slope) check(d->putAndInsertString(DCM_RescaleSlope, num(*s.slope).c_str()), "slope");
    if (s.intercept)
        check(d->putAndInsertString(DCM_RescaleIntercept, num(*s.intercept).c_str()), "intercept");
    if (s.window_center)
        check(d->putAndInsertString(DCM_WindowCenter, num(*s.window_center).c_str()),
              "window center");
    if (s.window_width)
        check(d->putAndInsertString(DCM_WindowWidth, num(*s.window_width).c_str()), "window width");

    const size_t n = size_t(s.rows) * size_t(s.cols) * size_t(samples);
    if (s.values.size() != n)
        throw std::runtime_error("test DICOM: values do not fill rows*cols*samples");
    E_TransferSyntax xfer = EXS_LittleEndianExplicit;
    if (s.syntax == DicomSyntax::JPEG2000_FAKE) {
        auto* pixels = new DcmPixelData(DCM_PixelData);
        auto* seq = new DcmPixelSequence(DCM_PixelSequenceTag);
        seq->insert(new DcmPixelItem(DCM_PixelItemTag));  // the (empty) offset table
        DcmOffsetList offsets;
        const Uint8 junk[16] = {0xFF, 0x4F, 0xFF, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        check(seq->storeCompressedFrame(offsets, const_cast<Uint8*>(junk), sizeof junk, 0),
              "J2K frame");
        pixels->putOriginalRepresentation(EXS_JPEG2000LosslessOnly, nullptr, seq);
        check(d->insert(pixels), "J2K pixel data");
        xfer = EXS_JPEG2000LosslessOnly;
    } else if (s.pixel_data) {
        const size_t total = n * size_t(s.frames);
        if (s.bits_allocated == 8) {
            std::vector<Uint8> px(total);
            for (size_t i = 0; i < total; ++i) px[i] = Uint8(s.values[i % n]);
            check(d->putAndInsertUint8Array(DCM_PixelData, px.data(), unsigned(total)),
                  "8-bit pixels");
        } else {
            std::vector<Uint16> px(total);
            for (size_t i = 0; i < total; ++i)
                px[i] = Uint16(s.values[i % n] & 0xFFFF);  // two's complement when signed
            check(d->putAndInsertUint16Array(DCM_PixelData, px.data(), unsigned(total)),
                  "16-bit pixels");
        }
        if (s.syntax == DicomSyntax::JPEG_LOSSLESS) {
            DJ_RPLossless params;
            check(d->chooseRepresentation(EXS_JPEGProcess14SV1, &params), "JPEG lossless encoding");
            xfer = EXS_JPEGProcess14SV1;
        } else if (s.syntax == DicomSyntax::JPEG_LS_LOSSLESS) {
            DJLSRepresentationParameter params(2, OFTrue);
            check(d->chooseRepresentation(EXS_JPEGLSLossless, &params), "JPEG-LS encoding");
            xfer = EXS_JPEGLSLossless;
        } else if (s.syntax == DicomSyntax::RLE) {
            check(d->chooseRepresentation(EXS_RLELossless, nullptr), "RLE encoding");
            xfer = EXS_RLELossless;
        }
        if (!d->canWriteXfer(xfer))
            throw std::runtime_error("test DICOM: cannot encode the requested transfer syntax");
    }
    const OFCondition saved =
        s.meta_header ? file.saveFile(path.c_str(), xfer) : d->saveFile(path.c_str(), xfer);
    check(saved, "saving " + path.string());
}

#else

void write_dicom(const std::filesystem::path&, const DicomSpec&) {
    throw std::runtime_error("test DICOM files need DCMTK, which this build lacks");
}

#endif

}  // namespace effnet::test
