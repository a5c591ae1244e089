// effnet::Classifier (include/effnet/effnet.h) over effnet's parts: the
// weights file and its metadata (io/, train/model_spec.h), the training
// pipeline's preprocessing without augmentation (data/), and a backend
// (api/backend.h). Internal errors become the public ones at this boundary.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "api/backend.h"
#include "data/image.h"
#include "data/loader.h"
#include "data/preprocess.h"
#include "effnet/effnet.h"
#include "effnet_config.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "tensor/error.h"
#include "tensor/gpu_runtime.h"
#include "train/model_spec.h"

namespace effnet {

namespace {

// Internal messages read "path: reason"; the public errors hold the two apart.
std::string reason_of(const std::string& message, const std::string& path) {
    const std::string prefix = path + ": ";
    return !path.empty() && message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

// Runs `fn`; an internal error about `path` leaves as the public one
// (a file problem as FileError).
template <class FileError, class Fn>
auto with_public_errors(const std::string& path, Fn&& fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (const ClassifierError&) {
        throw;
    } catch (const IoError& e) {
        throw FileError(path, reason_of(e.what(), path));
    } catch (const NumericError& e) {
        throw OutputError(path, reason_of(e.what(), path));
    } catch (const CudaError& e) {
        throw DeviceError(path, e.what());
    } catch (const ContractError& e) {
        throw ArgumentError(path, e.what());
    } catch (const Error& e) {
        throw ClassifierError(path, e.what());
    }
}

ModelInfo model_info(const ModelSpec& spec, const std::map<std::string, std::string>& meta,
                     const std::string& path) {
    ModelInfo m;
    m.path = path;
    m.architecture = "efficientnet_b" + std::to_string(spec.variant);
    m.num_classes = int(spec.num_classes);
    m.in_channels = int(spec.in_channels);
    m.image_size = spec.image_size;
    m.equalize = spec.equalize;
    m.clahe = spec.clahe;
    m.clahe_tiles = spec.clahe_tiles;
    m.clahe_clip = spec.clahe_clip;
    m.mean = spec.mean;
    m.std = spec.std;
    // The settings effnet_train stored with the weights (--calibrate, the threshold chosen on val).
    const DecisionSettings decision = read_decision_settings(meta, path);
    m.has_temperature = decision.has_temperature;
    m.temperature = decision.temperature;
    m.has_threshold = decision.has_threshold;
    m.threshold = decision.threshold;
    return m;
}

// d(class-1 evidence)/d(pooled feature c), up to the pool's 1/(h*w): the
// classifier row of class 1 less that of class 0 (the one row of a
// one-logit model). Pooling and a linear classifier make it the Grad-CAM
// channel weight at every position.
std::vector<float> class1_evidence(const std::vector<float>& w, int64_t classes) {
    const size_t c = w.size() / size_t(classes);
    std::vector<float> e(c);
    for (size_t k = 0; k < c; ++k) e[k] = classes == 1 ? w[k] : w[c + k] - w[k];
    return e;
}

GreyImage grey_from_view(const GreyImageView& v, const std::string& name,
                         const DecodeLimits& limits) {
    if (!v.pixels) throw ImageError(name, "no pixels (null pointer)");
    if (v.width <= 0 || v.height <= 0)
        throw ImageError(
            name, "empty image (" + std::to_string(v.width) + "x" + std::to_string(v.height) + ")");
    if (v.width > limits.max_side || v.height > limits.max_side)
        throw ImageError(name, "image too large (" + std::to_string(v.width) + "x" +
                                   std::to_string(v.height) + "; at most " +
                                   std::to_string(limits.max_side) + " pixels a side)");
    if (v.bits != 8 && v.bits != 16)
        throw ImageError(
            name, std::to_string(v.bits) + "-bit samples (8- and 16-bit grey images are read)");
    const size_t sample = size_t(v.bits / 8), packed = size_t(v.width) * sample;
    const size_t row = v.row_bytes ? v.row_bytes : packed;
    if (row < packed)
        throw ImageError(name, "row_bytes " + std::to_string(row) + " is less than a row (" +
                                   std::to_string(packed) + " bytes)");
    const auto* bytes = static_cast<const uint8_t*>(v.pixels);
    if (v.bits == 8) {
        GreyImage g;
        g.width = v.width;
        g.height = v.height;
        g.pixels.resize(size_t(v.width) * size_t(v.height));
        for (int y = 0; y < v.height; ++y)
            std::memcpy(&g.pixels[size_t(y) * packed], bytes + size_t(y) * row, packed);
        return g;
    }
    std::vector<double> grey(size_t(v.width) * size_t(v.height));
    for (int y = 0; y < v.height; ++y)
        for (int x = 0; x < v.width; ++x) {
            uint16_t s;
            std::memcpy(&s, bytes + size_t(y) * row + size_t(x) * 2,
                        2);  // the buffer need not be aligned
            grey[size_t(y) * size_t(v.width) + size_t(x)] = s;
        }
    return stretch_to_8_bits(grey, v.width, v.height);
}

std::string buffer_name(size_t index, size_t count) {
    return count == 1 ? "<buffer>" : "<buffer " + std::to_string(index) + ">";
}

}  // namespace

struct Classifier::Impl {
    ModelInfo info;
    PipelineConfig pipeline;
    ComputeDevice device = ComputeDevice::CPU;
    int64_t max_batch = 1, per_image = 0;
    std::unique_ptr<api::Backend> backend;
    std::vector<float> cam_weights;
    std::vector<float> input, logits,
        head;  // input and logits planned for max_batch; head for explain()
    std::mutex mu;

    GreyImage prepare(const std::string& path) const {
        return with_public_errors<ImageError>(
            path, [&] { return prepare_decoded(decode_image(path, pipeline.limits), pipeline); });
    }
    GreyImage prepare(const GreyImageView& v, const std::string& name) const {
        return with_public_errors<ImageError>(name, [&] {
            return prepare_decoded(grey_from_view(v, name, pipeline.limits), pipeline);
        });
    }

    Prediction prediction(const float* z, const std::string& name) const {
        const int64_t k = info.num_classes;
        std::vector<float> scaled(z, z + k);
        for (float& v : scaled) v = float(double(v) / info.temperature);
        Prediction p;
        p.probability = with_public_errors<ImageError>(
            name, [&] { return finite_probability(scaled.data(), k, name); });
        if (k <= 2) {
            p.probabilities = {1 - p.probability, p.probability};
        } else {
            const double mx = *std::max_element(scaled.begin(), scaled.end());
            double den = 0;
            for (float v : scaled) den += std::exp(double(v) - mx);
            for (float v : scaled) p.probabilities.push_back(std::exp(double(v) - mx) / den);
        }
        p.label = p.probability >= info.threshold ? 1 : 0;
        return p;
    }

    // Normalises `images` into the input slots a slice at a time and runs them.
    std::vector<Prediction> classify(const std::vector<GreyImage>& images,
                                     const std::vector<std::string>& names) {
        std::vector<Prediction> out;
        for (size_t first = 0; first < images.size(); first += size_t(max_batch)) {
            const size_t n = std::min(images.size() - first, size_t(max_batch));
            for (size_t i = 0; i < n; ++i)
                finish_sample(images[first + i], pipeline, 0, 0,
                              input.data() + int64_t(i) * per_image);
            with_public_errors<ImageError>(names[first], [&] {
                backend->run(input.data(), int64_t(n), logits.data(), nullptr);
            });
            for (size_t i = 0; i < n; ++i)
                out.push_back(
                    prediction(logits.data() + int64_t(i) * info.num_classes, names[first + i]));
        }
        return out;
    }

    Prediction explain(const GreyImage& image, const std::string& name, Heatmap& heatmap) {
        const int64_t fh = backend->head_height(), fw = backend->head_width(),
                      c = backend->head_channels();
        head.resize(size_t(fh * fw * c));
        finish_sample(image, pipeline, 0, 0, input.data());
        with_public_errors<ImageError>(
            name, [&] { backend->run(input.data(), 1, logits.data(), head.data()); });
        const Prediction p = prediction(logits.data(), name);
        Plane cam;
        cam.width = int(fw);
        cam.height = int(fh);
        cam.v.resize(size_t(fh * fw));
        for (int64_t i = 0; i < fh * fw; ++i) {
            double s = 0;
            for (int64_t k = 0; k < c; ++k)
                s += double(cam_weights[size_t(k)]) * head[size_t(i * c + k)];
            cam.v[size_t(i)] = float(std::max(0.0, s));
        }
        const float top = *std::max_element(cam.v.begin(), cam.v.end());
        for (float& v : cam.v) v = top > 0 ? v / top : 0.0f;
        const Plane up = resize(cam, image.width, image.height);
        heatmap.width = image.width;
        heatmap.height = image.height;
        heatmap.values.resize(up.v.size());
        std::transform(up.v.begin(), up.v.end(), heatmap.values.begin(),
                       [](float v) { return std::clamp(v, 0.0f, 1.0f); });
        heatmap.image = image.pixels;
        return p;
    }
};

Classifier::Classifier(const std::string& path, const ClassifierOptions& options)
    : impl_(std::make_unique<Impl>()) {
    if (options.threads < 0)
        throw ArgumentError("",
                            "threads is " + std::to_string(options.threads) + " (0: the default)");
    if (options.max_batch < 1 || options.max_batch > 4096)
        throw ArgumentError(
            "", "max_batch is " + std::to_string(options.max_batch) + ", not in [1, 4096]");
    Impl& m = *impl_;
    m.device = options.device == ComputeDevice::CUDA ? ComputeDevice::CUDA : ComputeDevice::CPU;
    if (m.device == ComputeDevice::CUDA && !gpu::available())
        throw DeviceError("", "ComputeDevice::CUDA requested, but " + gpu::status());
    m.max_batch = options.max_batch;
    with_public_errors<ModelFileError>(path, [&] {
        const SafetensorsFile f = read_safetensors(path);
        const ModelSpec spec = ModelSpec::from_metadata(f.metadata, path);
        m.info = model_info(spec, f.metadata, path);
        m.pipeline = spec.pipeline();
        const Device dev = m.device == ComputeDevice::CUDA ? Device::CUDA : Device::CPU;
        auto model = std::make_unique<Model>(spec, dev, 0);
        load_weights(f, *model->net, WeightsMatch::EXACT, path, {"optimizer."});
        m.cam_weights =
            class1_evidence(model->net->classifier_weight().to_vector(), spec.num_classes);
        m.backend = dev == Device::CPU ? api::make_cpu_backend(*model, m.max_batch, options.threads)
                                       : api::make_cuda_backend(std::move(model), m.max_batch);
    });
    m.per_image = int64_t(m.info.image_size) * m.info.image_size * m.info.in_channels;
    m.input.resize(size_t(m.max_batch * m.per_image));
    m.logits.resize(size_t(m.max_batch * m.info.num_classes));
}

Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;

Prediction Classifier::predict(const std::string& image_path) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->classify({impl_->prepare(image_path)}, {image_path})[0];
}

Prediction Classifier::predict(const GreyImageView& image) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    const std::string name = buffer_name(0, 1);
    return impl_->classify({impl_->prepare(image, name)}, {name})[0];
}

std::vector<Prediction> Classifier::predict(const std::vector<std::string>& image_paths) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::vector<GreyImage> images;
    for (const std::string& p : image_paths) images.push_back(impl_->prepare(p));
    return impl_->classify(images, image_paths);
}

std::vector<Prediction> Classifier::predict(const std::vector<GreyImageView>& views) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::vector<GreyImage> images;
    std::vector<std::string> names;
    for (size_t i = 0; i < views.size(); ++i) {
        names.push_back(buffer_name(i, views.size()));
        images.push_back(impl_->prepare(views[i], names.back()));
    }
    return impl_->classify(images, names);
}

Prediction Classifier::explain(const std::string& image_path, Heatmap& heatmap) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->explain(impl_->prepare(image_path), image_path, heatmap);
}

Prediction Classifier::explain(const GreyImageView& image, Heatmap& heatmap) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    const std::string name = buffer_name(0, 1);
    return impl_->explain(impl_->prepare(image, name), name, heatmap);
}

const ModelInfo& Classifier::info() const { return impl_->info; }
ComputeDevice Classifier::device() const { return impl_->device; }
int Classifier::threads() const { return impl_->backend->threads(); }

std::string version() { return EFFNET_VERSION; }
bool cuda_available() { return gpu::available(); }
std::string cuda_status() { return gpu::status(); }

}  // namespace effnet
