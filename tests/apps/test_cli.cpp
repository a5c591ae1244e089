#include <gtest/gtest.h>

#include "train/trainer.h"
#include "run_app.h"

using namespace effnet::test;

TEST(Cli, UnknownFlagIsAUsageError) {
    AppResult r = run_app(bin("effnet_train") + " --no-such-flag");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("unknown option --no-such-flag"), std::string::npos) << r.output;
}

TEST(Cli, BadValuesAreUsageErrors) {
    for (const char* args : {"--lr abc",
                             "--epochs 0",
                             "--batch-size",
                             "--device tpu",
                             "--channels 2",
                             "--loss bce --classes 2",
                             "--norm-std 0,1,2",
                             "--norm-mean a,b",
                             "--max-image-side 8",
                             "--cache-mb -1",
                             "--kernels stem=fast",
                             "--lr nan",
                             "--weight-decay inf",
                             "--val-fraction 2",
                             "--val-fraction 0.5 --test-fraction 0.5",
                             "--dropout 1.5",
                             "--phantoms 0",
                             "--clahe-tiles 0",
                             "--workers 100000",
                             "--bootstrap -1",
                             "--plateau-factor 1",
                             "--early-stopping-patience 0",
                             "--classes 1000000",
                             "--ema 1",
                             "--ema -0.5",
                             "--label-smoothing 1",
                             "--mixup 1.5",
                             "--mixup -0.1",
                             "--tta 0",
                             "--tta 9",
                             "--warmup-epochs 2",
                             "--schedule cosine --warmup-epochs 60",
                             "--schedule step",
                             "--operating-point sens=2",
                             "--operating-point maybe",
                             "--preset fast",
                             "--calibrate temperature --classes 3",
                             "--auroc-ci wald",
                             "--crop-scale 0",
                             "--crop-scale 1.5",
                             "--crop-scale 0.8 --crop-scale-max 0.7",
                             "--crop-scale-max 5",
                             "--brightness -0.1",
                             "--contrast 1"}) {
        AppResult r = run_app(bin("effnet_train") + " " + args);
        EXPECT_EQ(r.status, 2) << args << ": " << r.output;
        EXPECT_NE(r.output.find("effnet_train:"), std::string::npos) << r.output;
    }
}

TEST(Cli, HelpListsEveryDefault) {
    AppResult r = run_app(bin("effnet_train") + " --help");
    EXPECT_EQ(r.status, 0);
    for (const char* s :
         {"--lr V", "[default: 1e-05]", "--weight-decay V", "[default: 0.001]", "--batch-size V",
          "[default: 32]", "--plateau-patience V", "[default: 2]", "--early-stopping-patience V",
          "[default: 4]", "--epochs V", "[default: 50]", "--image-size V", "[default: 224]"})
        EXPECT_NE(r.output.find(s), std::string::npos) << s;
}

TEST(Cli, PrintModelCountsParameters) {
    AppResult two = run_app(bin("effnet_train") + " --print-model");
    EXPECT_EQ(two.status, 0);
    EXPECT_NE(two.output.find("total parameters: 4,010,110"), std::string::npos) << two.output;
    EXPECT_NE(two.output.find("blocks.6.0"), std::string::npos);
    AppResult k = run_app(bin("effnet_train") + " --print-model --classes 1000");
    EXPECT_NE(k.output.find("total parameters: 5,288,548"), std::string::npos) << k.output;
}

TEST(Cli, MissingDataIsAClearError) {
    AppResult r =
        run_app(bin("effnet_train") + " --data /no/such/folder --out /tmp/effnet_cli_missing");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("/no/such/folder: no such file or folder"), std::string::npos)
        << r.output;
}

TEST(Cli, EvalAndPredictRequireWeights) {
    EXPECT_EQ(run_app(bin("effnet_eval") + " --data x").status, 2);
    EXPECT_EQ(run_app(bin("effnet_predict") + " some.png").status, 2);
    AppResult r = run_app(bin("effnet_predict") + " --weights /no/weights.safetensors x.png");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("/no/weights.safetensors: cannot open"), std::string::npos) << r.output;
}

// After a device out-of-memory error the trainer suggests a smaller batch,
// scaled by how far the step overshot 90% of the device.
TEST(OutOfMemoryAdvice, SuggestsABatchThatScalesWithTheOvershoot) {
    const size_t gib = size_t(1) << 30;
    EXPECT_EQ(effnet::suggest_batch_size(64, 70 * gib, 10 * gib, 80 * gib), 57);  // 64 * 72 / 80
    EXPECT_EQ(effnet::suggest_batch_size(256, 150 * gib, 10 * gib, 80 * gib), 115);
    EXPECT_EQ(effnet::suggest_batch_size(32, 1 * gib, 0, 80 * gib),
              31);  // always below the failing batch
    EXPECT_EQ(effnet::suggest_batch_size(4, 800 * gib, 0, 80 * gib), 1);  // never below 1
}
