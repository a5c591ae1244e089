// DICOM input: files written here through DCMTK (dicom_fixtures.h), decoded
// by decode_image like any other format, and found by every dataset layout.
// In a build without DCMTK these skip, and the refusal of DICOM files is
// tested instead.
#include <gtest/gtest.h>

#include <cmath>

#include "data/dataset.h"
#include "data/dicom.h"
#include "data/image.h"
#include "data/loader.h"
#include "data_fixtures.h"
#include "dicom_fixtures.h"
#include "tensor/error.h"

using namespace effnet;
using namespace effnet::test;

namespace {

#define REQUIRE_DICOM() \
    if (!dicom_available()) GTEST_SKIP() << "built without DCMTK: " << dicom_support()

// 20 stored values spread over 12 bits (0 .. 4095), row-major 4 x 5.
std::vector<int32_t> ramp12() {
    std::vector<int32_t> v(20);
    for (int i = 0; i < 20; ++i) v[size_t(i)] = int32_t(std::lround(i * 4095.0 / 19));
    return v;
}

// The message of the IoError decode_image throws for `path`, or "" when it decodes.
std::string decode_error(const fs::path& path, const DecodeLimits& limits = {}) {
    try {
        decode_image(path.string(), limits);
    } catch (const IoError& e) {
        return e.what();
    }
    return "";
}

// DICOM's linear VOI function (PS3.3 C.11.2.1.2) onto 0..255.
double dicom_window(double x, double c, double w) {
    if (x <= c - 0.5 - (w - 1) / 2) return 0;
    if (x > c - 0.5 + (w - 1) / 2) return 255;
    return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255;
}

void expect_pixels_near(const GreyImage& img, const std::vector<double>& expected,
                        const std::string& what) {
    ASSERT_EQ(img.pixels.size(), expected.size()) << what;
    for (size_t i = 0; i < expected.size(); ++i)
        EXPECT_NEAR(double(img.pixels[i]), expected[i], 1.0)
            << what << ", pixel " << i;  // rounding of 8-bit output
}

}  // namespace

TEST(Dicom, Monochrome2TwelveBitStretchesMinToMax) {
    REQUIRE_DICOM();
    auto d = scratch_dir("dicom_m2");
    DicomSpec s;
    s.values = ramp12();
    // Bits above BitsStored (12) carry other data in real files (overlays): they must be masked off.
    DicomSpec dirty = s;
    for (auto& v : dirty.values) v |= 0xA000;
    write_dicom(d / "clean.dcm", s);
    write_dicom(d / "dirty.dcm", dirty);
    GreyImage img = decode_image((d / "clean.dcm").string());
    EXPECT_EQ(img.width, 5);
    EXPECT_EQ(img.height, 4);
    std::vector<double> expected;
    for (int32_t v : s.values) expected.push_back(v / 4095.0 * 255);
    expect_pixels_near(img, expected, "MONOCHROME2 min-max");
    EXPECT_EQ(img.pixels.front(), 0);
    EXPECT_EQ(img.pixels.back(), 255);
    EXPECT_EQ(decode_image((d / "dirty.dcm").string()).pixels, img.pixels);
}

TEST(Dicom, Monochrome1IsInverted) {
    REQUIRE_DICOM();
    auto d = scratch_dir("dicom_m1");
    DicomSpec s;
    s.values = ramp12();
    s.photometric = "MONOCHROME1";
    write_dicom(d / "m1.dcm", s);
    GreyImage img = decode_image((d / "m1.dcm").string());
    std::vector<double> expected;
    for (int32_t v : s.values) expected.push_back(255 - v / 4095.0 * 255);
    expect_pixels_near(img, expected, "MONOCHROME1");
    EXPECT_EQ(img.pixels.front(), 255);  // the lowest stored value is white
    EXPECT_EQ(img.pixels.back(), 0);
}

TEST(Dicom, RescaleThenTheFilesWindow) {
    REQUIRE_DICOM();
    auto d = scratch_dir("dicom_window");
    DicomSpec s;
    s.values = ramp12();
    s.slope = 2;
    s.intercept = -1000;  // modality values -1000 .. 7190
    s.window_center = 3000;
    s.window_width = 4000;  // in modality units: shows 1000 .. 5000
    write_dicom(d / "window.dcm", s);
    GreyImage img = decode_image((d / "window.dcm").string());
    std::vector<double> expected;
    for (int32_t v : s.values) expected.push_back(dicom_window(2.0 * v - 1000, 3000, 4000));
    expect_pixels_near(img, expected, "rescaled and windowed");
    // The same window on the stored values would be wrong: the rescale must come first.
    int differs = 0;
    for (size_t i = 0; i < s.values.size(); ++i)
        differs += std::fabs(img.pixels[i] - dicom_window(s.values[i], 3000, 4000)) > 2;
    EXPECT_GT(differs, 5);
    // Without a window: min-max of the modality values (a positive slope keeps the ramp).
    s.window_center.reset();
    s.window_width.reset();
    write_dicom(d / "nowindow.dcm", s);
    EXPECT_EQ(decode_image((d / "nowindow.dcm").string()).pixels.back(), 255);
    // A negative slope reverses the modality values, so min-max reverses the image.
    s.slope = -1;
    s.intercept = 0;
    write_dicom(d / "negative.dcm", s);
    GreyImage neg = decode_image((d / "negative.dcm").string());
    EXPECT_EQ(neg.pixels.front(), 255);
    EXPECT_EQ(neg.pixels.back(), 0);
}

TEST(Dicom, SignedSixteenBitAndEightBit) {
    REQUIRE_DICOM();
    auto d = scratch_dir("dicom_bits");
    DicomSpec s;
    s.bits_stored = 16;
    s.is_signed = true;
    for (int i = 0; i < 20; ++i) s.values.push_back(-30000 + i * 3000);  // -30000 .. 27000
    write_dicom(d / "signed.dcm", s);
    GreyImage img = decode_image((d / "signed.dcm").string());
    std::vector<double> expected;
    for (int32_t v : s.values) expected.push_back((v + 30000) / 57000.0 * 255);
    expect_pixels_near(img, expected, "signed 16-bit");

    DicomSpec e;
    e.bits_allocated = e.bits_stored = 8;
    for (int i = 0; i < 20; ++i)
        e.values.push_back(50 + i * 5);  // 50 .. 145, stretched to 0 .. 255
    write_dicom(d / "eight.dcm", e);
    GreyImage eight = decode_image((d / "eight.dcm").string());
    EXPECT_EQ(eight.pixels.front(), 0);
    EXPECT_EQ(eight.pixels.back(), 255);
}

TEST(Dicom, ColourBecomesLuminance) {
    REQUIRE_DICOM();
    auto d = scratch_dir("dicom_rgb");
    DicomSpec s;
    s.photometric = "RGB";
    s.bits_allocated = s.bits_stored = 8;
    for (int i = 0; i < 20; ++i)
        s.values.insert(s.values.end(), {i * 12, 0, 0});  // red ramp, equal steps of luminance
    write_dicom(d / "rgb.dcm", s);
    GreyImage img = decode_image((d / "rgb.dcm").string());
    EXPECT_EQ(img.pixels.front(), 0);
    EXPECT_EQ(img.pixels.back(), 255);
    for (size_t i = 1; i < img.pixels.size(); ++i) EXPECT_GE(img.pixels[i], img.pixels[i - 1]);
}

TEST(Dicom, FileWithoutPreambleIsKnownByItsName) {
    REQUIRE_DICOM();
    auto d = scratch_dir("dicom_bare");
    DicomSpec s;
    s.values = ramp12();
    s.meta_header = false;
    write_dicom(d / "bare.dcm", s);
    write_dicom(d / "bare.bin", s);
    EXPECT_EQ(decode_image((d / "bare.dcm").string()).pixels.back(), 255);
    EXPECT_NE(decode_error(d / "bare.bin"), "");  // no "DICM", no .dcm: not taken for DICOM
}

TEST(Dicom, CompressedSyntaxesDecodeOrAreRefusedByName) {
    REQUIRE_DICOM();
    auto d = scratch_dir("dicom_compressed");
    DicomSpec s;
    s.rows = 32;
    s.cols = 48;
    for (int i = 0; i < s.rows * s.cols; ++i) s.values.push_back((i * 37) % 4096);
    write_dicom(d / "plain.dcm", s);
    const GreyImage plain = decode_image((d / "plain.dcm").string());
    struct Case {
        DicomSyntax syntax;
        const char *file, *uid;
    };
    for (const Case& c : {Case{DicomSyntax::JPEG_LOSSLESS, "jpeg.dcm", "1.2.840.10008.1.2.4.70"},
                          Case{DicomSyntax::JPEG_LS_LOSSLESS, "jls.dcm", "1.2.840.10008.1.2.4.80"},
                          Case{DicomSyntax::RLE, "rle.dcm", "1.2.840.10008.1.2.5"}}) {
        DicomSpec spec = s;
        spec.syntax = c.syntax;
        write_dicom(d / c.file, spec);
        const std::vector<uint8_t> bytes = read_bytes(d / c.file);
        EXPECT_NE(std::string(bytes.begin(), bytes.end()).find(c.uid), std::string::npos)
            << c.file << " is not compressed";
        EXPECT_EQ(decode_image((d / c.file).string()).pixels, plain.pixels)
            << c.file;  // lossless: identical
    }
    DicomSpec j2k = s;
    j2k.syntax = DicomSyntax::JPEG2000_FAKE;
    write_dicom(d / "j2k.dcm", j2k);
    const std::string err = decode_error(d / "j2k.dcm");
    EXPECT_NE(err.find("j2k.dcm"), std::string::npos) << err;
    EXPECT_NE(err.find("JPEG 2000"), std::string::npos) << err;
    EXPECT_NE(err.find("1.2.840.10008.1.2.4.90"), std::string::npos) << err;
}

TEST(Dicom, BadFilesAreRefusedWithTheReason) {
    REQUIRE_DICOM();
    auto d = scratch_dir("dicom_bad");
    DicomSpec s;
    s.values = ramp12();

    DicomSpec none = s;
    none.pixel_data = false;
    write_dicom(d / "nopixels.dcm", none);
    std::string err = decode_error(d / "nopixels.dcm");
    EXPECT_NE(err.find("nopixels.dcm: DICOM file without pixel data (SOP class"), std::string::npos)
        << err;

    DicomSpec multi = s;
    multi.frames = 3;
    write_dicom(d / "multi.dcm", multi);
    err = decode_error(d / "multi.dcm");
    EXPECT_NE(err.find("multi.dcm: multi-frame DICOM (3 frames)"), std::string::npos) << err;

    write_dicom(d / "whole.dcm", s);
    std::vector<uint8_t> bytes = read_bytes(d / "whole.dcm");
    for (size_t cut :
         {bytes.size() - 7, size_t(200)}) {  // inside the pixel data; inside the header
        write_bytes(d / "truncated.dcm",
                    std::vector<uint8_t>(bytes.begin(), bytes.begin() + std::ptrdiff_t(cut)));
        err = decode_error(d / "truncated.dcm");
        ASSERT_NE(err.find("truncated.dcm: "), std::string::npos) << cut;
        EXPECT_NE(err.substr(err.find(": ")).find("truncated"), std::string::npos)
            << cut << ": " << err;
    }

    DecodeLimits small;
    small.max_side = 4;
    err = decode_error(d / "whole.dcm", small);
    EXPECT_NE(err.find("5x4 exceeds the 4-pixel side limit"), std::string::npos) << err;

    write_grey_png(d / "really_a.png", 2, 2, {0, 1, 2, 3});
    write_bytes(d / "png_named.dcm", read_bytes(d / "really_a.png"));
    err = decode_error(d / "png_named.dcm");
    EXPECT_NE(err.find("png_named.dcm: not DICOM"), std::string::npos) << err;
}

// Class folders, plain CSVs, NIH's Data_Entry_2017.csv (which names .png
// files: a DICOM of the same name is taken), CheXpert (which names .jpg
// files: likewise) and the loader's batches.
TEST(Dicom, EveryDatasetLayoutReadsDicom) {
    REQUIRE_DICOM();
    auto d = scratch_dir("dicom_layouts");
    DicomSpec s;
    s.values = ramp12();
    for (int label = 0; label < 2; ++label)
        for (int i = 0; i < 3; ++i) {
            fs::create_directories(d / "folders" / std::to_string(label));
            write_dicom(
                d / "folders" / std::to_string(label) / ("img" + std::to_string(i) + ".dcm"), s);
        }
    Dataset folders = load_dataset((d / "folders").string());
    EXPECT_EQ(folders.samples.size(), 6u);

    fs::create_directories(d / "csv");
    write_dicom(d / "csv" / "a.dcm", s);
    s.meta_header = false;
    write_dicom(d / "csv" / "b.dcm", s);
    s.meta_header = true;
    write_dicom(d / "csv" / "c_no_extension", s);  // known by its "DICM"
    std::ofstream(d / "csv" / "labels.csv")
        << "path,label,split\na.dcm,1,train\nb.dcm,0,train\nc_no_extension,1,val\n";
    Dataset csv = load_dataset((d / "csv" / "labels.csv").string());
    ASSERT_EQ(csv.samples.size(), 3u);

    fs::create_directories(d / "nih" / "images");
    std::string entries =
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View "
        "Position,"
        "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n";
    for (int p = 1; p <= 4; ++p) {
        char name[32];
        std::snprintf(name, sizeof name, "%08d_000", p);
        entries += std::string(name) + ".png," + (p % 2 ? "Cardiomegaly" : "No Finding") + ",0," +
                   std::to_string(p) + ",50,M,PA,2048,2500,0.143,0.143,\n";
        write_dicom(d / "nih" / "images" / (std::string(name) + ".dcm"), s);
    }
    std::ofstream(d / "nih" / "Data_Entry_2017.csv") << entries;
    Dataset nih = load_dataset((d / "nih" / "Data_Entry_2017.csv").string());
    ASSERT_EQ(nih.samples.size(), 4u);
    EXPECT_EQ(fs::path(nih.samples[0].path).extension(), ".dcm");

    fs::create_directories(d / "chexpert" / "CheXpert-v1.0" / "train" / "patient00001" / "study1");
    write_dicom(d / "chexpert" / "CheXpert-v1.0" / "train" / "patient00001" / "study1" /
                    "view1_frontal.dcm",
                s);
    std::ofstream(d / "chexpert" / "CheXpert-v1.0" / "train.csv")
        << "Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Cardiomegaly\n"
           "CheXpert-v1.0/train/patient00001/study1/view1_frontal.jpg,F,68,Frontal,AP,,1.0\n";
    DatasetOptions no_val;
    no_val.val_fraction = 0;
    Dataset chexpert =
        load_dataset((d / "chexpert" / "CheXpert-v1.0" / "train.csv").string(), no_val);
    ASSERT_EQ(chexpert.samples.size(), 1u);
    EXPECT_EQ(fs::path(chexpert.samples[0].path).extension(), ".dcm");  // the listed .jpg is absent
    EXPECT_EQ(decode_image(chexpert.samples[0].path).pixels.back(), 255);

    PipelineConfig pipe;
    pipe.image_size = 16;
    LoaderConfig lc;
    lc.batch_size = 3;
    lc.workers = 2;
    lc.strict = true;
    BadFileLog log;
    Loader loader(csv.samples, pipe, lc, &log);
    loader.start_epoch(0);
    Batch b;
    ASSERT_TRUE(loader.next(b));
    EXPECT_EQ(b.size(), 3);
    EXPECT_EQ(log.count(), 0u);
}

// Without DCMTK a DICOM file is refused, saying why, never misread.
TEST(Dicom, RefusedByNameInABuildWithoutDcmtk) {
    if (dicom_available()) GTEST_SKIP() << "this build reads DICOM (" << dicom_support() << ")";
    auto d = scratch_dir("dicom_absent");
    std::vector<uint8_t> bytes(128, 0);
    for (char c : std::string("DICMjunk")) bytes.push_back(uint8_t(c));
    write_bytes(d / "x.img", bytes);
    std::string err = decode_error(d / "x.img");
    EXPECT_NE(err.find("x.img: a DICOM file, but this effnet was built without DICOM support"),
              std::string::npos)
        << err;
    EXPECT_NE(dicom_support().find("not available"), std::string::npos);
}
