// DICOM decoding through DCMTK: dcmdata parses the file (from memory) and
// converts compressed pixel data with the registered decoders, DicomImage
// (dcmimgle, with dcmimage for colour) applies the modality and VOI
// transforms and MONOCHROME1's inversion. Everything DCMTK reports becomes
// an IoError naming the file; DCMTK's own log is silenced so each problem is
// reported once, by the caller.
#include "data/dicom.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "effnet_config.h"
#include "tensor/error.h"

#if EFFNET_WITH_DICOM
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimage/diregist.h>  // makes DicomImage handle colour images
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <memory>
#include <mutex>
#endif

namespace effnet {

bool looks_like_dicom(const std::vector<uint8_t>& bytes, const std::string& name) {
    if (bytes.size() >= 132 && std::memcmp(bytes.data() + 128, "DICM", 4) == 0) return true;
    std::string ext = std::filesystem::path(name).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".dcm" || ext == ".dicom";
}

#if EFFNET_WITH_DICOM

namespace {

// Codec registration and the log level are process-wide DCMTK state: set once.
void init_dcmtk() {
    static std::once_flag once;
    std::call_once(once, [] {
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
        OFLog::getLogger("dcmtk").setLogLevel(OFLogger::OFF_LOG_LEVEL);
    });
}

[[noreturn]] void refuse(const std::string& name, const std::string& what) {
    throw IoError(name + ": " + what);
}

// A buffer stream that, like DCMTK's file stream, can be reopened at an
// offset. With it DCMTK defers every value longer than DCM_MaxReadLength:
// it skips the declared length instead of allocating it, so a damaged length
// field (gigabytes in a file of a few hundred bytes) fails as a truncated
// file rather than as a multi-gigabyte allocation. The bytes outlive every
// stream made from them (decode_dicom_bytes holds them throughout).
class ReopenableBufferStream : public DcmInputBufferStream {
public:
    ReopenableBufferStream(const uint8_t* data, size_t size, size_t offset)
        : data_(data), size_(size), start_(offset) {
        setBuffer(data + offset, offile_off_t(size - offset));
        setEos();
    }
    OFCondition installCompressionFilter(E_StreamCompression filter) override {
        compressed_ = true;  // offsets then count inflated bytes: nothing to reopen at
        return DcmInputBufferStream::installCompressionFilter(filter);
    }
    DcmInputStreamFactory* newFactory() const override;

private:
    const uint8_t* data_;
    size_t size_;
    size_t start_;  // where in the bytes this stream began: tell() counts from here
    bool compressed_ = false;
};

class ReopenableBufferFactory : public DcmInputStreamFactory {
public:
    ReopenableBufferFactory(const uint8_t* data, size_t size, size_t offset)
        : data_(data), size_(size), offset_(offset) {}
    DcmInputStream* create() const override {
        return new ReopenableBufferStream(data_, size_, offset_);
    }
    DcmInputStreamFactory* clone() const override { return new ReopenableBufferFactory(*this); }
    DcmInputStreamFactoryType ident() const override { return DFT_DcmInputFileStreamFactory; }

private:
    const uint8_t* data_;
    size_t size_;
    size_t offset_;
};

DcmInputStreamFactory* ReopenableBufferStream::newFactory() const {
    if (compressed_) return nullptr;
    return new ReopenableBufferFactory(data_, size_, start_ + size_t(tell()));
}

}  // namespace

bool dicom_available() { return true; }

std::string dicom_support() {
    return std::string("DICOM (.dcm) input: read through DCMTK ") + OFFIS_DCMTK_VERSION_STRING;
}

GreyImage decode_dicom_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                             const DecodeLimits& limits) {
    init_dcmtk();
    ReopenableBufferStream in(bytes.data(), bytes.size(), 0);
    DcmFileFormat file;
    file.transferInit();
    const OFCondition read = file.read(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
    file.transferEnd();
    if (read.bad())
        refuse(name, std::string("not DICOM, or a corrupt or truncated DICOM file (DCMTK: ") +
                         read.text() + ")");
    DcmDataset* d = file.getDataset();

    if (!d->tagExists(DCM_PixelData)) {
        OFString sop;
        d->findAndGetOFString(DCM_SOPClassUID, sop);
        const char* sop_name = dcmFindNameOfUID(sop.c_str(), nullptr);
        refuse(name, "DICOM file without pixel data (" +
                         (sop_name ? "SOP class " + std::string(sop_name) + "; " : std::string()) +
                         "not an image, or truncated before its pixels)");
    }
    Sint32 frames = 1;
    if (d->findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 1)
        refuse(name, "multi-frame DICOM (" + std::to_string(frames) +
                         " frames) is not supported: effnet reads one image per file");
    Uint16 rows = 0, cols = 0;
    d->findAndGetUint16(DCM_Rows, rows);
    d->findAndGetUint16(DCM_Columns, cols);
    if (rows == 0 || cols == 0) refuse(name, "DICOM image with zero or missing Rows/Columns");
    if (rows > limits.max_side || cols > limits.max_side)
        refuse(name, std::to_string(cols) + "x" + std::to_string(rows) + " exceeds the " +
                         std::to_string(limits.max_side) + "-pixel side limit");

    const E_TransferSyntax xfer = d->getOriginalXfer();
    const DcmXfer syntax(xfer);
    if (syntax.isEncapsulated() &&
        (d->chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad() ||
         !d->canWriteXfer(EXS_LittleEndianExplicit)))
        refuse(name, std::string("compressed transfer syntax '") + syntax.getXferName() + "' (" +
                         syntax.getXferID() + ") cannot be decoded (JPEG, JPEG-LS and RLE can)");

    DicomImage image(d, syntax.isEncapsulated() ? EXS_LittleEndianExplicit : xfer);
    if (image.getStatus() != EIS_Normal)
        refuse(name, std::string("DICOM pixel data cannot be decoded (DCMTK: ") +
                         DicomImage::getString(image.getStatus()) + ")");
    std::unique_ptr<DicomImage> converted;
    DicomImage* grey = &image;
    if (!image.isMonochrome()) {
        converted.reset(image.createMonochromeImage(0.299, 0.587, 0.114));
        if (!converted || converted->getStatus() != EIS_Normal)
            refuse(name, "DICOM colour image cannot be converted to grey");
        grey = converted.get();
    }
    // The file's own window where it has one: that is how it was meant to be read.
    if (grey->getWindowCount() > 0 ? !grey->setWindow(0) : !grey->setMinMaxWindow(0))
        refuse(name, "DICOM VOI window cannot be applied");

    GreyImage out;
    out.width = int(grey->getWidth());
    out.height = int(grey->getHeight());
    const size_t n = size_t(out.width) * size_t(out.height);
    const auto* px = static_cast<const uint8_t*>(grey->getOutputData(8));
    if (!px || grey->getOutputDataSize(8) < n)
        refuse(name, "DICOM pixel data cannot be rendered to 8 bits");
    out.pixels.assign(px, px + n);
    return out;
}

#else

bool dicom_available() { return false; }

std::string dicom_support() {
    return "DICOM (.dcm) input: not available in this build (built without DCMTK; install "
           "libdcmtk-dev and rebuild)";
}

GreyImage decode_dicom_bytes(const std::vector<uint8_t>&, const std::string& name,
                             const DecodeLimits&) {
    throw IoError(
        name +
        ": a DICOM file, but this effnet was built without DICOM support (DCMTK); install "
        "libdcmtk-dev and rebuild, or convert the file to PNG");
}

#endif

}  // namespace effnet
