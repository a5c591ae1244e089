// The public API (include/effnet/effnet.h) against effnet's own parts: the
// same preprocessing and network as the training graph, buffers equal to
// files, batches equal to single images, the file's temperature and
// threshold, Grad-CAM, and every error naming its file and reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "api/fixture.h"
#include "data/image.h"
#include "data/loader.h"
#include "data/preprocess.h"
#include "effnet/effnet.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "train/model_spec.h"

using namespace effnet;
namespace fs = std::filesystem;

namespace {

constexpr int kSize = 64;

// A folder of fixtures shared by the tests of this file, written once.
struct Files {
    fs::path dir = fs::temp_directory_path() / ("effnet_api_test_" + std::to_string(::getpid()));
    std::string weights = (dir / "weights.safetensors").string();
    std::vector<std::string> images;
    Files() {
        fs::create_directories(dir);
        test::write_test_weights(weights, kSize);
        for (int i = 0; i < 5; ++i) {
            images.push_back((dir / ("chest" + std::to_string(i) + ".png")).string());
            test::write_test_image(images.back(), 90 + 17 * i, uint64_t(i));
        }
    }
    ~Files() { fs::remove_all(dir); }
};
const Files& files() {
    static Files f;
    return f;
}

// The training graph's P(class 1) and head activations for an image file,
// preprocessed by the training pipeline.
struct GraphResult {
    double probability;
    std::vector<float> head;
    int64_t head_side, head_channels;
};
GraphResult training_graph(const std::string& weights, const std::string& image) {
    SafetensorsFile f = read_safetensors(weights);
    const ModelSpec spec = ModelSpec::from_metadata(f.metadata, weights);
    Model model(spec, Device::CPU, 0);
    load_weights(f, *model.net, WeightsMatch::EXACT, weights);
    model.plan(1, Device::CPU);
    Tensor x = Tensor::empty(Shape{1, spec.image_size, spec.image_size, spec.in_channels});
    load_sample(Sample{image, 0, Split::TEST, "", -1, {}}, spec.pipeline(), 0, 0, x.f32());
    Context ctx(Device::CPU);
    const Tensor logits = model.net->forward(x, RunState{Mode::EVAL, 0, 0}, ctx);
    const Tensor& h = model.net->head_features();
    return {positive_probability(logits.f32(), spec.num_classes), h.to_vector(), h.dim(1),
            h.dim(3)};
}

GreyImageView view_of(const GreyImage& g) {
    GreyImageView v;
    v.pixels = g.pixels.data();
    v.width = g.width;
    v.height = g.height;
    return v;
}

// A copy of `weights` with one tensor changed and metadata added.
std::string edited_weights(const std::string& name,
                           const std::function<void(std::vector<float>&)>& edit,
                           const std::map<std::string, std::string>& extra = {}) {
    const std::string out = (files().dir / (name + ".safetensors")).string();
    SafetensorsFile f = read_safetensors(files().weights);
    const ModelSpec spec = ModelSpec::from_metadata(f.metadata, files().weights);
    Model model(spec, Device::CPU, 0);
    load_weights(f, *model.net, WeightsMatch::EXACT, files().weights);
    Tensor w = model.net->classifier_weight();
    std::vector<float> v = w.to_vector();
    edit(v);
    std::copy(v.begin(), v.end(), w.f32());
    std::map<std::string, std::string> meta = f.metadata;
    for (auto& [k, val] : extra) meta[k] = val;
    save_weights(out, *model.net, meta);
    return out;
}

template <class E>
E thrown(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "threw another type: " << e.what();
        throw;
    }
    ADD_FAILURE() << "nothing thrown";
    return E("", "");
}

}  // namespace

TEST(PublicApi, ReportsTheWeightsFilesMetadata) {
    Classifier model(files().weights);
    const ModelInfo& i = model.info();
    EXPECT_EQ(i.path, files().weights);
    EXPECT_EQ(i.architecture, "efficientnet_b0");
    EXPECT_EQ(i.num_classes, 2);
    EXPECT_EQ(i.in_channels, 3);
    EXPECT_EQ(i.image_size, kSize);
    EXPECT_TRUE(i.equalize);
    EXPECT_FALSE(i.clahe);
    EXPECT_FLOAT_EQ(i.mean[0], 0.485f);
    EXPECT_FLOAT_EQ(i.std[2], 0.225f);
    EXPECT_FALSE(i.has_temperature);
    EXPECT_FALSE(i.has_threshold);
    EXPECT_EQ(i.temperature, 1.0);
    EXPECT_EQ(i.threshold, 0.5);
    EXPECT_EQ(model.device(), ComputeDevice::CPU);
    EXPECT_GE(model.threads(), 1);
    EXPECT_FALSE(version().empty());
}

// The API preprocesses as training does and runs the same network: its
// probabilities are the training graph's on the same files.
TEST(PublicApi, MatchesTheTrainingGraphOnTheSameFiles) {
    Classifier model(files().weights);
    double lo = 1, hi = 0;
    for (const std::string& image : files().images) {
        const Prediction p = model.predict(image);
        const double want = training_graph(files().weights, image).probability;
        EXPECT_NEAR(p.probability, want, 1e-5) << image;
        ASSERT_EQ(p.probabilities.size(), 2u);
        EXPECT_DOUBLE_EQ(p.probabilities[1], p.probability);
        EXPECT_NEAR(p.probabilities[0] + p.probabilities[1], 1.0, 1e-12);
        EXPECT_EQ(p.label, p.probability >= 0.5 ? 1 : 0);
        lo = std::min(lo, p.probability);
        hi = std::max(hi, p.probability);
    }
    // Not vacuous: the images get different probabilities.
    EXPECT_GT(hi - lo, 1e-3);
}

TEST(PublicApi, BuffersGiveWhatFilesGive) {
    Classifier model(files().weights);
    const std::string& image = files().images[1];
    const GreyImage g = decode_image(image);
    const double from_file = model.predict(image).probability;
    EXPECT_EQ(model.predict(view_of(g)).probability, from_file);

    // Rows with padding between them.
    const size_t row = size_t(g.width) + 13;
    std::vector<uint8_t> padded(row * size_t(g.height), 0xAB);
    for (int y = 0; y < g.height; ++y)
        std::memcpy(&padded[size_t(y) * row], &g.pixels[size_t(y) * g.width], size_t(g.width));
    GreyImageView v = view_of(g);
    v.pixels = padded.data();
    v.row_bytes = row;
    EXPECT_EQ(model.predict(v).probability, from_file);

    // 16 bits, stretched by min and max as 16-bit files are: the same as the
    // 8-bit image stretched to the full range.
    std::vector<uint16_t> wide(g.pixels.size());
    std::vector<double> as_double(g.pixels.size());
    for (size_t i = 0; i < wide.size(); ++i) {
        wide[i] = uint16_t(g.pixels[i] * 200 + 1000);
        as_double[i] = g.pixels[i];
    }
    GreyImageView v16 = view_of(g);
    v16.pixels = wide.data();
    v16.bits = 16;
    const GreyImage stretched = stretch_to_8_bits(as_double, g.width, g.height);
    EXPECT_EQ(model.predict(v16).probability, model.predict(view_of(stretched)).probability);
}

TEST(PublicApi, BatchesGiveWhatSingleImagesGive) {
    ClassifierOptions o;
    o.max_batch = 2;  // five images: slices of 2, 2 and 1
    Classifier model(files().weights, o);
    const std::vector<Prediction> batch = model.predict(files().images);
    ASSERT_EQ(batch.size(), files().images.size());
    std::vector<GreyImage> decoded;
    for (const std::string& image : files().images) decoded.push_back(decode_image(image));
    std::vector<GreyImageView> views;
    for (const GreyImage& g : decoded) views.push_back(view_of(g));
    const std::vector<Prediction> from_views = model.predict(views);
    for (size_t i = 0; i < batch.size(); ++i) {
        const double single = model.predict(files().images[i]).probability;
        EXPECT_NEAR(batch[i].probability, single, 1e-6) << files().images[i];
        EXPECT_EQ(from_views[i].probability, batch[i].probability) << files().images[i];
    }
    EXPECT_TRUE(model.predict(std::vector<std::string>{}).empty());
}

TEST(PublicApi, UsesTheFilesTemperatureAndThreshold) {
    const std::string calibrated =
        edited_weights("calibrated", [](std::vector<float>&) {},
                       {{"effnet.temperature", "2.5"}, {"effnet.threshold", "0.3"}});
    Classifier plain(files().weights), model(calibrated);
    EXPECT_TRUE(model.info().has_temperature);
    EXPECT_EQ(model.info().temperature, 2.5);
    EXPECT_EQ(model.info().threshold, 0.3);
    for (const std::string& image : files().images) {
        // Two classes: P(1) = sigmoid(z1 - z0), so the tempered one is sigmoid(logit(p) / T).
        const double p = plain.predict(image).probability;
        const double want = 1 / (1 + std::exp(-std::log(p / (1 - p)) / 2.5));
        const Prediction r = model.predict(image);
        EXPECT_NEAR(r.probability, want, 1e-6) << image;
        EXPECT_EQ(r.label, r.probability >= 0.3 ? 1 : 0);
    }
}

TEST(PublicApi, ExplainsWithGradCamOfTheHeadActivations) {
    Classifier model(files().weights);
    // The image with the most class-1 evidence (an image without any has an all-zero map).
    std::string image;
    double best = -1;
    for (const std::string& i : files().images) {
        const double p = model.predict(i).probability;
        if (p > best) best = p, image = i;
    }
    ASSERT_GT(best, 0.5) << "the fixture has no image the model calls class 1";
    Heatmap h;
    const Prediction p = model.explain(image, h);
    EXPECT_EQ(p.probability, best);
    ASSERT_EQ(h.width, kSize);
    ASSERT_EQ(h.height, kSize);
    ASSERT_EQ(h.values.size(), size_t(kSize * kSize));
    // The image the network saw: the training pipeline's prepared image.
    PipelineConfig pipe;
    pipe.image_size = kSize;
    EXPECT_EQ(h.image, prepare_image(Sample{image, 0, Split::TEST, "", -1, {}}, pipe).pixels);

    // The same map from the training graph's head activations.
    const GraphResult g = training_graph(files().weights, image);
    // `entry` points into the file: it must outlive the pointer.
    const SafetensorsFile weights_file = read_safetensors(files().weights);
    const SafetensorsEntry* entry = weights_file.find("classifier.weight");
    ASSERT_TRUE(entry);
    std::vector<float> w(entry->bytes.size() / sizeof(float));
    std::memcpy(w.data(), entry->bytes.data(), entry->bytes.size());
    const int64_t c = g.head_channels, side = g.head_side;
    Plane cam;
    cam.width = cam.height = int(side);
    for (int64_t i = 0; i < side * side; ++i) {
        double s = 0;
        for (int64_t k = 0; k < c; ++k)
            s += double(w[size_t(c + k)] - w[size_t(k)]) * g.head[size_t(i * c + k)];
        cam.v.push_back(float(std::max(0.0, s)));
    }
    const float top = *std::max_element(cam.v.begin(), cam.v.end());
    ASSERT_GT(top, 0);
    for (float& v : cam.v) v /= top;
    const Plane want = resize(cam, kSize, kSize);
    float hmax = 0;
    for (size_t i = 0; i < h.values.size(); ++i) {
        EXPECT_NEAR(h.values[i], std::clamp(want.v[i], 0.0f, 1.0f), 1e-3) << i;
        hmax = std::max(hmax, h.values[i]);
    }
    EXPECT_GT(hmax, 0.9f);
}

TEST(PublicApi, WeightsFileErrorsNameTheFileAndTheReason) {
    const std::string missing = (files().dir / "none.safetensors").string();
    ModelFileError e = thrown<ModelFileError>([&] { Classifier m(missing); });
    EXPECT_EQ(e.path(), missing);
    EXPECT_NE(e.reason().find("cannot open"), std::string::npos) << e.reason();
    EXPECT_EQ(std::string(e.what()), missing + ": " + e.reason());

    const std::string truncated = (files().dir / "truncated.safetensors").string();
    {
        std::ifstream in(files().weights, std::ios::binary);
        std::string head(300, '\0');
        in.read(&head[0], 300);
        std::ofstream(truncated, std::ios::binary) << head;
    }
    e = thrown<ModelFileError>([&] { Classifier m(truncated); });
    EXPECT_EQ(e.path(), truncated);

    const std::string foreign =
        edited_weights("foreign", [](std::vector<float>&) {}, {{"effnet.arch", "resnet50"}});
    e = thrown<ModelFileError>([&] { Classifier m(foreign); });
    EXPECT_NE(e.reason().find("unknown architecture 'resnet50'"), std::string::npos) << e.reason();

    const std::string bad_t =
        edited_weights("bad_t", [](std::vector<float>&) {}, {{"effnet.temperature", "-1"}});
    e = thrown<ModelFileError>([&] { Classifier m(bad_t); });
    EXPECT_NE(e.reason().find("effnet.temperature"), std::string::npos) << e.reason();
    const std::string bad_th =
        edited_weights("bad_th", [](std::vector<float>&) {}, {{"effnet.threshold", "0.5x"}});
    EXPECT_NE(
        thrown<ModelFileError>([&] { Classifier m(bad_th); }).reason().find("effnet.threshold"),
        std::string::npos);

    const std::string nan = edited_weights("nan", [](std::vector<float>& v) { v[7] = NAN; });
    e = thrown<ModelFileError>([&] { Classifier m(nan); });
    EXPECT_NE(e.reason().find("tensor 'classifier.weight' holds non-finite values"),
              std::string::npos)
        << e.reason();
}

TEST(PublicApi, ImageErrorsNameTheImageAndLeaveTheClassifierUsable) {
    Classifier model(files().weights);
    const std::string missing = (files().dir / "none.png").string();
    ImageError e = thrown<ImageError>([&] { model.predict(missing); });
    EXPECT_EQ(e.path(), missing);
    const std::string junk = (files().dir / "junk.png").string();
    std::ofstream(junk) << "not an image at all";
    e = thrown<ImageError>([&] { model.predict(junk); });
    EXPECT_EQ(e.path(), junk);
    EXPECT_FALSE(e.reason().empty());
    // In a batch the bad file is named and nothing is classified.
    std::vector<std::string> batch = files().images;
    batch.insert(batch.begin() + 2, junk);
    EXPECT_EQ(thrown<ImageError>([&] { model.predict(batch); }).path(), junk);

    const GreyImage g = decode_image(files().images[0]);
    GreyImageView v = view_of(g);
    v.bits = 12;
    e = thrown<ImageError>([&] { model.predict(v); });
    EXPECT_EQ(e.path(), "<buffer>");
    EXPECT_NE(e.reason().find("12-bit"), std::string::npos);
    v = view_of(g);
    v.row_bytes = size_t(g.width) - 1;
    EXPECT_NE(thrown<ImageError>([&] { model.predict(v); }).reason().find("row_bytes"),
              std::string::npos);
    v = view_of(g);
    v.pixels = nullptr;
    EXPECT_EQ(thrown<ImageError>([&] {
                  model.predict(std::vector<GreyImageView>{view_of(g), v});
              }).path(),
              "<buffer 1>");
    v = view_of(g);
    v.width = 0;
    thrown<ImageError>([&] { model.predict(v); });

    EXPECT_EQ(model.predict(files().images[0]).probability, model.predict(view_of(g)).probability);
}

TEST(PublicApi, NonFiniteOutputsAreRefusedNamingTheImage) {
    const std::string huge = edited_weights("huge", [](std::vector<float>& v) {
        for (float& x : v) x = 3e38f;
    });
    Classifier model(huge);
    const OutputError e = thrown<OutputError>([&] { model.predict(files().images[0]); });
    EXPECT_EQ(e.path(), files().images[0]);
    EXPECT_NE(e.reason().find("not finite"), std::string::npos) << e.reason();
}

TEST(PublicApi, OptionsAndDevicesAreChecked) {
    ClassifierOptions o;
    o.threads = -1;
    thrown<ArgumentError>([&] { Classifier m(files().weights, o); });
    o = {};
    o.max_batch = 0;
    thrown<ArgumentError>([&] { Classifier m(files().weights, o); });
    o = {};
    o.threads = 1;
    EXPECT_EQ(Classifier(files().weights, o).threads(), 1);
    o = {};
    o.device = ComputeDevice::CUDA;
    if (cuda_available()) {
        Classifier gpu(files().weights, o);
        EXPECT_EQ(gpu.device(), ComputeDevice::CUDA);
        EXPECT_NEAR(gpu.predict(files().images[0]).probability,
                    Classifier(files().weights).predict(files().images[0]).probability, 1e-4);
    } else {
        const DeviceError e = thrown<DeviceError>([&] { Classifier m(files().weights, o); });
        EXPECT_NE(e.reason().find(cuda_status()), std::string::npos) << e.reason();
    }
}
