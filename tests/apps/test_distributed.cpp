// effnet_train under mpirun -np 2 (docs/distributed.md): against a 1-process
// run with the same seed and global batch, resumed with another rank count,
// and with a rank that dies. Skipped with the reason without MPI or mpirun.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/mpirun.h"
#include "io/safetensors.h"
#include "run_app.h"

using namespace effnet;
using namespace effnet::test;
namespace fs = std::filesystem;

namespace {

// 32 phantoms of 64 px in global batches of 8: 4 steps an epoch. One compute
// thread per process, so that two ranks share the two cores of CI.
const std::string kRun =
    " --phantoms 32 --image-size 64 --batch-size 8 --epochs 1 --workers 1 --bootstrap 20"
    " --threads 1";
constexpr double kLr = 1e-3;  // the phantom preset's

fs::path fresh(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("effnet_dist_" + name);
    fs::remove_all(d);
    return d;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// Column `col` of history.csv's row `row` (1-based, after the header).
double history_value(const fs::path& dir, int row, int col) {
    std::istringstream is(slurp(dir / "history.csv"));
    std::string line;
    for (int r = 0; r <= row; ++r) std::getline(is, line);
    std::istringstream cells(line);
    std::string cell;
    for (int c = 0; c <= col; ++c) std::getline(cells, cell, ',');
    return std::stod(cell);
}

struct WeightDistance {
    double max = 0;
    double apart_share = 0;  // share of the values further apart than 1e-5
};

// The model tensors (not the optimizer state) of two checkpoints.
WeightDistance weight_distance(const fs::path& a, const fs::path& b) {
    const SafetensorsFile fa = read_safetensors(a.string()), fb = read_safetensors(b.string());
    WeightDistance d;
    size_t n = 0, apart = 0;
    for (const auto& ta : fa.tensors) {
        if (ta.dtype != DType::FLOAT32 || ta.name.rfind("optimizer.", 0) == 0) continue;
        const auto* tb = fb.find(ta.name);
        EXPECT_TRUE(tb) << ta.name;
        if (!tb) continue;
        std::vector<float> x(ta.bytes.size() / 4), y(tb->bytes.size() / 4);
        std::memcpy(x.data(), ta.bytes.data(), ta.bytes.size());
        std::memcpy(y.data(), tb->bytes.data(), tb->bytes.size());
        for (size_t i = 0; i < x.size(); ++i) {
            const double e = std::abs(double(x[i]) - double(y[i]));
            d.max = std::max(d.max, e);
            apart += e > 1e-5;
        }
        n += x.size();
    }
    d.apart_share = n ? double(apart) / double(n) : 1;
    return d;
}

// The tolerance of a data-parallel run against one process after `steps`
// AdamW steps (docs/distributed.md): the ranks add the batch in another order
// than one process, so gradients agree to float rounding; AdamW moves each
// weight by about lr per step whatever the gradient's size, so an element
// whose gradient is rounding noise around zero may move the other way. Every
// weight stays within 2 lr per step, and nearly all agree to 1e-5.
void expect_within_reduction_tolerance(const WeightDistance& d, int steps) {
    EXPECT_LE(d.max, 2 * kLr * steps);
    EXPECT_LT(d.apart_share, 0.05);
}

// The reference: one process, the whole global batch.
const fs::path& one_process_run() {
    static const fs::path out = [] {
        fs::path d = fresh("one_process");
        AppResult r = run_app(bin("effnet_train") + kRun + " --out " + d.string());
        EXPECT_EQ(r.status, 0) << r.output;
        return d;
    }();
    return out;
}

}  // namespace

TEST(Distributed, HelpSaysHowToRunSeveralProcesses) {
    AppResult r = run_app(bin("effnet_train") + " --help");
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.output.find(kWithMpi ? "mpirun -np N effnet_train" : "training is single-process"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("--sync-bn"), std::string::npos);
}

TEST(Distributed, TwoRanksWithSyncBnMatchOneProcessAndOnlyRankZeroWrites) {
    SKIP_WITHOUT_MPIRUN();
    const fs::path one = one_process_run(), two = fresh("two_ranks");
    AppResult r = run_app(mpirun(2) + bin("effnet_train") + kRun +
                          " --sync-bn --check-replicas 2 --out " + two.string());
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("data parallel: MPI"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("global batch 8 = 2 x 4"), std::string::npos) << r.output;
    // One log: rank 1 printed and wrote nothing.
    EXPECT_EQ(count_of(r.output, "epoch 1/1  train loss"), 1u) << r.output;
    EXPECT_EQ(count_of(slurp(two / "train.log"), "model: EfficientNet-B0"), 1u);
    for (const char* f : {"best.safetensors", "last.safetensors", "history.csv", "curves.png",
                          "report.txt", "metrics.json"})
        EXPECT_TRUE(fs::exists(two / f)) << f;
    // The report covers every test image (gathered from both ranks).
    EXPECT_NE(slurp(two / "report.txt").find("test split (8 images)"), std::string::npos);
    // Loss curves and weights within the float-reduction tolerance of one process.
    for (int col : {1, 3}) {  // train_loss, val_loss
        const double a = history_value(one, 1, col), b = history_value(two, 1, col);
        EXPECT_NEAR(b, a, 1e-3 * std::abs(a)) << "history column " << col;
    }
    expect_within_reduction_tolerance(
        weight_distance(one / "last.safetensors", two / "last.safetensors"), 4);
}

// The number after `label` in report.txt (NAN when absent).
double report_number(const fs::path& dir, const std::string& label) {
    const std::string text = slurp(dir / "report.txt");
    const size_t at = text.find(label);
    return at == std::string::npos ? NAN : std::stod(text.substr(at + label.size()));
}

// The final evaluation's gathered logits and tags feed the temperature fit,
// the test-time views and the weight average exactly as in one process.
TEST(Distributed, TwoRanksCalibrateAverageAndViewLikeOneProcess) {
    SKIP_WITHOUT_MPIRUN();
    const std::string flags = kRun + " --sync-bn --ema 0.5 --tta 2 --calibrate temperature --out ";
    const fs::path one = fresh("clinical_one"), two = fresh("clinical_two");
    AppResult a = run_app(bin("effnet_train") + flags + one.string());
    ASSERT_EQ(a.status, 0) << a.output;
    AppResult b = run_app(mpirun(2) + bin("effnet_train") + flags + two.string());
    ASSERT_EQ(b.status, 0) << b.output;
    EXPECT_NE(slurp(two / "report.txt").find("test split (8 images)"), std::string::npos);
    for (const char* label : {"temperature scaling: T = ", "NLL on val ", "AUROC "}) {
        const double x = report_number(one, label), y = report_number(two, label);
        ASSERT_TRUE(std::isfinite(x) && std::isfinite(y)) << label << "\n"
                                                          << slurp(two / "report.txt");
        EXPECT_NEAR(y, x, 1e-2 * std::abs(x)) << label;
    }
}

TEST(Distributed, ResumesOnOneRankFromATwoRankCheckpoint) {
    SKIP_WITHOUT_MPIRUN();
    const fs::path one = one_process_run(), out = fresh("resumed");
    AppResult first = run_app(mpirun(2) + bin("effnet_train") + kRun +
                              " --sync-bn --max-steps 2 --out " + out.string());
    ASSERT_EQ(first.status, 0) << first.output;
    ASSERT_NE(first.output.find("stopped after --max-steps at epoch 1, step 2"), std::string::npos)
        << first.output;
    AppResult second = run_app(bin("effnet_train") + kRun + " --resume " +
                               (out / "last.safetensors").string() + " --out " + out.string());
    ASSERT_EQ(second.status, 0) << second.output;
    EXPECT_NE(second.output.find("resumed"), std::string::npos) << second.output;
    expect_within_reduction_tolerance(
        weight_distance(one / "last.safetensors", out / "last.safetensors"), 4);
    const double a = history_value(one, 1, 1),
                 b = history_value(out, 1, 1);  // the epoch's train loss, over both runs
    EXPECT_NEAR(b, a, 1e-3 * std::abs(a));
}

TEST(Distributed, AGlobalBatchThatDoesNotSplitIsAUsageError) {
    SKIP_WITHOUT_MPIRUN();
    AppResult r = run_app(mpirun(2) + bin("effnet_train") + kRun + " --batch-size 7 --out " +
                          fresh("odd").string());
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("--batch-size 7 is the global batch: it must split evenly over the 2 "
                            "ranks (try 6 or 8)"),
              std::string::npos)
        << r.output;
}

TEST(Distributed, ARankThatDiesEndsTheJobWithAMessage) {
    SKIP_WITHOUT_MPIRUN();
    // Rank 1 kills itself after the backward of its second step; rank 0 waits in the gradient all-reduce.
    const fs::path out = fresh("dead_rank");
    const std::string args = kRun + " --out " + out.string();
    const auto t0 = std::chrono::steady_clock::now();
    AppResult r = run_app(mpirun(1, 120) + bin("effnet_train") + args +
                          " : -np 1 -x EFFNET_FAULT=train.step:2 " + bin("effnet_train") + args);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.status, 124) << "rank 0 hung until the timeout:\n" << r.output;
    EXPECT_LT(seconds, 90) << r.output;
    EXPECT_NE(r.output.find("rank 1"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out / "report.txt"));
}
