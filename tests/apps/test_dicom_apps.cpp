// The apps on DICOM: effnet_train --data on a class folder and effnet_predict
// on a folder and single files, with phantom radiographs stored as 12-bit
// DICOM (MONOCHROME2 and MONOCHROME1, rescaled). Without DCMTK: the refusal.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/dicom.h"
#include "data/phantom.h"
#include "dicom_fixtures.h"
#include "run_app.h"

using namespace effnet;
using namespace effnet::test;
namespace fs = std::filesystem;

namespace {

fs::path fresh(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("effnet_dicom_apps_" + name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// Phantom `index` as a 12-bit DICOM; MONOCHROME1 files store the inverted values.
void write_phantom_dicom(const fs::path& path, uint64_t index, bool monochrome1) {
    const GreyImage img = render_phantom(sample_phantom(9, index), 48);
    DicomSpec s;
    s.rows = s.cols = 48;
    s.photometric = monochrome1 ? "MONOCHROME1" : "MONOCHROME2";
    s.slope = 1.5;
    s.intercept = -1024;
    for (uint8_t v : img.pixels) s.values.push_back(monochrome1 ? 4095 - v * 16 : v * 16);
    write_dicom(path, s);
}

}  // namespace

TEST(DicomApps, TrainAndPredictReadDicomFolders) {
    if (!dicom_available()) GTEST_SKIP() << "built without DCMTK: " << dicom_support();
    const fs::path data = fresh("data");
    int n = 0;
    for (uint64_t i = 0; n < 16; ++i) {
        const int label = sample_phantom(9, i).label();
        const fs::path dir = data / std::to_string(label);
        if (fs::exists(dir) &&
            std::distance(fs::directory_iterator(dir), fs::directory_iterator()) >= 8)
            continue;
        fs::create_directories(dir);
        write_phantom_dicom(dir / ("p" + std::to_string(i) + ".dcm"), i, i % 2 == 1);
        ++n;
    }
    const fs::path out = fresh("run");
    AppResult train = run_app(
        bin("effnet_train") + " --data " + data.string() +
        " --image-size 32 --batch-size 8 --epochs 1 --workers 1 --bootstrap 20 --threads 2 --strict"
        " --val-fraction 0.25 --out " +
        out.string());
    ASSERT_EQ(train.status, 0) << train.output;
    AppResult pr = run_app(bin("effnet_predict") + " --weights " +
                           (out / "best.safetensors").string() + " --strict " + data.string());
    EXPECT_EQ(pr.status, 0) << pr.output;
    EXPECT_EQ(std::count(pr.output.begin(), pr.output.end(), '\n'), 17)
        << pr.output;  // header and 16 images
    EXPECT_NE(pr.output.find(".dcm,"), std::string::npos) << pr.output;
    // A multi-frame file is skipped with its reason; the others are still predicted.
    DicomSpec multi;
    multi.frames = 2;
    multi.values.assign(20, 7);
    write_dicom(data / "0" / "multi.dcm", multi);
    AppResult skip = run_app(bin("effnet_predict") + " --weights " +
                             (out / "best.safetensors").string() + " " + data.string());
    EXPECT_EQ(skip.status, 1);
    EXPECT_NE(skip.output.find("multi.dcm: multi-frame DICOM (2 frames) is not supported"),
              std::string::npos)
        << skip.output;
    EXPECT_EQ(std::count(skip.output.begin(), skip.output.end(), '\n'), 18) << skip.output;
}

TEST(DicomApps, RefusedWithTheReasonWithoutDcmtk) {
    if (dicom_available()) GTEST_SKIP() << "this build reads DICOM";
    const fs::path d = fresh("absent");
    fs::create_directories(d / "0");
    std::ofstream(d / "0" / "x.dcm") << std::string(128, '\0') << "DICM";
    for (const char* app : {"effnet_train", "effnet_eval", "effnet_predict", "effnet_data_check"}) {
        AppResult help = run_app(bin(app) + " --help");
        EXPECT_NE(help.output.find("DICOM (.dcm) input: not available in this build"),
                  std::string::npos)
            << app;
    }
    AppResult check = run_app(bin("effnet_data_check") + " " + d.string());
    EXPECT_NE(
        check.output.find("x.dcm: a DICOM file, but this effnet was built without DICOM support"),
        std::string::npos)
        << check.output;
}
