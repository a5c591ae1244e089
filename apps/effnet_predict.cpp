// effnet_predict: P(cardiomegaly) for images, as "path,probability,label"
// lines; with --cam, a Grad-CAM overlay per image. Built on the public API
// (include/effnet/effnet.h): the weights file's metadata gives the
// preprocessing, its temperature and its threshold.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "data/dataset.h"
#include "data/dicom.h"
#include "data/image.h"
#include "effnet/effnet.h"
#include "train/cli.h"

using namespace effnet;
namespace fs = std::filesystem;

namespace {

// A blue -> cyan -> yellow -> red ramp for t in [0, 1].
void heat_colour(double t, uint8_t rgb[3]) {
    const double r = std::clamp(1.5 - std::fabs(4 * t - 3), 0.0, 1.0),
                 g = std::clamp(1.5 - std::fabs(4 * t - 2), 0.0, 1.0),
                 b = std::clamp(1.5 - std::fabs(4 * t - 1), 0.0, 1.0);
    rgb[0] = uint8_t(r * 255);
    rgb[1] = uint8_t(g * 255);
    rgb[2] = uint8_t(b * 255);
}

// The heatmap over the image the network saw: stronger evidence, more colour.
void write_overlay(const std::string& path, const Heatmap& h) {
    std::vector<uint8_t> rgb(h.values.size() * 3);
    for (size_t i = 0; i < h.values.size(); ++i) {
        uint8_t c[3];
        heat_colour(h.values[i], c);
        const double a = 0.45 * h.values[i];
        for (int k = 0; k < 3; ++k)
            rgb[i * 3 + size_t(k)] = uint8_t(std::lround((1 - a) * h.image[i] + a * c[k]));
    }
    write_png(path, h.width, h.height, 3, rgb.data());
}

std::vector<std::string> image_files(const std::vector<std::string>& args) {
    std::vector<std::string> files;
    for (const std::string& a : args) {
        // Anything that is not a folder is read as an image, whose reader
        // names the file and the problem (missing, refused name, corrupt).
        std::error_code ec;
        if (!fs::is_directory(a, ec)) {
            files.push_back(a);
            continue;
        }
        std::vector<std::string> found;
        for (auto& e : fs::recursive_directory_iterator(a))
            if (e.is_regular_file() && has_image_extension(e.path().string()))
                found.push_back(e.path().string());
        std::sort(found.begin(), found.end());
        files.insert(files.end(), found.begin(), found.end());
    }
    return files;
}

}  // namespace

int main(int argc, char** argv) {
    return cli::run_main("effnet_predict", [&] {
        std::string weights, cam_dir, device = "cpu";
        double threshold = 0.5;
        int threads = 0;
        bool strict = false;
        cli::Parser p("effnet_predict",
                      "Print path,probability,label for each IMAGE (or every image under a DIR).\n"
                      "usage: effnet_predict --weights W [--cam DIR] IMAGE|DIR...\n" +
                          dicom_support());
        p.option("--weights", &weights, "checkpoint or weights written by effnet_train (required)");
        p.option("--threshold", &threshold,
                 "probability at or above which the label is 1 (default: the weights "
                 "file's effnet.threshold, else 0.5)");
        p.option("--cam", &cam_dir, "write a Grad-CAM overlay PNG per image into this folder");
        p.option("--threads", &threads, "CPU threads (0: OMP_NUM_THREADS or every core)");
        p.choice("--device", &device, {"cpu", "cuda"}, "where to run");
        p.flag("--strict", &strict, "stop at the first unreadable image");
        if (!p.parse(argc, argv)) return 0;
        if (weights.empty() || p.positional().empty())
            throw cli::UsageError("--weights and at least one IMAGE or DIR are required");
        if (p.given("--threshold") && !(threshold >= 0 && threshold <= 1))
            throw cli::UsageError("--threshold must lie in [0, 1]");
        if (threads < 0) throw cli::UsageError("--threads must be 0 or more");

        ClassifierOptions options;
        options.device = device == "cuda" ? ComputeDevice::CUDA : ComputeDevice::CPU;
        options.threads = threads;
        options.max_batch = 1;  // one image at a time, each failure on its own
        Classifier model(weights, options);
        if (!p.given("--threshold")) threshold = model.info().threshold;
        if (!cam_dir.empty()) fs::create_directories(cam_dir);
        std::cout << "path,probability,label\n";
        int failures = 0;
        for (const std::string& file : image_files(p.positional())) {
            Prediction r;
            try {
                if (cam_dir.empty()) {
                    r = model.predict(file);
                } else {
                    Heatmap heat;
                    r = model.explain(file, heat);
                    write_overlay(
                        (fs::path(cam_dir) / (fs::path(file).stem().string() + "_cam.png"))
                            .string(),
                        heat);
                }
            } catch (const ImageError& e) {
                if (strict) throw;
                std::cerr << "effnet_predict: skipped " << e.what() << "\n";
                ++failures;
                continue;
            }
            std::cout << file << "," << r.probability << "," << (r.probability >= threshold ? 1 : 0)
                      << "\n";
        }
        return failures ? 1 : 0;
    });
}
