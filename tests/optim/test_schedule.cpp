#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "optim/schedule.h"
#include "tensor/error.h"

using namespace effnet;

// Sequences worked through by hand against PyTorch's ReduceLROnPlateau rules.
TEST(ReduceLROnPlateau, ReferenceRecipePatienceTwo) {
    ReduceLROnPlateau s(PlateauConfig{});  // min, factor 0.1, patience 2
    const std::vector<double> losses = {1.0, 0.9, 0.95, 0.91, 0.92, 0.85, 0.86, 0.87, 0.88};
    // bad epochs:                       0    0    1     2     3->cut 0    1     2     3->cut
    const std::vector<double> want = {1e-5, 1e-5, 1e-5, 1e-5, 1e-6, 1e-6, 1e-6, 1e-6, 1e-7};
    double lr = 1e-5;
    for (size_t i = 0; i < losses.size(); ++i) {
        lr = s.step(losses[i], lr);
        EXPECT_NEAR(lr, want[i], 1e-15) << "after epoch " << i;
    }
}

TEST(ReduceLROnPlateau, RelativeThresholdIgnoresTinyImprovements) {
    PlateauConfig c;
    c.patience = 0;
    ReduceLROnPlateau s(c);
    double lr = 1.0;
    lr = s.step(1.0, lr);
    lr = s.step(0.99995, lr);  // better by 5e-5 < 1e-4 relative: not an improvement
    EXPECT_DOUBLE_EQ(lr, 0.1);
    EXPECT_TRUE(s.reduced_last_step());
}

TEST(ReduceLROnPlateau, CooldownMinLrAndMaxMode) {
    PlateauConfig c;
    c.mode = MetricMode::MAX;
    c.patience = 0;
    c.cooldown = 1;
    c.min_lr = 0.05;
    ReduceLROnPlateau s(c);
    double lr = 1.0;
    lr = s.step(0.5, lr);  // best 0.5
    lr = s.step(0.4, lr);  // bad 1 > 0: cut to 0.1, cooldown 1
    EXPECT_DOUBLE_EQ(lr, 0.1);
    lr = s.step(0.3, lr);  // bad, but cooldown resets the count
    EXPECT_DOUBLE_EQ(lr, 0.1);
    lr = s.step(0.3, lr);  // bad again: cut, floored at min_lr
    EXPECT_DOUBLE_EQ(lr, 0.05);
    lr = s.step(0.2, lr);
    lr = s.step(0.2, lr);
    EXPECT_DOUBLE_EQ(lr, 0.05);  // never below min_lr
    EXPECT_FALSE(s.reduced_last_step());
}

TEST(ReduceLROnPlateau, StateRoundTrip) {
    ReduceLROnPlateau a, b;
    double lr = 1.0;
    lr = a.step(1.0, lr);
    lr = a.step(1.1, lr);
    std::map<std::string, std::string> meta;
    a.save(meta, "plateau.");
    b.load(meta, "plateau.");
    EXPECT_DOUBLE_EQ(a.step(1.2, lr), b.step(1.2, lr));  // both cut now
}

TEST(SchedulerState, FreshStateRoundTripsAndDamagedStateIsRefused) {
    // Before the first epoch: best is infinite, no best epoch yet.
    EarlyStopping fresh(EarlyStoppingConfig{}), back(EarlyStoppingConfig{});
    std::map<std::string, std::string> meta;
    fresh.save(meta, "early.");
    ReduceLROnPlateau plateau;
    plateau.save(meta, "plateau.");
    ASSERT_NO_THROW(back.load(meta, "early."));
    EXPECT_EQ(back.best_epoch(), -1);
    for (auto [key, value] :
         std::vector<std::pair<std::string, std::string>>{{"early.best_epoch", "x"},
                                                          {"early.wait", "-1"},
                                                          {"early.best", "nan"},
                                                          {"early.best", "0.5abc"},
                                                          {"plateau.bad_epochs", "1e3"},
                                                          {"plateau.cooldown_left", ""},
                                                          {"plateau.best", "1e999"}}) {
        auto bad = meta;
        bad[key] = value;
        EarlyStopping e(EarlyStoppingConfig{});
        ReduceLROnPlateau p;
        try {
            e.load(bad, "early.");
            p.load(bad, "plateau.");
            ADD_FAILURE() << key << "='" << value << "' accepted";
        } catch (const IoError& err) {
            EXPECT_NE(std::string(err.what()).find("'" + key + "'"), std::string::npos)
                << err.what();
        }
    }
}

TEST(EarlyStopping, StopsAfterPatienceAndRemembersBestEpoch) {
    EarlyStopping e(EarlyStoppingConfig{});  // patience 4
    const std::vector<double> losses = {0.9, 0.8, 0.85, 0.81, 0.8, 0.79, 0.83, 0.84, 0.80, 0.795};
    int stopped_at = -1;
    for (int i = 0; i < int(losses.size()); ++i)
        if (e.step(losses[i], i)) {
            stopped_at = i;
            break;
        }
    EXPECT_EQ(e.best_epoch(), 5);
    EXPECT_EQ(stopped_at, 9);  // epochs 6, 7, 8, 9 without improvement
}

TEST(EarlyStopping, MinDeltaAndMaxMode) {
    EarlyStoppingConfig c;
    c.mode = MetricMode::MAX;
    c.patience = 2;
    c.min_delta = 0.01;
    EarlyStopping e(c);
    EXPECT_FALSE(e.step(0.70, 0));
    EXPECT_FALSE(e.step(0.705, 1));  // +0.005 < min_delta
    EXPECT_TRUE(e.step(0.709, 2));
    EXPECT_EQ(e.best_epoch(), 0);
}

// Cosine with linear warm-up (optim/schedule.h), values worked by hand:
// base 1e-3, min 1e-5, 2 warm-up steps of 10.
TEST(CosineSchedule, WarmupThenHalfCosineToTheFloor) {
    const CosineConfig c{1e-3, 1e-5, 2, 10};
    EXPECT_DOUBLE_EQ(cosine_lr(c, 0), 0.5e-3);  // (0 + 1) / 2 of the base
    EXPECT_DOUBLE_EQ(cosine_lr(c, 1), 1e-3);
    EXPECT_DOUBLE_EQ(cosine_lr(c, 2), 1e-3);  // the cosine's start: cos(0) = 1
    // Half-way through the 8 cosine steps: (1 + cos(pi/2)) / 2 = 1/2.
    EXPECT_NEAR(cosine_lr(c, 6), 1e-5 + (1e-3 - 1e-5) * 0.5, 1e-18);
    // One step before the end: (1 + cos(7 pi / 8)) / 2.
    EXPECT_NEAR(cosine_lr(c, 9), 1e-5 + (1e-3 - 1e-5) * (1 + std::cos(7 * M_PI / 8)) / 2, 1e-18);
    EXPECT_DOUBLE_EQ(cosine_lr(c, 10), 1e-5);
    EXPECT_DOUBLE_EQ(cosine_lr(c, 1000), 1e-5);  // past the end: the floor
    for (int64_t t = 2; t < 10; ++t)
        EXPECT_GT(cosine_lr(c, t), cosine_lr(c, t + 1)) << "not decreasing at " << t;
}

TEST(CosineSchedule, NoWarmupStartsAtTheBaseAndBadConfigsAreRefused) {
    const CosineConfig c{2e-3, 0, 0, 4};
    EXPECT_DOUBLE_EQ(cosine_lr(c, 0), 2e-3);
    EXPECT_NEAR(cosine_lr(c, 2), 1e-3, 1e-18);
    EXPECT_THROW(cosine_lr(CosineConfig{1e-3, 0, 5, 5}, 0),
                 ContractError);  // warm-up fills the run
    EXPECT_THROW(cosine_lr(CosineConfig{1e-3, 2e-3, 0, 5}, 0),
                 ContractError);  // floor above the base
    EXPECT_THROW(cosine_lr(CosineConfig{1e-3, 0, 0, 5}, -1), ContractError);
}
