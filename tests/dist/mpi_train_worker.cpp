// Training steps across ranks against one process (run under mpirun by
// test_mpi_train.cpp). Every rank also computes the 1-process reference
// itself: the same model and seed trained on the whole global batch.
//   sync-bn      EfficientNet-B0 with synchronised batch norm: each rank trains on
//                its half of the global batch (dropout and drop-path on)
//   duplicated   per-rank batch norm on a global batch whose halves are the
//                same images, where per-rank statistics equal the global ones
//   diverge      the replica check of the trainer (train/data_parallel.h)
//                fires when the last rank's parameters differ by one ulp
// Checks: the first step's averaged gradient equals the 1-process gradient,
// the parameters after kSteps steps agree with the 1-process run within the
// stated tolerance, and are bit-identical on every rank (a hash gather).
// Prints the measured errors; exits 1 naming a failed check.
#include <cmath>
#include <cstring>
#include <iostream>

#include "dist/replicas.h"
#include "tensor/philox.h"
#include "train/data_parallel.h"
#include "train/step.h"

using namespace effnet;

namespace {

constexpr int64_t kGlobalBatch = 8, kSize = 32;
constexpr int kSteps = 3;

// `duplicated` has neither dropout nor drop-path: the two copies of an image
// would draw different masks, and their activations (and so the batch
// statistics after them) would differ.
ModelSpec spec(bool duplicated) {
    ModelSpec s;
    s.image_size = kSize;
    s.dropout = duplicated ? 0.0 : 0.2;
    s.drop_path = duplicated ? 0.0 : 0.2;
    return s;
}

// The global batch of step `step`: images in [-1, 1], labels alternating.
// `duplicated`: its second half repeats its first.
void global_batch(int step, bool duplicated, std::vector<float>& images,
                  std::vector<int32_t>& labels) {
    const int64_t per = kSize * kSize * 3;
    images.resize(size_t(kGlobalBatch * per));
    labels.resize(size_t(kGlobalBatch));
    for (int64_t i = 0; i < kGlobalBatch; ++i) {
        const int64_t src = duplicated ? i % (kGlobalBatch / 2) : i;
        for (int64_t k = 0; k < per; ++k)
            images[size_t(i * per + k)] =
                2.0f * philox_uniform(uint64_t(step), uint64_t(src), uint64_t(k)) - 1.0f;
        labels[size_t(i)] = int32_t(src % 2);
    }
}

struct Replica {
    Model model;
    LossHead head;
    AdamW opt;
    Replica(int64_t batch, bool duplicated)
        : model(spec(duplicated), Device::CPU, 7),
          head(LossKind::CROSS_ENTROPY, batch, 2, Device::CPU),
          opt(*model.store, adamw()) {
        model.plan(batch, Device::CPU);
    }
    static AdamWConfig adamw() {
        AdamWConfig c;
        c.lr = 1e-3;
        return c;
    }
};

// Largest |a - b| / (1e-3 * max|b| + |b|): relative error, with elements far
// below the tensor's scale judged against that scale.
double worst_relative_error(const std::vector<float>& a, const std::vector<float>& b) {
    double scale = 0, worst = 0;
    for (float v : b) scale = std::max(scale, double(std::abs(v)));
    for (size_t i = 0; i < a.size(); ++i)
        worst = std::max(
            worst, std::abs(double(a[i]) - double(b[i])) / (1e-3 * scale + std::abs(double(b[i]))));
    return worst;
}

int run(dist::Communicator& comm, const std::string& mode) {
    Context ctx;
    const bool duplicated = mode == "duplicated";
    const int64_t local = kGlobalBatch / comm.size();
    Replica one(kGlobalBatch, duplicated), mine(local, duplicated);
    CommunicatorSums sums(comm);
    std::vector<float> first_grad_one, first_grad_mine;
    for (int step = 0; step < kSteps; ++step) {
        std::vector<float> images;
        std::vector<int32_t> labels;
        global_batch(step, duplicated, images, labels);
        // One process, the whole batch.
        Tensor x = Tensor::from_vector(Shape{kGlobalBatch, kSize, kSize, 3}, images);
        Tensor y = Tensor::empty(Shape{kGlobalBatch}, Device::CPU, DType::INT32);
        std::memcpy(y.raw(), labels.data(), labels.size() * 4);
        StepHooks capture_one;
        capture_one.before_update = [&](Context&) {
            if (step == 0) first_grad_one = one.model.store->grads().to_vector();
        };
        train_step(*one.model.net, *one.model.store, one.head, one.opt, x, y,
                   RunState{Mode::TRAIN, 3, uint64_t(step)}, ctx, capture_one);
        // This rank's share, its gradient averaged over the ranks in the hook.
        const int64_t first = comm.rank() * local;
        Tensor xs = x.narrow0(first, local), ys = y.narrow0(first, local);
        RunState run{Mode::TRAIN, 3, uint64_t(step)};
        run.sample_offset = first;
        run.sync_bn = duplicated ? nullptr : &sums;
        StepHooks average;
        average.before_update = [&](Context& c) {
            comm.all_reduce_average(mine.model.store->grads(), c);
            if (step == 0) first_grad_mine = mine.model.store->grads().to_vector();
        };
        train_step(*mine.model.net, *mine.model.store, mine.head, mine.opt, xs, ys, run, ctx,
                   average);
    }
    const double grad_error = worst_relative_error(first_grad_mine, first_grad_one);
    // Parameters: how far from the 1-process run, and in how many elements.
    const std::vector<float> w_mine = mine.model.store->values().to_vector(),
                             w_one = one.model.store->values().to_vector();
    double param_max = 0;
    size_t param_apart = 0;
    for (size_t i = 0; i < w_one.size(); ++i) {
        const double d = std::abs(double(w_mine[i]) - double(w_one[i]));
        param_max = std::max(param_max, d);
        param_apart += d > 1e-5;
    }
    const double apart_share = double(param_apart) / double(w_one.size());
    // Bit-identical replicas: every rank's hash equals rank 0's.
    bool identical = true;
    try {
        dist::check_replicas(comm, replica_state_hash(mine.model, mine.opt, !duplicated),
                             "after the steps");
    } catch (const dist::DistError& e) {
        std::cerr << e.what() << "\n";
        identical = false;
    }
    if (mode == "diverge") {
        if (comm.rank() == comm.size() - 1) {
            float* w = mine.model.store->values().f32();
            w[0] = std::nextafter(w[0], 1e9f);
        }
        try {
            dist::check_replicas(comm, replica_state_hash(mine.model, mine.opt, true),
                                 "after step 3");
        } catch (const dist::DistError& e) {
            if (comm.is_root()) std::cout << "replica check: " << e.what() << "\n";
            return std::string(e.what()).find("rank " + std::to_string(comm.size() - 1) + ": ") !=
                           std::string::npos
                       ? 0
                       : 1;
        }
        std::cerr << "the replica check missed a divergence\n";
        return 1;
    }
    if (comm.is_root())
        std::cout << mode << ": first-step gradient worst relative error " << grad_error
                  << "; after " << kSteps << " steps parameters at most " << param_max
                  << " from the 1-process run, " << param_apart << " of " << w_one.size()
                  << " further than 1e-5; replicas " << (identical ? "bit-identical" : "DIFFER")
                  << "\n";
    // Tolerances (docs/distributed.md). Gradients: the ranks sum their rows in
    // another order than one process (float partial sums per rank, then the
    // double average; BN sums in double), so they agree to float rounding
    // carried through B0's depth: 1e-4 relative (1e-3 of the tensor's largest
    // element as the floor for elements near zero). Parameters: AdamW's
    // first steps move each weight by about lr * sign(g), so an element whose
    // gradient is rounding noise around zero (few rows per batch norm at 32
    // px) may move the other way: every weight stays within 2 lr per step of
    // the 1-process run, and with --sync-bn fewer than 1% go further than 1e-5.
    const double lr = Replica::adamw().lr;
    bool ok = identical && grad_error < 1e-4 && param_max <= 2 * lr * kSteps;
    if (!duplicated) ok = ok && apart_share < 0.01;
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode != "sync-bn" && mode != "duplicated" && mode != "diverge") {
        std::cerr << "usage: mpi_train_worker sync-bn|duplicated|diverge\n";
        return 2;
    }
    std::unique_ptr<dist::Communicator> comm;
    try {
        comm = dist::open_communicator({});
        const int rc = run(*comm, mode);
        comm->barrier();
        if (comm->is_root() && rc == 0) std::cout << "worker ok" << std::endl;
        if (rc != 0) comm->abort("mpi_train_worker " + mode + ": a check failed", rc);
        return rc;
    } catch (const std::exception& e) {
        if (comm && comm->size() > 1) comm->abort(std::string("mpi_train_worker: ") + e.what(), 1);
        std::cerr << "mpi_train_worker: " << e.what() << std::endl;
        return 1;
    }
}
