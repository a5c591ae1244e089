// From samples to normalised NHWC batches.
//
// Per sample (load_sample): decode (or render a phantom) -> histogram
// equalisation (default) or CLAHE -> resize to image_size, rounded to 8 bits
// (the "prepared" image) -> augmentation (training only) -> scale to [0, 1],
// normalise by mean/std -> grey replicated to 3 channels, or 1 channel for a
// grey stem.
//
// The loader keeps prepared images in memory, up to `cache_mb`, so epochs
// after the first skip decoding, equalisation and resizing; results are
// identical with or without the cache.
//
// Loader: worker threads build whole batches ahead of the consumer, at most
// `prefetch` batches, into preallocated (pinned when a GPU is present) host
// buffers. The sample order is a seeded shuffle per epoch and each sample's
// augmentation is seeded by (seed, epoch, position), so batches are identical
// for any worker count. A bad file is skipped and logged with its path and
// reason (the batch is then smaller), or, with `strict`, stops the run.
//
// Data-parallel shards (dist/shard.h): with shard_count N > 1 the loader of
// rank `shard_rank` walks the same global batches of batch_size images (the
// same permutation, the same augmentation streams by global position) and
// hands out only its share of each, batch_size / N images; a batch whose
// share is empty (every file bad, or an evaluation batch shorter than N) is
// still handed out, with no samples, so that every rank takes the same steps.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/augment.h"
#include "data/dataset.h"
#include "data/image.h"
#include "tensor/gpu_runtime.h"
#include "tensor/tensor.h"

namespace effnet {

struct PipelineConfig {
    int image_size = 224;
    int channels = 3;  // 3: grey replicated (ImageNet-style stem); 1: grey stem
    bool equalize = true;
    bool clahe = false;
    int clahe_tiles = 8;
    double clahe_clip = 2.0;
    std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};  // ImageNet
    std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
    AugmentConfig augment;
    DecodeLimits limits;
    uint64_t phantom_seed = 0;
};

// The mean and standard deviation applied to each of the `channels` input
// channels: x = (pixel / 255 - mean[c]) / std[c]. A grey stem (channels 1)
// takes the average of the three configured values (entry 0 of the result).
struct ChannelNormalisation {
    std::array<float, 3> mean, std;
};
ChannelNormalisation channel_normalisation(const PipelineConfig& cfg);

// The prepared image of a sample: equalised and resized to image_size, 8-bit.
GreyImage prepare_image(const Sample& s, const PipelineConfig& cfg);
// The same steps for an image already decoded: equalisation (or CLAHE), resize.
GreyImage prepare_decoded(GreyImage img, const PipelineConfig& cfg);
// Augments and normalises a prepared image into image_size^2 * channels floats (NHWC).
void finish_sample(const GreyImage& prepared, const PipelineConfig& cfg, uint64_t aug_seed,
                   uint64_t aug_stream, float* dst);
// prepare_image then finish_sample. Throws IoError for bad files.
void load_sample(const Sample& s, const PipelineConfig& cfg, uint64_t aug_seed, uint64_t aug_stream,
                 float* dst);

// Thread-safe record of skipped files.
class BadFileLog {
public:
    void add(const std::string& path, const std::string& reason);
    size_t count() const;
    std::vector<std::pair<std::string, std::string>> entries() const;

private:
    mutable std::mutex mu_;
    std::vector<std::pair<std::string, std::string>> entries_;
};

struct LoaderConfig {
    int64_t batch_size = 32;
    int workers = 2;   // 0: build batches on the calling thread
    int prefetch = 4;  // batches built ahead
    bool shuffle = false;
    bool drop_last = false;
    bool strict = false;  // a bad file throws instead of being skipped
    bool pinned = false;  // page-locked buffers for asynchronous GPU copies
    uint64_t seed = 0;
    int64_t cache_mb = 1024;  // memory for prepared images kept across epochs (0: off)
    // This process's share of every global batch of batch_size images.
    int shard_rank = 0, shard_count = 1;
    // Training shards: a last batch with fewer images than shard_count is left
    // out on every rank (each rank's step needs an image; dist/shard.h).
    bool training_shards = false;
    // Training: mixup of each batch's images in pairs (data/mixup.h), lambda ~
    // Beta(mixup_alpha, mixup_alpha) per batch; 0: off.
    double mixup_alpha = 0;
};

struct Batch {
    Tensor images;                       // [n, S, S, C] view of a loader buffer
    Tensor labels;                       // [n] int32
    std::vector<const Sample*> samples;  // the n samples, in order
    int64_t index = 0;                   // batch number in the epoch
    int64_t offset = 0;  // position of this share's first sample in the global batch
    // Mixup (LoaderConfig::mixup_alpha > 0): the images are already blended,
    // image i with weight mix_lambda and its partner with 1 - mix_lambda;
    // partner_labels [n] int32 holds the partners' labels. Otherwise
    // partner_labels is empty and mix_lambda 1.
    Tensor partner_labels;
    float mix_lambda = 1;
    // A consumer that copies images/labels to the GPU asynchronously records
    // this event after the copy (Tensor::copy_from_host_async); the loader
    // waits for it before refilling these buffers.
    gpu::Event* buffers_read = nullptr;
    int64_t size() const { return int64_t(samples.size()); }
};

// A batch's images and labels on `device`: the loader's own buffers on the
// CPU; on the GPU, copies enqueued asynchronously (from pinned memory) that
// record the batch's buffers_read event, so the loader refills the buffers
// only after the copies have read them.
struct DeviceBatch {
    Tensor images, labels, partner_labels;  // partner_labels: with mixup only
};
DeviceBatch to_device(const Batch& b, Device device);

class Loader {
public:
    Loader(std::vector<Sample> samples, const PipelineConfig& pipeline, const LoaderConfig& cfg,
           BadFileLog* log);
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    // Starts epoch `epoch` (reshuffles when configured), optionally skipping
    // its first `skip_batches` batches (to resume mid-epoch). Any unfinished
    // epoch is abandoned.
    void start_epoch(int epoch, int64_t skip_batches = 0);
    // The next batch of the epoch; false at its end. The batch stays valid
    // until the next call, which first waits for out.buffers_read. Sharded
    // (shard_count > 1), a batch may hold no sample (see the top).
    bool next(Batch& out);
    // Global batches per epoch (each rank takes its share of every one).
    int64_t batches_per_epoch() const;
    // The most images one share holds: batch_size / shard_count.
    int64_t local_batch_size() const;
    const std::vector<Sample>& samples() const { return samples_; }
    // Prepared images held in the cache.
    size_t cached() const;

private:
    struct Slot {
        Tensor images, labels, partner_labels;
        float mix_lambda = 1;
        gpu::Event read;  // recorded by the consumer's asynchronous copy out of the tensors
        std::vector<const Sample*> samples;
        int64_t batch = -1;
        bool ready = false;
        std::string error;  // strict mode: the first bad file
    };
    void fill(Slot& slot, int64_t batch);
    void worker_loop();
    void stop_workers();

    // The prepared image of samples_[index], from the cache or freshly made (and cached when it fits).
    std::shared_ptr<const GreyImage> prepared(size_t index);

    std::vector<Sample> samples_;
    std::vector<std::shared_ptr<const GreyImage>> cache_;
    size_t cache_bytes_ = 0;
    mutable std::mutex cache_mu_;
    PipelineConfig pipe_;
    LoaderConfig cfg_;
    BadFileLog* log_;
    std::vector<size_t> order_;
    int epoch_ = 0;
    std::vector<Slot> slots_;
    std::vector<std::thread> workers_;
    std::mutex mu_;
    std::condition_variable cv_;
    // Batches [0, released_) have been handed out and returned; a worker may
    // fill batch b only when its slot (b % slots) is free: b < released_ + slots.
    int64_t next_to_fill_ = 0, next_to_consume_ = 0, released_ = 0, n_batches_ = 0;
    bool stopping_ = false;
};

}  // namespace effnet
