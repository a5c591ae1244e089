// Learning-rate plateau schedule and early stopping: host-only logic over the
// history of a validation metric, one call per epoch.
//
// ReduceLROnPlateau follows torch.optim.lr_scheduler.ReduceLROnPlateau:
//   better(a, best): mode MIN, threshold_mode REL:  a < best * (1 - threshold)
//                    mode MAX, REL:                 a > best * (1 + threshold)
//                    ABS: a < best - threshold / a > best + threshold
//   each step: better -> best = a, bad = 0; else bad += 1;
//              in cooldown -> cooldown -= 1, bad = 0;
//              bad > patience -> lr = max(lr * factor, min_lr) (if it changes by > eps),
//                                cooldown = cooldown_epochs, bad = 0.
// Cosine annealing with linear warm-up (--schedule cosine), per training
// step t = 0, 1, ... (the step about to be taken), stateless:
//   t < W:       lr = base * (t + 1) / W
//   W <= t < T:  lr = min + (base - min) * (1 + cos(pi * (t - W) / (T - W))) / 2
//   t >= T:      lr = min
// with W warm-up steps and T steps in all (timm's CosineLRScheduler, warm-up
// prefix, cycle limit 1, counted in steps rather than epochs).
// EarlyStopping (Keras semantics): improvement when the metric beats the best
// by more than min_delta; stops after `patience` epochs without one; remembers
// the best epoch so the trainer can restore its weights.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>

namespace effnet {

enum class MetricMode { MIN, MAX };
enum class ThresholdMode { REL, ABS };

struct PlateauConfig {
    MetricMode mode = MetricMode::MIN;
    double factor = 0.1;
    int patience = 2;
    double threshold = 1e-4;
    ThresholdMode threshold_mode = ThresholdMode::REL;
    int cooldown = 0;
    double min_lr = 0.0;
    double eps = 1e-8;
};

class ReduceLROnPlateau {
public:
    explicit ReduceLROnPlateau(const PlateauConfig& cfg = {});
    // Feeds one epoch's metric; returns the learning rate to use next.
    double step(double metric, double current_lr);
    bool reduced_last_step() const { return reduced_; }

    // State for checkpoints, as strings.
    void save(std::map<std::string, std::string>& meta, const std::string& prefix) const;
    void load(const std::map<std::string, std::string>& meta, const std::string& prefix);

private:
    bool better(double a) const;
    PlateauConfig cfg_;
    double best_;
    int bad_epochs_ = 0;
    int cooldown_left_ = 0;
    bool reduced_ = false;
};

struct CosineConfig {
    double base_lr = 1e-3, min_lr = 0;
    int64_t warmup_steps = 0, total_steps = 1;
};
// Throws ContractError unless 0 <= min_lr <= base_lr, 0 <= warmup_steps <
// total_steps and step >= 0.
double cosine_lr(const CosineConfig& c, int64_t step);

struct EarlyStoppingConfig {
    MetricMode mode = MetricMode::MIN;
    int patience = 4;
    double min_delta = 0.0;
};

class EarlyStopping {
public:
    explicit EarlyStopping(const EarlyStoppingConfig& cfg = {});
    // Feeds the metric of `epoch`; returns true when training should stop.
    bool step(double metric, int epoch);
    bool improved_last_step() const { return improved_; }
    int best_epoch() const { return best_epoch_; }
    double best() const { return best_; }

    void save(std::map<std::string, std::string>& meta, const std::string& prefix) const;
    void load(const std::map<std::string, std::string>& meta, const std::string& prefix);

private:
    EarlyStoppingConfig cfg_;
    double best_;
    int best_epoch_ = -1;
    int wait_ = 0;
    bool improved_ = false;
};

}  // namespace effnet
