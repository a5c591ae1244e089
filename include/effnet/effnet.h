// effnet: EfficientNet image classification from a weights file, in C++17.
//
// The one public header of the installed library (libeffnet, or
// libeffnet_cpu for the CPU-only build): standard C++ types only, nothing of
// CUDA, Eigen or effnet's internals.
//
//   #include <effnet/effnet.h>
//   effnet::Classifier model("best.safetensors");
//   double p = model.predict("chest.png").probability;   // P(cardiomegaly)
//
// Contract
// - A weights file is a safetensors file written by effnet_train (a
//   checkpoint or best.safetensors). Its metadata gives the architecture
//   (effnet.arch, effnet.num_classes, effnet.in_channels), the input size
//   (effnet.image_size), the preprocessing (effnet.equalize, effnet.clahe*,
//   effnet.mean, effnet.std) and, when the run calibrated them, a
//   temperature (effnet.temperature) and a decision threshold
//   (effnet.threshold). Every image is preprocessed exactly as in training
//   (grey, histogram equalisation or CLAHE, resize to image_size, scale to
//   [0, 1], normalise) before the network sees it.
// - Probabilities: softmax(logits / T) over the classes (sigmoid for a
//   one-logit model), T the file's temperature or 1. `probability` is
//   P(class 1) (cardiomegaly); `label` is 1 when it is at or above the
//   threshold (the file's, or 0.5).
// - Where it runs: on the CPU the inference-only fast path (batch norm
//   folded into the convolutions, fused passes, the network's memory planned
//   at load for max_batch images, so a forward pass allocates nothing; only
//   decoding an image does). ComputeDevice::CUDA runs the network on the GPU
//   (libeffnet built with CUDA and a GPU present); AUTO is the CPU.
// - A Classifier serves one call at a time: concurrent calls on one object
//   are serialised. Use one Classifier per thread for parallel work.
// - Every failure throws a subclass of effnet::ClassifierError whose path()
//   names the file concerned and reason() says what is wrong; a failed call
//   leaves the Classifier usable. No probability is ever returned for a
//   non-finite network output.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// The library exports these names only (it is built with hidden visibility).
#if defined(__GNUC__)
#define EFFNET_API __attribute__((visibility("default")))
#else
#define EFFNET_API
#endif

namespace effnet {

// ---- Errors ----------------------------------------------------------------

// Base of everything the API throws. what() is "path: reason", or the reason
// alone when no file is concerned.
class EFFNET_API ClassifierError : public std::runtime_error {
public:
    ClassifierError(const std::string& path, const std::string& reason);
    ~ClassifierError() override;
    const std::string& path() const noexcept { return path_; }
    const std::string& reason() const noexcept { return reason_; }

private:
    std::string path_, reason_;
};
// The weights file is missing, unreadable, damaged, holds non-finite
// weights, is not an effnet model, or has an architecture or metadata
// value this library cannot use.
class EFFNET_API ModelFileError : public ClassifierError {
public:
    using ClassifierError::ClassifierError;
    ~ModelFileError() override;
};
// An image file is missing, damaged, too large or of an unsupported format;
// or an image buffer is empty, null or of a bit depth other than 8 or 16.
// For a buffer path() is "<buffer>" ("<buffer N>" in a batch).
class EFFNET_API ImageError : public ClassifierError {
public:
    using ClassifierError::ClassifierError;
    ~ImageError() override;
};
// The device asked for is not there (CUDA in a CPU-only build or without a
// GPU), or it failed.
class EFFNET_API DeviceError : public ClassifierError {
public:
    using ClassifierError::ClassifierError;
    ~DeviceError() override;
};
// The network's output is not finite (damaged weights, or a diverged run):
// path() names the image.
class EFFNET_API OutputError : public ClassifierError {
public:
    using ClassifierError::ClassifierError;
    ~OutputError() override;
};
// An argument breaks this header's contract (a negative thread count, a
// null pointer, ...).
class EFFNET_API ArgumentError : public ClassifierError {
public:
    using ClassifierError::ClassifierError;
    ~ArgumentError() override;
};

// ---- Inputs, options and results --------------------------------------------

enum class ComputeDevice { AUTO, CPU, CUDA };

struct ClassifierOptions {
    ComputeDevice device = ComputeDevice::AUTO;
    int threads = 0;     // CPU threads; 0: OMP_NUM_THREADS, else every core
    int max_batch = 16;  // images per forward pass, planned at load; larger batches run in slices
};

// A grey image in memory: unsigned 8- or 16-bit samples (native byte
// order), row after row. 16-bit images are stretched to 8 bits by their
// minimum and maximum, as 16-bit files are.
struct GreyImageView {
    const void* pixels = nullptr;
    int width = 0, height = 0;
    int bits = 8;               // 8 (uint8_t samples) or 16 (uint16_t)
    std::size_t row_bytes = 0;  // bytes from one row to the next; 0: width * bits / 8
};

struct Prediction {
    double probability = 0;  // P(class 1), e.g. P(cardiomegaly)
    int label = 0;           // 1 when probability >= threshold (one-vs-rest of class 1)
    // Per class, summing to 1 ({1 - p, p} for a one-logit model).
    std::vector<double> probabilities;
};

// Grad-CAM of class 1 on the last convolution block: ReLU(sum_c w_c A_c)
// with A the block's activations and w_c the gradient of the class-1
// evidence (logit 1 - logit 0; the logit of a one-logit model) with respect
// to A_c, which global pooling and a linear classifier make constant. Scaled
// to [0, 1] (all 0 when nothing is positive) and upsampled bilinearly to the
// network's input size, beside the preprocessed image the network saw.
struct Heatmap {
    int width = 0, height = 0;   // the network's input size
    std::vector<float> values;   // [height * width] in [0, 1]
    std::vector<uint8_t> image;  // [height * width] the equalised, resized grey input
};

// What the weights file says about the model and its preprocessing.
struct ModelInfo {
    std::string path;
    std::string architecture;  // "efficientnet_b0" .. "efficientnet_b7"
    int num_classes = 0, in_channels = 0, image_size = 0;
    bool equalize = false, clahe = false;  // the input equalisation (CLAHE wins when both)
    int clahe_tiles = 0;
    double clahe_clip = 0;
    std::array<float, 3> mean{}, std{};  // normalisation after scaling to [0, 1]
    double temperature = 1;              // from effnet.temperature; 1 without it
    double threshold = 0.5;              // from effnet.threshold; 0.5 without it
    bool has_temperature = false, has_threshold = false;
};

// ---- The classifier ----------------------------------------------------------

class EFFNET_API Classifier {
public:
    // Loads `weights_path` and plans inference for options.max_batch images.
    // Throws ModelFileError, DeviceError or ArgumentError.
    explicit Classifier(const std::string& weights_path, const ClassifierOptions& options = {});
    ~Classifier();
    Classifier(Classifier&&) noexcept;
    Classifier& operator=(Classifier&&) noexcept;
    Classifier(const Classifier&) = delete;
    Classifier& operator=(const Classifier&) = delete;

    // One image: a file (PNG, JPEG, BMP; DICOM where the library was built
    // with DCMTK) or a buffer. Throws ImageError, OutputError, DeviceError.
    Prediction predict(const std::string& image_path);
    Prediction predict(const GreyImageView& image);
    // A batch, in order. Every image is read before any is classified, so a
    // bad one throws (naming it) without work lost on the others.
    std::vector<Prediction> predict(const std::vector<std::string>& image_paths);
    std::vector<Prediction> predict(const std::vector<GreyImageView>& images);

    // One image with its Grad-CAM heatmap (one extra pass over the head's
    // activations; the prediction is the same as predict()'s).
    Prediction explain(const std::string& image_path, Heatmap& heatmap);
    Prediction explain(const GreyImageView& image, Heatmap& heatmap);

    const ModelInfo& info() const;
    ComputeDevice device() const;  // where it runs (AUTO resolved)
    int threads() const;           // CPU threads used

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// "0.1.0": the library's version.
EFFNET_API std::string version();
// Whether ComputeDevice::CUDA can run here, and if not why (one line).
EFFNET_API bool cuda_available();
EFFNET_API std::string cuda_status();

}  // namespace effnet
