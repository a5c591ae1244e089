// Crash safety of effnet_train: killed (SIGKILL, as `kill -9` or a power cut)
// during a step, a checkpoint write or validation, a resumed run continues
// from the last complete checkpoint and ends bit-identical to a run that was
// never interrupted; a checkpoint write that fails (file-size limit, full
// filesystem) leaves the previous checkpoint intact and stops with a clear
// message; a damaged last.safetensors is refused with the way forward; and
// another run's outputs are never silently overwritten. The apps refuse
// non-finite weights and never print a non-finite probability.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include "train/checkpoint.h"
#include "io/safetensors.h"
#include "run_app.h"

using namespace effnet;
using namespace effnet::test;
namespace fs = std::filesystem;

namespace {

// 16 phantoms of 32x32 in batches of 8: two steps per epoch, three epochs.
// One compute thread: a few seconds per run even on a busy machine.
const std::string kRun =
    " --phantoms 16 --image-size 32 --batch-size 8 --workers 1 --bootstrap 20 --threads 1 --seed 3";
const std::string kEpochs = " --epochs 3";

fs::path fresh(const std::string& name) {
    fs::path d =
        fs::temp_directory_path() / ("effnet_crash_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(d);
    return d;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct Ended {
    int exit_code = -1;  // when it exited
    int signal = 0;      // when a signal ended it
    std::string output;
};

struct Launch {
    std::string fault;            // EFFNET_FAULT for the child only
    uint64_t max_file_bytes = 0;  // RLIMIT_FSIZE for the child only (0: unlimited)
};

pid_t spawn(const std::string& command, const fs::path& log, const Launch& how) {
    const pid_t pid = fork();
    if (pid != 0) return pid;
    if (how.fault.empty())
        unsetenv("EFFNET_FAULT");
    else
        setenv("EFFNET_FAULT", how.fault.c_str(), 1);
    if (how.max_file_bytes) {
        rlimit r{how.max_file_bytes, how.max_file_bytes};
        setrlimit(RLIMIT_FSIZE, &r);
    }
    execl("/bin/sh", "sh", "-c", ("exec " + command + " > " + log.string() + " 2>&1").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
}

Ended wait_for(pid_t pid, const fs::path& log) {
    int status = 0;
    waitpid(pid, &status, 0);
    Ended e;
    if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
    e.output = slurp(log);
    return e;
}

Ended train(const fs::path& out, const std::string& extra, const Launch& how = {}) {
    fs::create_directories(out.parent_path());
    const fs::path log = out.string() + ".stdout";
    return wait_for(spawn(bin("effnet_train") + kRun + extra + " --out " + out.string(), log, how),
                    log);
}

// Everything that must not depend on interruptions: every tensor of both
// checkpoints, the history without its timing column, the report, the metrics.
struct Outcome {
    std::vector<std::pair<std::string, std::vector<uint8_t>>> last, best;
    std::string history, report, metrics;
};

std::string history_without_seconds(const std::string& csv) {
    std::string out;
    std::istringstream is(csv);
    for (std::string line; std::getline(is, line);) out += line.substr(0, line.rfind(',')) + "\n";
    return out;
}

Outcome outcome(const fs::path& dir) {
    Outcome o;
    for (auto& t : read_safetensors((dir / "last.safetensors").string()).tensors)
        o.last.emplace_back(t.name, t.bytes);
    for (auto& t : read_safetensors((dir / "best.safetensors").string()).tensors)
        o.best.emplace_back(t.name, t.bytes);
    o.history = history_without_seconds(slurp(dir / "history.csv"));
    o.report = slurp(dir / "report.txt");
    o.metrics = slurp(dir / "metrics.json");
    return o;
}

void expect_same(const Outcome& want, const Outcome& got) {
    ASSERT_EQ(want.last.size(), got.last.size());
    for (size_t i = 0; i < want.last.size(); ++i)
        EXPECT_TRUE(want.last[i] == got.last[i]) << want.last[i].first << " differs";
    ASSERT_EQ(want.best.size(), got.best.size());
    for (size_t i = 0; i < want.best.size(); ++i)
        EXPECT_TRUE(want.best[i] == got.best[i]) << want.best[i].first << " differs (best)";
    EXPECT_EQ(want.history, got.history);
    EXPECT_EQ(want.report, got.report);
    EXPECT_EQ(want.metrics, got.metrics);
}

std::string checkpoint_epoch(const fs::path& p) {
    return read_safetensors(p.string()).metadata.at("train.epoch");
}

int history_rows(const fs::path& dir) {
    const std::string h = slurp(dir / "history.csv");
    return int(std::count(h.begin(), h.end(), '\n')) - 1;
}

std::vector<std::string> partial_writes(const fs::path& dir) {
    std::vector<std::string> out;
    for (auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".tmp.") != std::string::npos)
            out.push_back(e.path().filename().string());
    return out;
}

// A finished one-epoch run (best.safetensors, last.safetensors, report) to damage.
fs::path finished_run(const std::string& name) {
    const fs::path dir = fresh(name);
    const Ended r = train(dir, " --epochs 1");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return dir;
}

void killed_in_each_phase(const Outcome& reference) {
    SCOPED_TRACE("killed at the named fault points");
    const fs::path out = fresh("phases");
    const std::string last = (out / "last.safetensors").string();
    const std::string resume = kEpochs + " --resume " + last;

    // 1. During the first step of epoch 2: epoch 1's checkpoint and history stand.
    Ended r = train(out, kEpochs, {"train.step:3"});
    ASSERT_EQ(r.signal, SIGKILL) << r.output;
    EXPECT_EQ(checkpoint_epoch(last), "1");
    EXPECT_EQ(history_rows(out), 1);

    // 2. During epoch 2's validation: nothing of epoch 2 was saved.
    r = train(out, resume, {"evaluate:1"});
    ASSERT_EQ(r.signal, SIGKILL) << r.output;
    EXPECT_EQ(checkpoint_epoch(last), "1");
    EXPECT_EQ(history_rows(out), 1);

    // 3. Half-way through writing epoch 2's last.safetensors: the old one is
    //    intact (and passes its checksum); the partial file is left behind.
    r = train(out, resume, {"write:last.safetensors:1"});
    ASSERT_EQ(r.signal, SIGKILL) << r.output;
    EXPECT_EQ(checkpoint_epoch(last), "1");
    EXPECT_EQ(partial_writes(out).size(), 1u);

    // 4. Between last.safetensors and history.csv: the checkpoint is ahead by
    //    one epoch; the resumed run brings history.csv level at once. (This
    //    run also removed the partial file of 3.)
    r = train(out, resume, {"written:last.safetensors:1"});
    ASSERT_EQ(r.signal, SIGKILL) << r.output;
    EXPECT_NE(r.output.find("left by an interrupted write"), std::string::npos) << r.output;
    EXPECT_TRUE(partial_writes(out).empty());
    EXPECT_EQ(checkpoint_epoch(last), "2");
    EXPECT_EQ(history_rows(out), 1);

    // 5. Uninterrupted to the end.
    r = train(out, resume);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(history_rows(out), 3);
    expect_same(reference, outcome(out));
    fs::remove_all(out);
}

void killed_at_random_times(const Outcome& reference, double reference_seconds) {
    SCOPED_TRACE("killed at random times");
    const fs::path out = fresh("random");
    const fs::path log = out.string() + ".stdout";
    const std::string last = (out / "last.safetensors").string();
    const unsigned seed = unsigned(std::random_device{}());
    std::mt19937 rng(seed);
    // Kill times as fractions of the uninterrupted run; shrunk when a run
    // outpaces them, so that every run of this test kills at least twice.
    double scale = reference_seconds;
    int kills = 0;
    std::string when;
    for (int attempt = 0; attempt < 16; ++attempt) {
        const bool resume = fs::exists(last);
        const std::string args =
            kEpochs + (resume ? " --resume " + last : std::string(" --overwrite"));
        const pid_t pid =
            spawn(bin("effnet_train") + kRun + args + " --out " + out.string(), log, {});
        const double delay =
            kills < 4 ? std::uniform_real_distribution<double>(0.05, 0.8)(rng) * scale : 1e9;
        const auto t0 = std::chrono::steady_clock::now();
        int status = 0;
        bool done = false;
        while (!done &&
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() <
                   delay) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            done = waitpid(pid, &status, WNOHANG) == pid;
        }
        if (!done) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        if (WIFEXITED(status)) {
            ASSERT_EQ(WEXITSTATUS(status), 0) << "seed " << seed << ": " << slurp(log);
            if (kills >= 2) break;
            fs::remove(out / "last.safetensors");  // too few kills: start over, killing sooner
            scale /= 2;
            continue;
        }
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "seed " << seed << ": " << slurp(log);
        ++kills;
        when += (when.empty() ? "" : ", ") + std::to_string(delay).substr(0, 5) + " s";
        // Whatever the moment, what is on disk is a complete checkpoint and a
        // history.csv no longer than its own history.
        if (fs::exists(last)) {
            const int epoch = std::stoi(checkpoint_epoch(last));
            if (fs::exists(out / "history.csv")) {
                EXPECT_LE(history_rows(out), epoch) << "seed " << seed;
            }
        }
    }
    std::cout << "killed " << kills << " times (after " << when << "; seed " << seed
              << "), uninterrupted run " << reference_seconds << " s\n";
    EXPECT_GE(kills, 2);
    expect_same(reference, outcome(out));
    EXPECT_EQ(history_rows(out), 3);
    fs::remove_all(out);
}

}  // namespace

// One test for both kinds of kill: ctest runs every test in a process of its
// own, and both compare with the same uninterrupted run.
TEST(CrashSafety, KilledInEachPhaseOrAtRandomResumesBitIdentically) {
    const fs::path reference_dir = fresh("reference");
    const auto t0 = std::chrono::steady_clock::now();
    const Ended ref = train(reference_dir, kEpochs);
    const double reference_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(ref.exit_code, 0) << ref.output;
    const Outcome reference = outcome(reference_dir);
    fs::remove_all(reference_dir);
    killed_in_each_phase(reference);
    killed_at_random_times(reference, reference_seconds);
}

TEST(CrashSafety, DamagedLastCheckpointIsRefusedSuggestingBest) {
    const fs::path out = finished_run("damaged");
    const std::string bytes = slurp(out / "last.safetensors");
    const std::string last = (out / "last.safetensors").string(),
                      best = (out / "best.safetensors").string();
    auto write = [&](const std::string& s) {
        std::ofstream f(last, std::ios::binary | std::ios::trunc);
        f << s;
    };
    // Truncated (a copy cut short), then one flipped byte in the weights.
    write(bytes.substr(0, bytes.size() / 2));
    Ended r = train(out, " --epochs 1 --resume " + last);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("cannot resume from a damaged checkpoint: " + last), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--resume " + best), std::string::npos) << r.output;
    std::string flipped = bytes;
    flipped[flipped.size() - 1000] ^= 0x10;
    write(flipped);
    r = train(out, " --epochs 1 --resume " + last);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("fails its checksum"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--resume " + best), std::string::npos) << r.output;
    // The suggestion works: the best epoch's state resumes (and finishes the run).
    r = train(out, " --epochs 1 --resume " + best);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    fs::remove_all(out);
}

TEST(CrashSafety, FailedCheckpointWriteKeepsThePreviousOne) {
    // After one epoch, files may not grow past 8 MB (a checkpoint is 48 MB):
    // epoch 2's checkpoint cannot be written.
    const fs::path out = fresh("fsize");
    Ended r = train(out, " --epochs 1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string last = (out / "last.safetensors").string();
    const std::string before = slurp(last);
    r = train(out, " --epochs 2 --resume " + last, {"", 8u << 20});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("could not be written"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("is unchanged"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("training stopped at epoch 2"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--resume " + last), std::string::npos) << r.output;
    EXPECT_TRUE(slurp(last) == before) << "the previous checkpoint changed";
    EXPECT_EQ(checkpoint_epoch(last), "1");
    EXPECT_TRUE(partial_writes(out).empty());
    fs::remove_all(out);
}

TEST(CrashSafety, FullFilesystemKeepsThePreviousCheckpoint) {
    // A 110 MB tmpfs in a private mount namespace holds epoch 1's two
    // checkpoints (2 x 48 MB) but not a third file.
    if (run_app("unshare -m true").status != 0)
        GTEST_SKIP() << "no private mount namespaces here (unshare -m refused)";
    const fs::path mnt = fresh("tmpfs"), keep = fresh("tmpfs_result");
    fs::create_directories(mnt);
    fs::create_directories(keep);
    const std::string script = "mount -t tmpfs -o size=110m effnet_test " + mnt.string() +
                               " || exit 77; " + bin("effnet_train") + kRun + " --epochs 2 --out " +
                               mnt.string() + "/run > " + keep.string() +
                               "/stdout 2>&1; echo $? > " + keep.string() + "/status; cp " +
                               mnt.string() + "/run/last.safetensors " + keep.string() + "/; ls " +
                               mnt.string() + "/run > " + keep.string() + "/files";
    const AppResult r = run_app("unshare -m sh -c '" + script + "'");
    if (r.status == 77) GTEST_SKIP() << "cannot mount a tmpfs here: " << r.output;
    const std::string output = slurp(keep / "stdout");
    EXPECT_EQ(slurp(keep / "status"), "1\n") << output;
    EXPECT_NE(output.find("No space left on device"), std::string::npos) << output;
    EXPECT_NE(output.find("training stopped at epoch 2"), std::string::npos) << output;
    EXPECT_EQ(checkpoint_epoch(keep / "last.safetensors"), "1");
    EXPECT_EQ(slurp(keep / "files").find(".tmp."), std::string::npos) << slurp(keep / "files");
    fs::remove_all(mnt);
    fs::remove_all(keep);
}

TEST(OutputFolder, AnotherRunsOutputsAreRefusedUnlessOverwrite) {
    const fs::path out = fresh("other_run");
    fs::create_directories(out);
    for (const char* f : {"history.csv", "best.safetensors", "last.safetensors"})
        std::ofstream(out / f) << "x";
    std::ofstream(out / "last.safetensors.tmp.12345") << "partial";
    try {
        prepare_output_folder(out.string(), "", false);
        ADD_FAILURE() << "another run's outputs were accepted";
    } catch (const IoError& e) {
        const std::string m = e.what();
        EXPECT_NE(
            m.find("holds another run's outputs (last.safetensors, best.safetensors, history.csv)"),
            std::string::npos)
            << m;
        EXPECT_NE(m.find("--overwrite"), std::string::npos) << m;
        EXPECT_NE(m.find("--resume " + (out / "last.safetensors").string()), std::string::npos)
            << m;
    }
    EXPECT_TRUE(fs::exists(out / "history.csv"));
    // Resuming from a checkpoint in the folder is the same run continuing.
    EXPECT_NO_THROW(
        prepare_output_folder(out.string(), (out / "last.safetensors").string(), false));
    EXPECT_FALSE(fs::exists(out / "last.safetensors.tmp.12345")) << "partial write kept";
    // Resuming from elsewhere into it is not.
    EXPECT_THROW(prepare_output_folder(out.string(), "/elsewhere/last.safetensors", false),
                 IoError);
    // --overwrite clears the old outputs; a folder with only a log is free.
    const auto notes = prepare_output_folder(out.string(), "", true);
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_FALSE(fs::exists(out / "history.csv"));
    std::ofstream(out / "train.log") << "a run that stopped before its first epoch\n";
    EXPECT_NO_THROW(prepare_output_folder(out.string(), "", false));
    // The app says so before doing anything.
    std::ofstream(out / "report.txt") << "x";
    const AppResult r = run_app(bin("effnet_train") + " --out " + out.string());
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("holds another run's outputs (report.txt)"), std::string::npos)
        << r.output;
    fs::remove_all(out);
}

TEST(CheckpointState, DamagedFieldsAreNamed) {
    std::map<std::string, std::string> md = {
        {"train.epoch", "1"},
        {"train.step_in_epoch", "0"},
        {"train.global_step", "2"},
        {"train.loss_sum", "0"},
        {"train.correct", "0"},
        {"train.seen", "0"},
        {"train.epoch_seconds", "1.5"},
        {"train.lr", "0.001"},
        {"train.optimizer_steps", "2"},
        {"train.seed", "3"},
        {"train.batch", "8"},
        {"train.history",
         "epoch,train_loss,train_acc,val_loss,val_acc,val_auroc,lr,seconds\n1,0.7,0.5,0.6,0.5,nan,"
         "0.001,1.0\n"}};
    const TrainingState s = read_training_state(md, "c.safetensors");
    EXPECT_EQ(s.progress.history.size(), 1u);
    EXPECT_EQ(s.batch, 8);
    struct Case {
        std::string key, value, says;
    };
    for (const Case& c :
         {Case{"train.epoch", "abc", "'train.epoch' is 'abc', not an integer"},
          Case{"train.epoch", "1x", "'train.epoch' is '1x'"},
          Case{"train.batch", "0", "'train.batch' is '0'"},
          Case{"train.seen", "99999999999999999999999", "'train.seen'"},
          Case{"train.lr", "nan", "'train.lr' is 'nan', not a finite number"},
          Case{"train.seed", "-1", "'train.seed' is not an unsigned integer"},
          Case{"train.epoch", "2", "inconsistent"},
          Case{
              "train.history",
              "epoch,train_loss,train_acc,val_loss,val_acc,val_auroc,lr,seconds\n2,1,1,1,1,1,1,1\n",
              "history row 1 of the checkpoint is damaged"},
          Case{"train.history", "nonsense", "no header row"}}) {
        auto bad = md;
        bad[c.key] = c.value;
        try {
            read_training_state(bad, "c.safetensors");
            ADD_FAILURE() << c.key << "=" << c.value << " accepted";
        } catch (const IoError& e) {
            EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
            EXPECT_EQ(std::string(e.what()).rfind("c.safetensors: ", 0), 0u) << e.what();
        }
    }
    md.erase("train.lr");
    EXPECT_THROW(read_training_state(md, "c.safetensors"), IoError);
}

namespace {
// A copy of `src` with `edit` applied to the named tensor's float values.
void edit_tensor(const fs::path& src, const fs::path& dst, const std::string& name,
                 const std::function<void(std::vector<float>&)>& edit) {
    SafetensorsFile f = read_safetensors(src.string());
    std::vector<std::vector<float>> keep;
    std::vector<SafetensorsView> views;
    for (auto& t : f.tensors) {
        if (t.name == name) {
            keep.emplace_back(t.bytes.size() / 4);
            std::memcpy(keep.back().data(), t.bytes.data(), t.bytes.size());
            edit(keep.back());
            std::memcpy(t.bytes.data(), keep.back().data(), t.bytes.size());
        }
        views.push_back({t.name, t.dtype, t.shape, t.bytes.data()});
    }
    ASSERT_EQ(keep.size(), 1u) << name;
    write_safetensors(dst.string(), views, f.metadata);
}
}  // namespace

TEST(Reliability, NonFiniteWeightsAndOutputsAreRefused) {
    const fs::path run = finished_run("nonfinite_run");
    const fs::path dir = fresh("nonfinite");
    fs::create_directories(dir);
    const fs::path images = dir / "images";
    ASSERT_EQ(
        run_app(bin("effnet_phantoms") + " --count 2 --size 32 --out " + images.string()).status,
        0);
    // One NaN weight: refused at load, naming the tensor.
    const fs::path nan_w = dir / "nan.safetensors";
    edit_tensor(run / "best.safetensors", nan_w, "blocks.2.0.conv_dw.weight",
                [](std::vector<float>& v) { v[5] = NAN; });
    for (const std::string& cmd :
         {bin("effnet_predict") + " --weights " + nan_w.string() + " " + images.string(),
          bin("effnet_eval") + " --weights " + nan_w.string() + " --data " + images.string() +
              " --split train",
          bin("effnet_train") + kRun + " --epochs 1 --init " + nan_w.string() + " --out " +
              (dir / "init").string()}) {
        const AppResult r = run_app(cmd);
        EXPECT_EQ(r.status, 1) << cmd << "\n" << r.output;
        EXPECT_NE(
            r.output.find(nan_w.string() +
                          ": tensor 'blocks.2.0.conv_dw.weight' holds non-finite values (1 NaN"),
            std::string::npos)
            << r.output;
        EXPECT_EQ(r.output.find(",nan,"), std::string::npos) << r.output;
    }
    // Finite but absurd weights overflow the logits: no probability is
    // printed. (Huge classifier weights alone need not overflow: their
    // products with the pooled features may sum to a finite logit, and
    // whether a float sum overflows on the way depends on its order, which
    // differs between the training graph and the fast path. With the head's
    // batch-norm scale huge too, every product with a positive feature is.)
    const fs::path scaled = dir / "scaled.safetensors", huge = dir / "huge.safetensors";
    edit_tensor(run / "best.safetensors", scaled, "bn2.weight", [](std::vector<float>& v) {
        for (float& x : v) x = 3e38f;
    });
    edit_tensor(scaled, huge, "classifier.weight", [](std::vector<float>& v) {
        for (float& x : v) x = 3e38f;
    });
    const AppResult p =
        run_app(bin("effnet_predict") + " --weights " + huge.string() + " " + images.string());
    EXPECT_EQ(p.status, 1) << p.output;
    EXPECT_NE(p.output.find("the model's output is not finite"), std::string::npos) << p.output;
    EXPECT_EQ(p.output.find("nan"), std::string::npos) << p.output;
    const AppResult e = run_app(bin("effnet_eval") + " --weights " + huge.string() + " --data " +
                                images.string() + " --split train");
    EXPECT_EQ(e.status, 1) << e.output;
    EXPECT_NE(e.output.find("the model's output is not finite"), std::string::npos) << e.output;
    fs::remove_all(dir);
    fs::remove_all(run);
}
