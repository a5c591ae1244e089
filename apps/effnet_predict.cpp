// effnet_predict: P(cardiomegaly) for images, as "path,probability,label"
// lines; with --cam, a class-activation heatmap overlay per image. The
// probability uses the temperature, the label the threshold, stored with the
// weights (train/model_spec.h), unless --threshold is given.
//
// The heatmap is Grad-CAM on the last conv block (conv_head -> bn2 -> swish).
// Behind it sit global average pooling and the linear classifier, so the
// gradient of the class-1 evidence (logit 1 - logit 0, or the single BCE
// logit) with respect to the features is the classifier weight difference
// divided by H*W at every position: the Grad-CAM channel weights are exactly
// those weights, and the map is ReLU(sum_c w_c * A[:, :, c]).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "train/cli.h"
#include "train/evaluate.h"
#include "data/dataset.h"
#include "data/dicom.h"
#include "data/preprocess.h"
#include "io/safetensors.h"
#include "io/weights.h"

using namespace effnet;
namespace fs = std::filesystem;

namespace {

// A blue -> cyan -> yellow -> red ramp for t in [0, 1].
void heat_colour(double t, uint8_t rgb[3]) {
    const double r = std::clamp(1.5 - std::fabs(4 * t - 3), 0.0, 1.0), g = std::clamp(1.5 - std::fabs(4 * t - 2), 0.0, 1.0),
                 b = std::clamp(1.5 - std::fabs(4 * t - 1), 0.0, 1.0);
    rgb[0] = uint8_t(r * 255);
    rgb[1] = uint8_t(g * 255);
    rgb[2] = uint8_t(b * 255);
}

void write_cam(const std::string& path, const Plane& grey, const float* feats, int fh, int fw, int64_t c,
               const std::vector<float>& w) {
    Plane cam;
    cam.width = fw;
    cam.height = fh;
    cam.v.resize(size_t(fw) * fh);
    for (int i = 0; i < fh * fw; ++i) {
        double s = 0;
        for (int64_t k = 0; k < c; ++k) s += double(w[size_t(k)]) * feats[size_t(i) * c + k];
        cam.v[size_t(i)] = float(std::max(0.0, s));
    }
    const float mx = *std::max_element(cam.v.begin(), cam.v.end());
    for (float& v : cam.v) v = mx > 0 ? v / mx : 0.0f;
    Plane up = resize(cam, grey.width, grey.height);
    std::vector<uint8_t> rgb(size_t(grey.width) * grey.height * 3);
    for (size_t i = 0; i < up.v.size(); ++i) {
        uint8_t h[3];
        heat_colour(std::clamp(up.v[i], 0.0f, 1.0f), h);
        const double a = 0.45 * std::clamp(up.v[i], 0.0f, 1.0f);  // stronger evidence, more colour
        for (int k = 0; k < 3; ++k) rgb[i * 3 + size_t(k)] = uint8_t(std::lround((1 - a) * grey.v[i] + a * h[k]));
    }
    write_png(path, grey.width, grey.height, 3, rgb.data());
}

}  // namespace

int main(int argc, char** argv) {
    return cli::run_main("effnet_predict", [&] {
        std::string weights, cam_dir;
        double threshold = 0.5;
        bool strict = false;
        cli::Parser p("effnet_predict", "Print path,probability,label for each IMAGE (or every image under a DIR).\n"
                                        "usage: effnet_predict --weights W [--cam DIR] IMAGE|DIR...\n" +
                                            dicom_support());
        p.option("--weights", &weights, "checkpoint or weights written by effnet_train (required)");
        p.option("--threshold", &threshold, "probability at or above which the label is 1 (default: the one stored "
                                            "with the weights, else 0.5)");
        p.option("--cam", &cam_dir, "write a Grad-CAM overlay PNG per image into this folder");
        p.flag("--strict", &strict, "stop at the first unreadable image");
        if (!p.parse(argc, argv)) return 0;
        if (weights.empty() || p.positional().empty()) throw cli::UsageError("--weights and at least one IMAGE or DIR are required");
        std::vector<std::string> files;
        for (const std::string& a : p.positional()) {
            if (fs::is_directory(a)) {
                std::vector<std::string> found;
                for (auto& e : fs::recursive_directory_iterator(a))
                    if (e.is_regular_file() && has_image_extension(e.path().string())) found.push_back(e.path().string());
                std::sort(found.begin(), found.end());
                files.insert(files.end(), found.begin(), found.end());
            } else {
                files.push_back(a);
            }
        }
        SafetensorsFile f = read_safetensors(weights);
        ModelSpec spec = ModelSpec::from_metadata(f.metadata, weights);
        const DecisionSettings decision = read_decision_settings(f.metadata, weights);
        if (!p.given("--threshold")) threshold = decision.threshold;
        Model model(spec, Device::CPU, 0);
        load_weights(f, *model.net, WeightsMatch::EXACT, weights, {"optimizer."});
        model.plan(1, Device::CPU);
        Context ctx(Device::CPU);
        PipelineConfig pipe = spec.pipeline();
        if (!cam_dir.empty()) fs::create_directories(cam_dir);
        std::vector<float> cam_w;
        {
            std::vector<float> w = model.net->classifier_weight().to_vector();
            const int64_t c = model.net->classifier_weight().dim(1);
            cam_w.resize(size_t(c));
            for (int64_t k = 0; k < c; ++k) cam_w[size_t(k)] = spec.num_classes == 1 ? w[size_t(k)] : w[size_t(c + k)] - w[size_t(k)];
        }
        std::cout << "path,probability,label\n";
        int failures = 0;
        Tensor x = Tensor::empty(Shape{1, spec.image_size, spec.image_size, spec.in_channels});
        for (const std::string& file : files) {
            Sample s{file, 0, Split::TEST, "", -1, {}};
            try {
                load_sample(s, pipe, 0, 0, x.f32());
            } catch (const IoError& e) {
                if (strict) throw;
                std::cerr << "effnet_predict: skipped " << e.what() << "\n";
                ++failures;
                continue;
            }
            Tensor logits = model.net->forward(x, RunState{Mode::EVAL, 0, 0}, ctx);
            std::vector<float> z = logits.to_vector();
            for (float& v : z) v = float(double(v) / decision.temperature);
            const double prob = finite_probability(z.data(), spec.num_classes, file);
            std::cout << file << "," << prob << "," << (prob >= threshold ? 1 : 0) << "\n";
            if (!cam_dir.empty()) {
                const Tensor& feats = model.net->head_features();
                const std::string out = (fs::path(cam_dir) / (fs::path(file).stem().string() + "_cam.png")).string();
                write_cam(out, to_plane(prepare_image(s, pipe)), feats.f32(), int(feats.dim(1)), int(feats.dim(2)), feats.dim(3), cam_w);
            }
        }
        return failures ? 1 : 0;
    });
}
