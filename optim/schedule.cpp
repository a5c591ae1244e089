#include "optim/schedule.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tensor/error.h"
#include "tensor/parse_number.h"

namespace effnet {

namespace {
std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}
const std::string& get(const std::map<std::string, std::string>& m, const std::string& key) {
    auto it = m.find(key);
    if (it == m.end()) throw IoError("checkpoint metadata lacks '" + key + "'");
    return it->second;
}
double get_double(const std::map<std::string, std::string>& m, const std::string& key) {
    double v = 0;
    if (!parse_double(get(m, key), v) || std::isnan(v))
        throw IoError("checkpoint metadata '" + key + "' is '" + get(m, key) + "', not a number");
    return v;
}
// An epoch count, or an epoch number (-1: none yet).
int get_count(const std::map<std::string, std::string>& m, const std::string& key, int64_t lo = 0) {
    int64_t v = 0;
    if (!parse_int64(get(m, key), v) || v < lo || v > 1000000)
        throw IoError("checkpoint metadata '" + key + "' is '" + get(m, key) +
                      "', not a count of epochs");
    return int(v);
}
double worst(MetricMode mode) {
    return mode == MetricMode::MIN ? std::numeric_limits<double>::infinity()
                                   : -std::numeric_limits<double>::infinity();
}
}  // namespace

ReduceLROnPlateau::ReduceLROnPlateau(const PlateauConfig& cfg) : cfg_(cfg), best_(worst(cfg.mode)) {
    EFFNET_CHECK(cfg.factor < 1.0 && cfg.factor > 0.0,
                 "plateau factor " << cfg.factor << " must be in (0, 1)");
    EFFNET_CHECK(cfg.patience >= 0, "plateau patience must be >= 0");
}

bool ReduceLROnPlateau::better(double a) const {
    if (cfg_.mode == MetricMode::MIN)
        return cfg_.threshold_mode == ThresholdMode::REL ? a < best_ * (1.0 - cfg_.threshold)
                                                         : a < best_ - cfg_.threshold;
    return cfg_.threshold_mode == ThresholdMode::REL ? a > best_ * (1.0 + cfg_.threshold)
                                                     : a > best_ + cfg_.threshold;
}

double ReduceLROnPlateau::step(double metric, double lr) {
    reduced_ = false;
    if (better(metric)) {
        best_ = metric;
        bad_epochs_ = 0;
    } else {
        ++bad_epochs_;
    }
    if (cooldown_left_ > 0) {
        --cooldown_left_;
        bad_epochs_ = 0;
    }
    if (bad_epochs_ > cfg_.patience) {
        const double next = std::max(lr * cfg_.factor, cfg_.min_lr);
        if (lr - next > cfg_.eps) {
            lr = next;
            reduced_ = true;
        }
        cooldown_left_ = cfg_.cooldown;
        bad_epochs_ = 0;
    }
    return lr;
}

void ReduceLROnPlateau::save(std::map<std::string, std::string>& meta, const std::string& p) const {
    meta[p + "best"] = fmt(best_);
    meta[p + "bad_epochs"] = std::to_string(bad_epochs_);
    meta[p + "cooldown_left"] = std::to_string(cooldown_left_);
}

void ReduceLROnPlateau::load(const std::map<std::string, std::string>& meta, const std::string& p) {
    best_ = get_double(meta, p + "best");
    bad_epochs_ = get_count(meta, p + "bad_epochs");
    cooldown_left_ = get_count(meta, p + "cooldown_left");
}

EarlyStopping::EarlyStopping(const EarlyStoppingConfig& cfg) : cfg_(cfg), best_(worst(cfg.mode)) {
    EFFNET_CHECK(cfg.patience >= 1, "early-stopping patience must be >= 1");
}

bool EarlyStopping::step(double metric, int epoch) {
    improved_ = cfg_.mode == MetricMode::MIN ? metric < best_ - cfg_.min_delta
                                             : metric > best_ + cfg_.min_delta;
    if (improved_) {
        best_ = metric;
        best_epoch_ = epoch;
        wait_ = 0;
        return false;
    }
    ++wait_;
    return wait_ >= cfg_.patience;
}

void EarlyStopping::save(std::map<std::string, std::string>& meta, const std::string& p) const {
    meta[p + "best"] = fmt(best_);
    meta[p + "best_epoch"] = std::to_string(best_epoch_);
    meta[p + "wait"] = std::to_string(wait_);
}

void EarlyStopping::load(const std::map<std::string, std::string>& meta, const std::string& p) {
    best_ = get_double(meta, p + "best");
    best_epoch_ = get_count(meta, p + "best_epoch", -1);
    wait_ = get_count(meta, p + "wait");
}

double cosine_lr(const CosineConfig& c, int64_t step) {
    EFFNET_CHECK(c.min_lr >= 0 && c.min_lr <= c.base_lr,
                 "cosine schedule: min lr " << c.min_lr << " outside [0, " << c.base_lr << "]");
    EFFNET_CHECK(c.warmup_steps >= 0 && c.warmup_steps < c.total_steps,
                 "cosine schedule: " << c.warmup_steps << " warm-up steps of " << c.total_steps);
    EFFNET_CHECK(step >= 0, "cosine schedule: step " << step);
    if (step < c.warmup_steps) return c.base_lr * double(step + 1) / double(c.warmup_steps);
    if (step >= c.total_steps) return c.min_lr;
    const double pi = 3.14159265358979323846;
    const double progress = double(step - c.warmup_steps) / double(c.total_steps - c.warmup_steps);
    return c.min_lr + (c.base_lr - c.min_lr) * (1 + std::cos(pi * progress)) / 2;
}

}  // namespace effnet
