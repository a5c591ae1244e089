// effnet_train's command line beyond the reference recipe: --preset sets
// what it says and no more, a flag on the command line wins over the preset,
// and the evaluation flags parse into the run's configuration.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "train/train_command.h"

using namespace effnet;

namespace {
TrainCommand parse(std::vector<std::string> args) {
    args.insert(args.begin(), "effnet_train");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    TrainCommand cmd;
    EXPECT_TRUE(parse_train_command(int(argv.size()), argv.data(), cmd));
    return cmd;
}
}  // namespace

TEST(Presets, ReferenceIsTodaysDefaultsExactly) {
    const TrainConfig none = parse({"--data", "x"}).config,
                      ref = parse({"--data", "x", "--preset", "reference"}).config;
    for (const TrainConfig* c : {&none, &ref}) {
        EXPECT_EQ(c->adamw.lr, 1e-5);
        EXPECT_EQ(c->adamw.weight_decay, 1e-3);
        EXPECT_EQ(c->epochs, 50);
        EXPECT_EQ(c->ema_decay, 0);
        EXPECT_EQ(c->schedule, LrSchedule::PLATEAU);
        EXPECT_EQ(c->warmup_epochs, 0);
        EXPECT_EQ(c->label_smoothing, 0);
        EXPECT_EQ(c->tta, 1);
        EXPECT_FALSE(c->calibrate);
        EXPECT_EQ(c->plateau.patience, 2);
        EXPECT_EQ(c->early.patience, 4);
        EXPECT_EQ(c->model.image_size, 224);
        EXPECT_TRUE(c->augment.enabled);
        EXPECT_EQ(c->augment.scale_min, 0.85);
        EXPECT_EQ(c->augment.rotate_deg, 10);
        EXPECT_EQ(c->augment.brightness, 0.1);
        EXPECT_EQ(c->augment.contrast, 0.1);
        EXPECT_EQ(c->auroc_interval, AurocInterval::DELONG);
    }
    EXPECT_EQ(ref.preset, "reference");
}

TEST(Presets, ScratchSetsItsValuesAndFlagsWin) {
    const ScratchPreset s = scratch_preset();
    const TrainConfig c = parse({"--data", "x", "--preset", "scratch"}).config;
    EXPECT_EQ(c.preset, "scratch");
    EXPECT_EQ(c.adamw.lr, 1e-3);
    EXPECT_EQ(c.adamw.lr, s.lr);
    EXPECT_EQ(c.ema_decay, s.ema_decay);
    EXPECT_EQ(c.schedule, s.schedule);
    EXPECT_EQ(c.warmup_epochs, s.schedule == LrSchedule::COSINE ? s.warmup_epochs : 0);
    EXPECT_EQ(c.label_smoothing, s.label_smoothing);
    EXPECT_EQ(c.epochs, s.epochs);
    EXPECT_EQ(c.epochs, 40);
    EXPECT_EQ(c.augment.scale_min, s.crop_scale);
    EXPECT_EQ(c.augment.rotate_deg, s.rotate_deg);
    EXPECT_EQ(c.augment.brightness, s.brightness);
    EXPECT_EQ(c.augment.contrast, s.contrast);
    EXPECT_TRUE(c.augment.enabled);
    EXPECT_FALSE(c.augment.hflip);
    // What the preset does not name stays the reference's.
    EXPECT_EQ(c.adamw.weight_decay, 1e-3);
    EXPECT_EQ(c.batch, 32);
    EXPECT_EQ(c.model.image_size, 224);
    EXPECT_EQ(c.early.patience, 4);
    // Flags on the command line keep their values, whatever the preset says.
    const TrainConfig o = parse({"--data",
                                 "x",
                                 "--preset",
                                 "scratch",
                                 "--lr",
                                 "3e-4",
                                 "--ema",
                                 "0.9",
                                 "--epochs",
                                 "7",
                                 "--label-smoothing",
                                 "0.05",
                                 "--schedule",
                                 "plateau",
                                 "--crop-scale",
                                 "0.85",
                                 "--rotate",
                                 "10",
                                 "--brightness",
                                 "0.1",
                                 "--contrast",
                                 "0.1"})
                              .config;
    EXPECT_EQ(o.augment.scale_min, 0.85);
    EXPECT_EQ(o.augment.rotate_deg, 10);
    EXPECT_EQ(o.augment.brightness, 0.1);
    EXPECT_EQ(o.augment.contrast, 0.1);
    EXPECT_EQ(o.adamw.lr, 3e-4);
    EXPECT_EQ(o.ema_decay, 0.9);
    EXPECT_EQ(o.epochs, 7);
    EXPECT_EQ(o.label_smoothing, 0.05);
    EXPECT_EQ(o.schedule, LrSchedule::PLATEAU);
    EXPECT_EQ(o.warmup_epochs, 0);
}

TEST(TrainCommand, RecipeAndEvaluationFlags) {
    const TrainConfig c = parse({"--data",
                                 "x",
                                 "--ema",
                                 "0.998",
                                 "--schedule",
                                 "cosine",
                                 "--warmup-epochs",
                                 "2",
                                 "--label-smoothing",
                                 "0.1",
                                 "--tta",
                                 "4",
                                 "--calibrate",
                                 "temperature",
                                 "--operating-point",
                                 "sens=0.90",
                                 "--operating-point=spec=0.95,threshold=0.3",
                                 "--auroc-ci",
                                 "bootstrap",
                                 "--mixup",
                                 "0.2"})
                              .config;
    EXPECT_EQ(c.mixup_alpha, 0.2);
    EXPECT_EQ(parse({"--data", "x", "--preset", "scratch"}).config.mixup_alpha, 0);
    EXPECT_EQ(c.ema_decay, 0.998);
    EXPECT_EQ(c.schedule, LrSchedule::COSINE);
    EXPECT_EQ(c.warmup_epochs, 2);
    EXPECT_EQ(c.label_smoothing, 0.1);
    EXPECT_EQ(c.tta, 4);
    EXPECT_TRUE(c.calibrate);
    ASSERT_EQ(c.operating_points.size(), 3u);
    EXPECT_EQ(c.operating_points[0].rule, OperatingRule::SENSITIVITY);
    EXPECT_EQ(c.operating_points[0].target, 0.90);
    EXPECT_EQ(c.operating_points[1].rule, OperatingRule::SPECIFICITY);
    EXPECT_EQ(c.operating_points[2].rule, OperatingRule::FIXED);
    EXPECT_EQ(c.operating_points[2].target, 0.3);
    EXPECT_EQ(c.auroc_interval, AurocInterval::BOOTSTRAP);
}

TEST(TrainCommand, AugmentationStrengthFlags) {
    const TrainConfig d = parse({"--data", "x"}).config;
    EXPECT_EQ(d.augment.scale_min, 0.85);
    EXPECT_EQ(d.augment.brightness, 0.1);
    EXPECT_EQ(d.augment.contrast, 0.1);
    const TrainConfig c = parse({"--data", "x", "--crop-scale", "0.6", "--brightness", "0.2",
                                 "--contrast", "0.25", "--rotate", "15"})
                              .config;
    EXPECT_EQ(c.augment.scale_min, 0.6);
    EXPECT_EQ(c.augment.scale_max, 1.0);
    EXPECT_EQ(c.augment.brightness, 0.2);
    EXPECT_EQ(c.augment.contrast, 0.25);
    EXPECT_EQ(c.augment.rotate_deg, 15);
    const TrainConfig z =
        parse({"--data", "x", "--preset", "scratch", "--crop-scale-max", "1.4"}).config;
    EXPECT_EQ(z.augment.scale_min, scratch_preset().crop_scale);
    EXPECT_EQ(z.augment.scale_max, 1.4);
}
