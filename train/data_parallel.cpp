#include "train/data_parallel.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "dist/replicas.h"

namespace effnet {

namespace {

std::vector<Tensor*> buffers_of(Model& model) {
    std::vector<std::pair<std::string, BufferSlot*>> slots;
    model.net->collect_buffer_slots("", slots);
    std::vector<Tensor*> out;
    for (auto& [name, slot] : slots) out.push_back(slot->value);
    return out;
}

}  // namespace

void broadcast_buffers(dist::Communicator& comm, Model& model, Context& ctx) {
    if (comm.size() == 1) return;
    for (Tensor* t : buffers_of(model)) comm.broadcast(*t, ctx);
}

void broadcast_model_state(dist::Communicator& comm, Model& model, AdamW& opt, Context& ctx) {
    if (comm.size() == 1) return;
    comm.broadcast(model.store->values(), ctx);
    comm.broadcast(opt.exp_avg(), ctx);
    comm.broadcast(opt.exp_avg_sq(), ctx);
    int64_t steps = opt.steps();
    comm.broadcast_bytes(&steps, sizeof steps);
    opt.set_steps(steps);
    broadcast_buffers(comm, model, ctx);
}

uint64_t replica_state_hash(Model& model, AdamW& opt, bool with_buffers) {
    std::vector<const Tensor*> tensors = {&model.store->values(), &opt.exp_avg(),
                                          &opt.exp_avg_sq()};
    if (with_buffers)
        for (Tensor* t : buffers_of(model)) tensors.push_back(t);
    return dist::state_hash(tensors, {opt.steps()});
}

EvalResult gather_evaluation(dist::Communicator& comm, const EvalResult& local,
                             const Loader& loader) {
    if (comm.size() == 1) return local;
    const std::vector<double> sums = comm.all_reduce_sum(
        std::vector<double>{local.loss_sum, double(local.correct), double(local.prob.size())});
    EvalResult r;
    r.loss_sum = sums[0];
    r.correct = int64_t(sums[1]);
    const double n = sums[2];
    r.loss = n > 0 ? sums[0] / n : NAN;
    r.accuracy = n > 0 ? sums[1] / n : NAN;
    const std::vector<double> prob = comm.gather(local.prob, dist::GatherTo::ROOT);
    const std::vector<int> label = comm.gather(local.label, dist::GatherTo::ROOT);
    const std::vector<int64_t> index = comm.gather(local.index, dist::GatherTo::ROOT);
    const std::vector<float> logits = comm.gather(local.logits, dist::GatherTo::ROOT);
    // Every rank ran the same model over the same views: only the counts differ.
    r.classes = local.classes;
    r.views = local.views;
    r.temperature = local.temperature;
    if (!comm.is_root()) return r;
    if (r.classes == 0) {  // rank 0's share was empty: another rank's logits say how many classes
        EFFNET_CHECK(
            index.empty() || logits.size() % index.size() == 0,
            "gather_evaluation: " << logits.size() << " logits for " << index.size() << " images");
        r.classes = index.empty() ? 0 : int64_t(logits.size() / index.size());
    }
    EFFNET_CHECK(
        logits.size() == index.size() * size_t(r.classes),
        "gather_evaluation: " << logits.size() << " logits for " << index.size() << " images");
    std::vector<size_t> order(index.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return index[a] < index[b]; });
    const size_t k = size_t(r.classes);
    for (size_t i : order) {
        const Sample& s = loader.samples()[size_t(index[i])];
        r.prob.push_back(prob[i]);
        r.label.push_back(label[i]);
        r.index.push_back(index[i]);
        r.paths.push_back(s.path);
        r.tags.push_back(subgroup_tags(s));
        r.logits.insert(r.logits.end(), logits.begin() + std::ptrdiff_t(i * k),
                        logits.begin() + std::ptrdiff_t((i + 1) * k));
    }
    return r;
}

StepShares exchange_shares(dist::Communicator& comm, int64_t local_images) {
    StepShares s;
    if (comm.size() == 1) {
        s.images = local_images;
        s.empty_rank = local_images == 0 ? 0 : -1;
        return s;
    }
    const std::vector<int64_t> counts =
        comm.gather(std::vector<int64_t>{local_images}, dist::GatherTo::ALL);
    for (size_t r = 0; r < counts.size(); ++r) {
        s.images += counts[r];
        if (counts[r] == 0 && s.empty_rank < 0) s.empty_rank = int(r);
    }
    const bool even =
        std::all_of(counts.begin(), counts.end(), [&](int64_t c) { return c == counts[0]; });
    if (!even && s.images > 0)
        s.loss_scale = float(double(local_images) * double(comm.size()) / double(s.images));
    return s;
}

StepResults exchange_step_results(dist::Communicator& comm, float loss, int64_t images,
                                  int64_t correct, bool stop) {
    // One gather of three numbers per rank; each rank adds them in rank order.
    const std::vector<double> all = comm.gather(
        std::vector<double>{double(loss) * double(images), double(correct), stop ? 1.0 : 0.0},
        dist::GatherTo::ALL);
    StepResults r;
    for (size_t k = 0; k + 2 < all.size(); k += 3) {
        if (!std::isfinite(all[k]) && r.nonfinite_rank < 0) r.nonfinite_rank = int(k / 3);
        r.loss_sum += all[k];
        r.correct += int64_t(all[k + 1]);
        r.stop = r.stop || all[k + 2] != 0;
    }
    return r;
}

}  // namespace effnet
