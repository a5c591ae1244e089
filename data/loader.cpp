#include "data/loader.h"

#include <algorithm>
#include <cmath>

#include "data/mixup.h"
#include "data/phantom.h"
#include "data/preprocess.h"
#include "dist/shard.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace effnet {

GreyImage prepare_image(const Sample& s, const PipelineConfig& cfg) {
    return prepare_decoded(
        s.phantom >= 0
            ? render_phantom(sample_phantom(cfg.phantom_seed, uint64_t(s.phantom)), cfg.image_size)
            : decode_image(s.path, cfg.limits),
        cfg);
}

GreyImage prepare_decoded(GreyImage img, const PipelineConfig& cfg) {
    if (cfg.clahe)
        img = clahe(img, std::min(cfg.clahe_tiles, img.width),
                    std::min(cfg.clahe_tiles, img.height), cfg.clahe_clip);
    else if (cfg.equalize)
        img = equalize_histogram(img);
    if (img.width != cfg.image_size || img.height != cfg.image_size)
        img = to_grey(resize(to_plane(img), cfg.image_size, cfg.image_size));
    return img;
}

void load_sample(const Sample& s, const PipelineConfig& cfg, uint64_t aug_seed, uint64_t aug_stream,
                 float* dst) {
    finish_sample(prepare_image(s, cfg), cfg, aug_seed, aug_stream, dst);
}

ChannelNormalisation channel_normalisation(const PipelineConfig& cfg) {
    if (cfg.channels != 1) return {cfg.mean, cfg.std};
    // A grey stem: the mean of the three (ImageNet) statistics.
    const float m = (cfg.mean[0] + cfg.mean[1] + cfg.mean[2]) / 3,
                sd = (cfg.std[0] + cfg.std[1] + cfg.std[2]) / 3;
    return {{m, m, m}, {sd, sd, sd}};
}

void finish_sample(const GreyImage& prepared, const PipelineConfig& cfg, uint64_t aug_seed,
                   uint64_t aug_stream, float* dst) {
    Plane p = augment(to_plane(prepared), cfg.augment, aug_seed, aug_stream);
    const size_t n = p.v.size();
    const ChannelNormalisation norm = channel_normalisation(cfg);
    if (cfg.channels == 1) {
        for (size_t i = 0; i < n; ++i) dst[i] = (p.v[i] / 255.0f - norm.mean[0]) / norm.std[0];
        return;
    }
    for (size_t i = 0; i < n; ++i) {
        const float x = p.v[i] / 255.0f;
        for (int c = 0; c < 3; ++c)
            dst[i * 3 + c] = (x - norm.mean[size_t(c)]) / norm.std[size_t(c)];
    }
}

DeviceBatch to_device(const Batch& b, Device device) {
    if (device == Device::CPU) return {b.images, b.labels, b.partner_labels};
    EFFNET_CHECK(b.buffers_read,
                 "to_device: the batch has no event for its buffers (not from a Loader)");
    DeviceBatch d{Tensor::empty(b.images.shape(), device, b.images.dtype()),
                  Tensor::empty(b.labels.shape(), device, b.labels.dtype()), Tensor()};
    d.images.copy_from_host_async(b.images, *b.buffers_read);
    d.labels.copy_from_host_async(b.labels, *b.buffers_read);  // re-recorded: marks both copies
    if (b.partner_labels.raw()) {
        d.partner_labels = Tensor::empty(b.partner_labels.shape(), device, DType::INT32);
        d.partner_labels.copy_from_host_async(b.partner_labels, *b.buffers_read);  // and all three
    }
    return d;
}

void BadFileLog::add(const std::string& path, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : entries_)
        if (e.first == path) return;  // each bad file once, however many epochs meet it
    entries_.emplace_back(path, reason);
}

size_t BadFileLog::count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_.size();
}

std::vector<std::pair<std::string, std::string>> BadFileLog::entries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
}

Loader::Loader(std::vector<Sample> samples, const PipelineConfig& pipeline, const LoaderConfig& cfg,
               BadFileLog* log)
    : samples_(std::move(samples)), pipe_(pipeline), cfg_(cfg), log_(log) {
    EFFNET_CHECK(!samples_.empty(), "a loader needs at least one sample");
    EFFNET_CHECK(cfg.batch_size >= 1 && cfg.prefetch >= 1 && cfg.workers >= 0,
                 "bad loader configuration");
    EFFNET_CHECK(cfg.shard_rank >= 0 && cfg.shard_rank < cfg.shard_count,
                 "loader: shard " << cfg.shard_rank << " of " << cfg.shard_count);
    const int64_t per_rank = dist::local_batch(cfg.batch_size, cfg.shard_count);
    const int64_t s = pipeline.image_size, c = pipeline.channels;
    slots_.resize(size_t(std::max(1, cfg.prefetch)));
    for (Slot& slot : slots_) {
        Shape shape{per_rank, s, s, c};
        slot.images = cfg.pinned ? Tensor::pinned(shape) : Tensor::empty(shape);
        slot.labels = Tensor::empty(Shape{per_rank}, Device::CPU, DType::INT32);
        if (cfg.mixup_alpha > 0)
            slot.partner_labels = cfg.pinned
                                      ? Tensor::pinned(Shape{per_rank}, DType::INT32)
                                      : Tensor::empty(Shape{per_rank}, Device::CPU, DType::INT32);
    }
    cache_.resize(samples_.size());
}

size_t Loader::cached() const {
    std::lock_guard<std::mutex> lock(cache_mu_);
    size_t n = 0;
    for (auto& c : cache_) n += c != nullptr;
    return n;
}

std::shared_ptr<const GreyImage> Loader::prepared(size_t index) {
    {
        std::lock_guard<std::mutex> lock(cache_mu_);
        if (cache_[index]) return cache_[index];
    }
    auto img = std::make_shared<const GreyImage>(prepare_image(samples_[index], pipe_));
    const size_t bytes = img->pixels.size() + sizeof(GreyImage);
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (!cache_[index] && cache_bytes_ + bytes <= size_t(std::max<int64_t>(0, cfg_.cache_mb))
                                                      << 20) {
        cache_[index] = img;
        cache_bytes_ += bytes;
    }
    return img;
}

Loader::~Loader() {
    stop_workers();
    // No queued copy may outlive the buffers it reads. After a device fault the
    // wait itself fails; a destructor must not throw (the fault's own error is
    // on its way to main()), and the device is unusable then anyway.
    for (Slot& slot : slots_) {
        try {
            slot.read.wait();
        } catch (const Error&) {
        }
    }
}

int64_t Loader::batches_per_epoch() const {
    const int64_t n = int64_t(samples_.size());
    if (cfg_.drop_last) return n / cfg_.batch_size;
    return dist::global_batches(n, cfg_.batch_size, cfg_.shard_count, cfg_.training_shards);
}

int64_t Loader::local_batch_size() const { return cfg_.batch_size / cfg_.shard_count; }

void Loader::stop_workers() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stopping_ = false;
}

void Loader::start_epoch(int epoch, int64_t skip_batches) {
    stop_workers();
    for (Slot& slot : slots_) slot.read.wait();  // workers are about to refill every slot
    epoch_ = epoch;
    order_.resize(samples_.size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    if (cfg_.shuffle)
        for (size_t i = order_.size(); i > 1; --i) {
            const size_t j = size_t(mix64(cfg_.seed ^ mix64((uint64_t(epoch) << 32) + i)) % i);
            std::swap(order_[i - 1], order_[j]);
        }
    n_batches_ = batches_per_epoch();
    next_to_fill_ = next_to_consume_ = released_ = std::clamp<int64_t>(skip_batches, 0, n_batches_);
    for (Slot& s : slots_) {
        s.ready = false;
        s.batch = -1;
        s.error.clear();
    }
    for (int i = 0; i < cfg_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void Loader::fill(Slot& slot, int64_t batch) {
    slot.samples.clear();
    slot.error.clear();
    const dist::Share share = dist::batch_share(int64_t(order_.size()), cfg_.batch_size, batch,
                                                cfg_.shard_rank, cfg_.shard_count);
    const int64_t begin = share.begin, end = share.begin + share.count;
    const int64_t per = int64_t(pipe_.image_size) * pipe_.image_size * pipe_.channels;
    for (int64_t pos = begin; pos < end; ++pos) {
        const Sample& s = samples_[order_[size_t(pos)]];
        float* dst = slot.images.f32() + int64_t(slot.samples.size()) * per;
        try {
            // Augmentation stream: epoch and position in the epoch, independent of threads.
            finish_sample(*prepared(order_[size_t(pos)]), pipe_, cfg_.seed,
                          mix64((uint64_t(epoch_) << 40) ^ uint64_t(pos)), dst);
        } catch (const Error& e) {
            if (log_) log_->add(s.path, e.what());
            if (cfg_.strict && slot.error.empty()) slot.error = e.what();
            continue;
        }
        slot.labels.i32()[slot.samples.size()] = s.label;
        slot.samples.push_back(&s);
    }
    if (cfg_.mixup_alpha > 0) {
        slot.mix_lambda =
            mixup_lambda(cfg_.mixup_alpha, cfg_.seed, (uint64_t(epoch_) << 32) | uint64_t(batch));
        mix_pairs(slot.images.f32(), slot.labels.i32(), slot.partner_labels.i32(),
                  int64_t(slot.samples.size()), per, begin - batch * cfg_.batch_size,
                  slot.mix_lambda);
    }
}

void Loader::worker_loop() {
    for (;;) {
        int64_t b;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] {
                return stopping_ || next_to_fill_ >= n_batches_ ||
                       next_to_fill_ < released_ + int64_t(slots_.size());
            });
            if (stopping_ || next_to_fill_ >= n_batches_) return;
            b = next_to_fill_++;
        }
        Slot& slot = slots_[size_t(b) % slots_.size()];
        fill(slot, b);
        {
            std::lock_guard<std::mutex> lock(mu_);
            slot.batch = b;
            slot.ready = true;
        }
        cv_.notify_all();
    }
}

bool Loader::next(Batch& out) {
    for (;;) {
        Slot* slot;
        // A device copy out of the slot handed out by the previous call may
        // still be queued: wait for it outside the lock (only this thread
        // moves released_ and next_to_consume_, and no worker refills the slot
        // before released_ moves).
        if (released_ < next_to_consume_) slots_[size_t(released_) % slots_.size()].read.wait();
        {
            std::unique_lock<std::mutex> lock(mu_);
            if (released_ < next_to_consume_) {  // return the slot handed out by the previous call
                slots_[size_t(released_) % slots_.size()].ready = false;
                released_ = next_to_consume_;
            }
            cv_.notify_all();
            if (next_to_consume_ >= n_batches_) return false;
            const int64_t b = next_to_consume_;
            slot = &slots_[size_t(b) % slots_.size()];
            if (cfg_.workers == 0) {
                lock.unlock();
                fill(*slot, b);
                lock.lock();
                slot->batch = b;
                slot->ready = true;
            }
            cv_.wait(lock, [&] { return slot->ready && slot->batch == b; });
            ++next_to_consume_;
        }
        if (!slot->error.empty()) throw IoError("bad input file (--strict): " + slot->error);
        // Every file of this batch was bad (or, sharded, the share is empty):
        // one process moves on; ranks hand it out so that all stay in step.
        if (slot->samples.empty() && cfg_.shard_count == 1) continue;
        const int64_t n = int64_t(slot->samples.size());
        out.images = slot->images.narrow0(0, n);
        out.labels = slot->labels.narrow0(0, n);
        out.partner_labels = cfg_.mixup_alpha > 0 ? slot->partner_labels.narrow0(0, n) : Tensor();
        out.mix_lambda = cfg_.mixup_alpha > 0 ? slot->mix_lambda : 1.0f;
        out.samples = slot->samples;
        out.index = next_to_consume_ - 1;
        out.offset = dist::batch_share(int64_t(order_.size()), cfg_.batch_size, out.index,
                                       cfg_.shard_rank, cfg_.shard_count)
                         .begin -
                     out.index * cfg_.batch_size;
        out.buffers_read = &slot->read;
        return true;
    }
}

}  // namespace effnet
