#include "train/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "io/safetensors.h"
#include "io/weights.h"
#include "tensor/error.h"
#include "tensor/parse_number.h"

namespace effnet {

namespace {

namespace fs = std::filesystem;

std::string exact(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.17g", v);
    return b;
}

const std::string& meta_get(const std::map<std::string, std::string>& m, const std::string& k,
                            const std::string& path) {
    auto it = m.find(k);
    if (it == m.end())
        throw IoError(path + ": checkpoint lacks training state '" + k +
                      "' (a weights-only file?)");
    return it->second;
}

int64_t meta_int(const std::map<std::string, std::string>& m, const std::string& k,
                 const std::string& path, int64_t lo, int64_t hi) {
    const std::string& v = meta_get(m, k, path);
    int64_t x = 0;
    if (!parse_int64(v, x) || x < lo || x > hi)
        throw IoError(path + ": checkpoint metadata '" + k + "' is '" + v +
                      "', not an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "]");
    return x;
}

double meta_double(const std::map<std::string, std::string>& m, const std::string& k,
                   const std::string& path) {
    const std::string& v = meta_get(m, k, path);
    double x = 0;
    if (!parse_double(v, x, true))
        throw IoError(path + ": checkpoint metadata '" + k + "' is '" + v +
                      "', not a finite number");
    return x;
}

constexpr int64_t kMaxCount = int64_t(1)
                              << 50;  // steps, images: far beyond any run, far below overflow

bool has_trained_weights(const SafetensorsFile& f) {
    for (const SafetensorsEntry& e : f.tensors)
        if (e.name.rfind(kTrainedWeightsPrefix, 0) == 0) return true;
    return false;
}

// The trained weights of a checkpoint that holds an average, under the model's names.
SafetensorsFile trained_weights(const SafetensorsFile& f) {
    SafetensorsFile out;
    for (const SafetensorsEntry& e : f.tensors)
        if (e.name.rfind(kTrainedWeightsPrefix, 0) == 0) {
            out.tensors.push_back(e);
            out.tensors.back().name = e.name.substr(kTrainedWeightsPrefix.size());
        }
    return out;
}

}  // namespace

std::string history_csv(const std::vector<EpochRecord>& h) {
    std::ostringstream os;
    os << "epoch,train_loss,train_acc,val_loss,val_acc,val_auroc,lr,seconds\n";
    for (auto& e : h) {
        char b[256];
        std::snprintf(b, sizeof b, "%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.3f\n", e.epoch,
                      e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.val_auroc, e.lr,
                      e.seconds);
        os << b;
    }
    return os.str();
}

std::vector<EpochRecord> parse_history(const std::string& csv, const std::string& path) {
    std::vector<EpochRecord> h;
    std::istringstream is(csv);
    std::string line;
    if (!std::getline(is, line) ||
        line != "epoch,train_loss,train_acc,val_loss,val_acc,val_auroc,lr,seconds")
        throw IoError(path + ": the history in the checkpoint has no header row");
    while (std::getline(is, line)) {
        std::vector<std::string> f;
        std::istringstream ls(line);
        for (std::string cell; std::getline(ls, cell, ',');) f.push_back(cell);
        EpochRecord e;
        double* values[] = {&e.train_loss, &e.train_acc, &e.val_loss, &e.val_acc,
                            &e.val_auroc,  &e.lr,        &e.seconds};
        int64_t epoch = 0;
        bool ok = f.size() == 8 && parse_int64(f[0], epoch) && epoch == int64_t(h.size()) + 1;
        for (size_t i = 0; ok && i < 7; ++i) ok = parse_double(f[i + 1], *values[i]);
        if (!ok)
            throw IoError(path + ": history row " + std::to_string(h.size() + 1) +
                          " of the checkpoint is damaged ('" + line.substr(0, 80) + "')");
        e.epoch = int(epoch);
        h.push_back(e);
    }
    return h;
}

TrainingState read_training_state(const std::map<std::string, std::string>& md,
                                  const std::string& path) {
    TrainingState s;
    RunProgress& p = s.progress;
    p.epoch = int(meta_int(md, "train.epoch", path, 0, 1000000));
    p.step_in_epoch = meta_int(md, "train.step_in_epoch", path, 0, kMaxCount);
    p.global_step = meta_int(md, "train.global_step", path, 0, kMaxCount);
    p.loss_sum = meta_double(md, "train.loss_sum", path);
    p.correct = meta_int(md, "train.correct", path, 0, kMaxCount);
    p.seen = meta_int(md, "train.seen", path, 0, kMaxCount);
    p.epoch_seconds = meta_double(md, "train.epoch_seconds", path);
    p.history = parse_history(meta_get(md, "train.history", path), path);
    if (p.correct > p.seen || p.step_in_epoch > p.global_step ||
        int64_t(p.history.size()) != p.epoch)
        throw IoError(path + ": the training state is inconsistent (epoch " +
                      std::to_string(p.epoch) + " with " + std::to_string(p.history.size()) +
                      " history rows, step " + std::to_string(p.step_in_epoch) + " of " +
                      std::to_string(p.global_step) + ", " + std::to_string(p.correct) +
                      " correct of " + std::to_string(p.seen) + ")");
    s.lr = meta_double(md, "train.lr", path);
    if (!(s.lr > 0)) throw IoError(path + ": checkpoint metadata 'train.lr' is not positive");
    s.optimizer_steps = meta_int(md, "train.optimizer_steps", path, 0, kMaxCount);
    s.batch = meta_int(md, "train.batch", path, 1, kMaxCount);
    if (!parse_uint64(meta_get(md, "train.seed", path), s.seed))
        throw IoError(path + ": checkpoint metadata 'train.seed' is not an unsigned integer");
    return s;
}

void save_checkpoint(const std::string& path, Model& m, AdamW& opt,
                     const ReduceLROnPlateau& plateau, const EarlyStopping& early,
                     const RunProgress& p, uint64_t seed, int64_t batch, const WeightEma* ema) {
    std::map<std::string, std::string> meta;
    m.spec.to_metadata(meta);
    meta["effnet.kind"] = "checkpoint";
    meta["train.epoch"] = std::to_string(p.epoch);
    meta["train.step_in_epoch"] = std::to_string(p.step_in_epoch);
    meta["train.global_step"] = std::to_string(p.global_step);
    meta["train.loss_sum"] = exact(p.loss_sum);
    meta["train.correct"] = std::to_string(p.correct);
    meta["train.seen"] = std::to_string(p.seen);
    meta["train.epoch_seconds"] = exact(p.epoch_seconds);
    meta["train.lr"] = exact(opt.lr());
    meta["train.optimizer_steps"] = std::to_string(opt.steps());
    meta["train.seed"] = std::to_string(seed);
    meta["train.batch"] = std::to_string(batch);
    meta["train.history"] = history_csv(p.history);
    plateau.save(meta, "plateau.");
    early.save(meta, "early.");
    Tensor mh = opt.exp_avg().is_cuda() ? opt.exp_avg().to(Device::CPU) : opt.exp_avg();
    Tensor vh = opt.exp_avg_sq().is_cuda() ? opt.exp_avg_sq().to(Device::CPU) : opt.exp_avg_sq();
    std::vector<Tensor> keep;
    std::vector<SafetensorsView> views;
    if (ema) {
        meta["effnet.weights"] = "ema";
        meta["effnet.ema_decay"] = exact(ema->decay());
        views = ema->tensor_views("", keep);
        for (SafetensorsView v : model_tensor_views(*m.net, keep)) {
            v.name = kTrainedWeightsPrefix + v.name;
            views.push_back(v);
        }
    } else {
        views = model_tensor_views(*m.net, keep);
    }
    views.push_back({"optimizer.exp_avg", DType::FLOAT32, mh.shape().dims(), mh.raw()});
    views.push_back({"optimizer.exp_avg_sq", DType::FLOAT32, vh.shape().dims(), vh.raw()});
    write_safetensors(path, views, meta);
}

void load_checkpoint(const std::string& path, Model& m, AdamW& opt, ReduceLROnPlateau& plateau,
                     EarlyStopping& early, RunProgress& p, uint64_t seed, int64_t batch,
                     WeightEma* ema) {
    SafetensorsFile f;
    TrainingState s;
    try {
        f = read_safetensors(path);
        s = read_training_state(f.metadata, path);
        plateau.load(f.metadata, "plateau.");
        early.load(f.metadata, "early.");
        for (const SafetensorsEntry& e : f.tensors) check_finite(e, path);
    } catch (const IoError& e) {
        // Damaged on disk (or cut short): best.safetensors beside it is an
        // older but complete state of the same run.
        const fs::path best = fs::path(path).parent_path() / "best.safetensors";
        const bool have_best = fs::path(path).filename() != "best.safetensors" && fs::exists(best);
        std::string what = e.what();
        if (what.rfind(path, 0) != 0) what = path + ": " + what;
        throw IoError(
            "cannot resume from a damaged checkpoint: " + what +
            (have_best ? "\n  resume from the best epoch's state instead: --resume " + best.string()
                       : "\n  there is no best.safetensors beside it to resume from instead"));
    }
    if (s.batch != batch)
        throw IoError(path + ": was trained with --batch-size " + std::to_string(s.batch) +
                      "; resume with the same batch size");
    if (s.seed != seed)
        throw IoError(path + ": was trained with --seed " + std::to_string(s.seed) +
                      "; resume with the same seed");
    load_weights(f, *m.net, WeightsMatch::EXACT, path, {"optimizer."});
    if (has_trained_weights(f)) {
        // The model's tensors were the average: it goes to `ema`, the trained
        // weights to the model.
        if (ema) ema->reset_from_model();
        load_weights(trained_weights(f), *m.net, WeightsMatch::EXACT, path, {"optimizer."});
    } else if (ema) {
        ema->reset_from_model();
    }
    for (auto [name, dst] : {std::make_pair("optimizer.exp_avg", &opt.exp_avg()),
                             std::make_pair("optimizer.exp_avg_sq", &opt.exp_avg_sq())}) {
        const SafetensorsEntry* e = f.find(name);
        if (!e || e->dtype != DType::FLOAT32 || e->bytes.size() != dst->nbytes())
            throw IoError(path + ": optimizer state '" + name + "' missing or of the wrong size");
        dst->copy_from(
            Tensor::wrap(const_cast<uint8_t*>(e->bytes.data()), dst->shape(), Device::CPU));
    }
    p = s.progress;
    opt.set_lr(s.lr);
    opt.set_steps(s.optimizer_steps);
}

const std::vector<std::string>& run_output_files() {
    static const std::vector<std::string> files = {
        "last.safetensors", "best.safetensors", "history.csv",    "curves.png",
        "report.txt",       "metrics.json",     "reliability.png"};
    return files;
}

std::vector<std::string> prepare_output_folder(const std::string& out, const std::string& resume,
                                               bool overwrite) {
    std::vector<std::string> notes;
    fs::create_directories(out);
    std::vector<std::string> present;
    for (const std::string& f : run_output_files())
        if (fs::exists(fs::path(out) / f)) present.push_back(f);
    std::error_code ec;
    const fs::path resume_dir =
        fs::path(resume).parent_path().empty() ? fs::path(".") : fs::path(resume).parent_path();
    const bool continuing = !resume.empty() && fs::equivalent(resume_dir, out, ec);
    if (!present.empty() && !continuing) {
        std::string list;
        for (auto& f : present) list += (list.empty() ? "" : ", ") + f;
        if (!overwrite) {
            const std::string last = (fs::path(out) / "last.safetensors").string();
            throw IoError(
                out + ": holds another run's outputs (" + list +
                "); pass --overwrite to replace them" +
                (fs::exists(last) ? ", --resume " + last + " to continue that run," : "") +
                " or choose another --out");
        }
        for (auto& f : present) fs::remove(fs::path(out) / f);
        fs::remove(fs::path(out) / "train.log", ec);
        notes.push_back("--overwrite: removed the previous run's " + list + " and train.log from " +
                        out);
    }
    // Left by a write that was cut short (the process killed, the disk full):
    // never a complete file, since a complete one is renamed over its target.
    std::vector<fs::path> partial;
    for (auto& e : fs::directory_iterator(out))
        for (const std::string& f : run_output_files())
            if (e.path().filename().string().rfind(f + ".tmp.", 0) == 0)
                partial.push_back(e.path());
    for (const fs::path& t : partial) {
        fs::remove(t, ec);
        notes.push_back("removed " + t.string() + ", left by an interrupted write");
    }
    return notes;
}

}  // namespace effnet
