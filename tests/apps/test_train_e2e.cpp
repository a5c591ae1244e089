#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "data/image.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "run_app.h"
#include "train/model_spec.h"

using namespace effnet;
using namespace effnet::test;
namespace fs = std::filesystem;

namespace {
// A tiny, fast configuration: 48 phantoms of 32x32, batches of 8.
const std::string kTiny =
    " --phantoms 48 --image-size 32 --batch-size 8 --workers 1 --bootstrap 50 --threads 2";

fs::path fresh(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("effnet_e2e_" + name);
    fs::remove_all(d);
    return d;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// All model tensors of a checkpoint (not its metadata, which holds timings).
std::vector<std::pair<std::string, std::vector<uint8_t>>> tensors_of(const fs::path& p) {
    std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
    for (auto& t : read_safetensors(p.string()).tensors) out.emplace_back(t.name, t.bytes);
    return out;
}
}  // namespace

TEST(TrainEndToEnd, WritesEveryOutputWithSaneContents) {
    fs::path out = fresh("outputs");
    AppResult r = run_app(bin("effnet_train") + kTiny + " --epochs 2 --out " + out.string());
    ASSERT_EQ(r.status, 0) << r.output;
    for (const char* f : {"best.safetensors", "last.safetensors", "history.csv", "curves.png",
                          "report.txt", "metrics.json", "reliability.png", "train.log"})
        EXPECT_TRUE(fs::exists(out / f)) << f;
    // history: a header and one row per epoch
    std::string hist = slurp(out / "history.csv");
    EXPECT_EQ(hist.rfind("epoch,train_loss,train_acc,val_loss,val_acc,val_auroc,lr,seconds\n", 0),
              0u);
    EXPECT_EQ(std::count(hist.begin(), hist.end(), '\n'), 3);
    // report: the scikit-learn layout, confusion matrix and AUROC
    std::string rep = slurp(out / "report.txt");
    EXPECT_NE(rep.find("              precision    recall  f1-score   support"), std::string::npos)
        << rep;
    EXPECT_NE(rep.find("weighted avg"), std::string::npos);
    EXPECT_NE(rep.find("confusion matrix"), std::string::npos);
    EXPECT_NE(rep.find("AUROC"), std::string::npos);
    EXPECT_NE(rep.find("sensitivity"), std::string::npos);
    for (const char* section :
         {"DeLong", "calibration (15 bins)", "operating points (thresholds chosen on val"})
        EXPECT_NE(rep.find(section), std::string::npos) << section << "\n" << rep;
    // metrics.json parses and holds the test split's support
    json::Value m = json::parse(slurp(out / "metrics.json"));
    EXPECT_EQ(m.find("split")->text, "test");
    EXPECT_EQ(m.find("argmax")->find("n")->number, 12);
    EXPECT_EQ(m.find("weights")->text, "trained");
    EXPECT_TRUE(m.find("calibration")->find("before_temperature")->find("ece"));
    // The decision threshold chosen on val is stored with the best weights.
    EXPECT_EQ(
        read_safetensors((out / "best.safetensors").string()).metadata.at("effnet.threshold_rule"),
        "youden on val");
    EXPECT_EQ(decode_image((out / "reliability.png").string()).width > 0, true);
    // curves.png is a real image
    GreyImage curves = decode_image((out / "curves.png").string());
    EXPECT_EQ(curves.width, 1000);
    // checkpoints carry the model spec and the training state, and PyTorch-style names
    SafetensorsFile best = read_safetensors((out / "best.safetensors").string());
    EXPECT_EQ(best.metadata.at("effnet.arch"), "efficientnet_b0");
    EXPECT_TRUE(best.find("blocks.1.0.conv_dw.weight"));
    EXPECT_TRUE(best.find("optimizer.exp_avg"));
    // effnet_eval and effnet_predict read the checkpoint back
    fs::path ph = fresh("predict_images");
    ASSERT_EQ(run_app(bin("effnet_phantoms") + " --count 4 --size 32 --out " + ph.string()).status,
              0);
    AppResult ev =
        run_app(bin("effnet_eval") + " --weights " + (out / "best.safetensors").string() +
                " --data " + ph.string() + " --split train --bootstrap 20");
    EXPECT_EQ(ev.status, 0) << ev.output;
    EXPECT_NE(ev.output.find("weighted avg"), std::string::npos) << ev.output;
    fs::path cams = fresh("cams");
    AppResult pr =
        run_app(bin("effnet_predict") + " --weights " + (out / "best.safetensors").string() +
                " --cam " + cams.string() + " " + ph.string());
    EXPECT_EQ(pr.status, 0) << pr.output;
    EXPECT_EQ(pr.output.rfind("path,probability,label\n", 0), 0u) << pr.output;
    EXPECT_EQ(std::count(pr.output.begin(), pr.output.end(), '\n'), 5);
    size_t n_cams = 0;
    for (auto& e : fs::directory_iterator(cams))
        n_cams += e.path().string().find("_cam.png") != std::string::npos;
    EXPECT_EQ(n_cams, 4u);
    // effnet_export writes an ONNX model (ModelProto opens with ir_version 8: bytes 08 08)
    AppResult ex =
        run_app(bin("effnet_export") + " --weights " + (out / "best.safetensors").string() +
                " --onnx " + (out / "model.onnx").string() + " --threshold 0.4");
    EXPECT_EQ(ex.status, 0) << ex.output;
    const std::string onnx = slurp(out / "model.onnx");
    EXPECT_GT(onnx.size(), 15000000u);
    EXPECT_EQ(onnx.substr(0, 2), "\x08\x08");
    EXPECT_NE(onnx.find("threshold"), std::string::npos);
    EXPECT_EQ(run_app(bin("effnet_export") + " --weights " + (out / "best.safetensors").string() +
                      " --onnx " + (out / "x.onnx").string() + " --threshold 2")
                  .status,
              2);
}

namespace {
// Trains 2 epochs in one go (a) and as 3 steps, stopped, then resumed (b);
// every tensor of last.safetensors and the history must be the same.
void expect_resume_bit_identical(const std::string& name, const std::string& recipe) {
    fs::path a = fresh(name + "_a"), b = fresh(name + "_b");
    const std::string cfg = kTiny + " --epochs 2 --seed 5" + recipe;
    ASSERT_EQ(run_app(bin("effnet_train") + cfg + " --out " + a.string()).status, 0);
    // Stop in the middle of epoch 1 (4 steps per epoch), then continue.
    AppResult first = run_app(bin("effnet_train") + cfg + " --max-steps 3 --out " + b.string());
    ASSERT_EQ(first.status, 0) << first.output;
    ASSERT_EQ(
        read_safetensors((b / "last.safetensors").string()).metadata.at("train.step_in_epoch"),
        "3");
    AppResult second = run_app(bin("effnet_train") + cfg + " --resume " +
                               (b / "last.safetensors").string() + " --out " + b.string());
    ASSERT_EQ(second.status, 0) << second.output;
    EXPECT_NE(second.output.find("resumed"), std::string::npos);
    auto ta = tensors_of(a / "last.safetensors"), tb = tensors_of(b / "last.safetensors");
    ASSERT_EQ(ta.size(), tb.size());
    for (size_t i = 0; i < ta.size(); ++i)
        EXPECT_TRUE(ta[i] == tb[i]) << ta[i].first << " differs after resume";
    // The history rows match too (losses and accuracies, not timings).
    auto rows = [](const std::string& csv) {
        std::string out;
        std::istringstream is(csv);
        for (std::string line; std::getline(is, line);)
            out += line.substr(0, line.rfind(',')) + "\n";
        return out;
    };
    EXPECT_EQ(rows(slurp(a / "history.csv")), rows(slurp(b / "history.csv")));
}
}  // namespace

TEST(TrainEndToEnd, ResumeContinuesBitIdentically) {
    expect_resume_bit_identical("resume", "");
    // A different batch size cannot resume this state.
    AppResult wrong =
        run_app(bin("effnet_train") + kTiny + " --batch-size 4 --epochs 3 --seed 5 --resume " +
                (fs::temp_directory_path() / "effnet_e2e_resume_b" / "last.safetensors").string() +
                " --out " + fresh("resume_c").string());
    EXPECT_EQ(wrong.status, 1);
    EXPECT_NE(wrong.output.find("--batch-size 8"), std::string::npos) << wrong.output;
}

// The recipe's state survives a resume too: the weight average and the
// trained weights beside it, the cosine schedule's position, label smoothing,
// mixup's lambdas (drawn from the step).
TEST(TrainEndToEnd, ResumeWithWeightAverageAndCosineContinuesBitIdentically) {
    expect_resume_bit_identical(
        "resume_ema",
        " --ema 0.9 --schedule cosine --warmup-epochs 1 --label-smoothing 0.1 --mixup 0.4");
    const SafetensorsFile last = read_safetensors(
        (fs::temp_directory_path() / "effnet_e2e_resume_ema_b" / "last.safetensors").string());
    EXPECT_EQ(last.metadata.at("effnet.weights"), "ema");
    ASSERT_TRUE(last.find("blocks.1.0.conv_dw.weight"));
    ASSERT_TRUE(last.find("optimizer.raw.blocks.1.0.conv_dw.weight"));
    ASSERT_TRUE(last.find("optimizer.raw.bn1.running_mean"));
    EXPECT_NE(last.find("blocks.1.0.conv_dw.weight")->bytes,
              last.find("optimizer.raw.blocks.1.0.conv_dw.weight")->bytes)
        << "the average and the trained weights are different tensors";
    // The log says where the average's warm-up ends: (1 + t) / (10 + t) = 0.9 at t = 80.
    const std::string log =
        slurp(fs::temp_directory_path() / "effnet_e2e_resume_ema_b" / "train.log");
    EXPECT_NE(log.find("weight average: decay min(0.9, (1 + t) / (10 + t)) after step t, 0.9 "
                       "itself from step 80"),
              std::string::npos)
        << log;
}

// --mixup reaches the training batches: the recipe line names it and the
// training loss differs from the same run's without it.
TEST(TrainEndToEnd, MixupBlendsTheTrainingBatches) {
    const fs::path plain = fresh("mixup_off"), mixed = fresh("mixup_on");
    const std::string cfg = kTiny + " --epochs 1 --seed 5";
    ASSERT_EQ(run_app(bin("effnet_train") + cfg + " --out " + plain.string()).status, 0);
    AppResult r = run_app(bin("effnet_train") + cfg + " --mixup 0.4 --out " + mixed.string());
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find(", mixup Beta(0.4)"), std::string::npos) << r.output;
    auto train_loss = [](const std::string& csv) {
        std::istringstream is(csv);
        std::string header, row;
        std::getline(is, header);
        std::getline(is, row);
        return row.substr(0, row.find(',', row.find(',') + 1));  // "epoch,train_loss"
    };
    EXPECT_NE(train_loss(slurp(plain / "history.csv")), train_loss(slurp(mixed / "history.csv")));
}

TEST(TrainEndToEnd, InterruptFinishesTheStepAndCheckpoints) {
    fs::path out = fresh("sigint");
    fs::create_directories(out);
    const std::string cmd = bin("effnet_train") + kTiny + " --epochs 50 --out " + out.string() +
                            " > " + (out / "stdout.txt").string() + " 2>&1";
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    // Wait until training has started, then interrupt as Ctrl-C would.
    bool started = false;
    for (int i = 0; i < 600 && !started; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        started = slurp(out / "train.log").find("model:") != std::string::npos;
    }
    ASSERT_TRUE(started) << slurp(out / "stdout.txt");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "killed instead of exiting cleanly";
    EXPECT_EQ(WEXITSTATUS(status), 130) << slurp(out / "stdout.txt");
    EXPECT_NE(slurp(out / "stdout.txt").find("interrupted"), std::string::npos);
    SafetensorsFile ck = read_safetensors((out / "last.safetensors").string());
    EXPECT_TRUE(ck.metadata.count("train.step_in_epoch"));
    EXPECT_TRUE(ck.find("optimizer.exp_avg_sq"));
}

// The decision settings stored by --calibrate and --operating-point are what
// effnet_eval and effnet_predict apply; --compare pairs two models; a CSV's
// sex column becomes subgroups.
TEST(TrainEndToEnd, StoredTemperatureAndThresholdReachEvalAndPredict) {
    fs::path out = fresh("calibrated");
    AppResult r =
        run_app(bin("effnet_train") + kTiny +
                " --epochs 1 --calibrate temperature --operating-point sens=0.8 --tta 2 --out " +
                out.string());
    ASSERT_EQ(r.status, 0) << r.output;
    const std::string best = (out / "best.safetensors").string();
    const SafetensorsFile f = read_safetensors(best);
    ASSERT_TRUE(f.metadata.count("effnet.temperature"));
    EXPECT_EQ(f.metadata.at("effnet.threshold_rule"), "sens=0.8 on val");
    const std::string rep = slurp(out / "report.txt");
    EXPECT_NE(rep.find("temperature scaling: T = "), std::string::npos) << rep;
    EXPECT_NE(rep.find("2 test-time views"), std::string::npos) << rep;
    json::Value m = json::parse(slurp(out / "metrics.json"));
    EXPECT_EQ(m.find("tta_views")->number, 2);
    EXPECT_EQ(m.find("temperature")->find("from")->text, "fitted on val");

    // Images with a CSV that names each one's sex.
    fs::path ph = fresh("calibrated_images");
    ASSERT_EQ(run_app(bin("effnet_phantoms") + " --count 24 --size 32 --out " + ph.string()).status,
              0);
    std::string csv = "path,label,split,sex\n";
    int i = 0;
    for (auto& e : fs::recursive_directory_iterator(ph))
        if (e.path().extension() == ".png")
            csv += e.path().string() + "," + e.path().parent_path().filename().string() + ",test," +
                   (i++ % 2 ? "F" : "M") + "\n";
    std::ofstream(ph / "labels.csv") << csv;
    fs::path eval_out = fresh("calibrated_eval");
    AppResult ev = run_app(bin("effnet_eval") + " --weights " + best + " --data " +
                           (ph / "labels.csv").string() + " --compare " +
                           (out / "last.safetensors").string() + " --out " + eval_out.string());
    ASSERT_EQ(ev.status, 0) << ev.output;
    for (const char* s : {"stored with the weights (sens=0.8 on val)",
                          "temperature scaling: T = ", "stored with the weights", "subgroups",
                          "sex=F", "sex=M", "comparison with", "paired DeLong"})
        EXPECT_NE(ev.output.find(s), std::string::npos) << s << "\n" << ev.output;
    EXPECT_TRUE(fs::exists(eval_out / "reliability.png"));
    json::Value em = json::parse(slurp(eval_out / "metrics.json"));
    EXPECT_EQ(em.find("best_epoch")->type, json::Value::Type::NUL);
    EXPECT_EQ(em.find("subgroups")->find("groups")->items.size(), 2u);
    EXPECT_EQ(em.find("comparison")->find("images")->number, 24);
    // The same keys as effnet_train's metrics.json.
    std::vector<std::string> train_keys, eval_keys;
    for (auto& [k, v] : m.members) train_keys.push_back(k);
    for (auto& [k, v] : em.members) eval_keys.push_back(k);
    EXPECT_EQ(train_keys, eval_keys);

    // effnet_predict labels with the stored threshold: moved to 0 and to 1,
    // every label follows; a huge temperature pulls every probability to 1/2.
    auto labels_with = [&](double threshold, double temperature) {
        DecisionSettings s;
        s.has_threshold = true;
        s.threshold = threshold;
        s.has_temperature = true;
        s.temperature = temperature;
        store_decision_settings(best, s);
        AppResult pr = run_app(bin("effnet_predict") + " --weights " + best + " " + ph.string());
        EXPECT_EQ(pr.status, 0) << pr.output;
        return pr.output;
    };
    const std::string all_one = labels_with(0.0, 1), none = labels_with(1.0, 1),
                      flat = labels_with(0.5, 1000);
    EXPECT_EQ(std::count(all_one.begin(), all_one.end(), '\n'), 25);
    EXPECT_EQ(all_one.find(",0\n"), std::string::npos) << all_one;
    EXPECT_EQ(none.find(",1\n"), std::string::npos) << none;
    std::istringstream lines(flat);
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
        const double p = std::stod(line.substr(line.find(',') + 1));
        EXPECT_NEAR(p, 0.5, 0.01) << line;
    }
}

TEST(TrainEndToEnd, DivergingLossStopsWithAClearError) {
    fs::path out = fresh("nan");
    AppResult r =
        run_app(bin("effnet_train") + kTiny + " --epochs 2 --lr 1e9 --out " + out.string());
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_TRUE(r.output.find("loss is NaN at epoch 1") != std::string::npos ||
                r.output.find("loss is infinite at epoch 1") != std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("try a smaller --lr"), std::string::npos);
}

TEST(TrainEndToEnd, RealDataWhenPresent) {
    if (!fs::exists(EFFNET_SHARED_DATA))
        GTEST_SKIP() << "development data not present: " << EFFNET_SHARED_DATA;
    AppResult r = run_app(bin("effnet_data_check") + " " + EFFNET_SHARED_DATA);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("train      1776     1776     3552"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("val         440      442      882"), std::string::npos) << r.output;
}
