// What a rank of a data-parallel run does beyond a single process's training
// (docs/distributed.md), over dist/'s communicator. With the single-process
// communicator each function reduces to the single-process behaviour (the
// collectives are identities), so the trainer has one code path.
#pragma once

#include <cstdint>

#include "dist/communicator.h"
#include "kernels/batchnorm.h"
#include "optim/adamw.h"
#include "train/evaluate.h"
#include "train/model_spec.h"

namespace effnet {

// --sync-bn: batch-norm sums added over the ranks (kernels/batchnorm.h).
class CommunicatorSums final : public ChannelSumReducer {
public:
    explicit CommunicatorSums(dist::Communicator& comm) : comm_(comm) {}
    void sum(double* values, size_t n) override { comm_.all_reduce_sum(values, n); }

private:
    dist::Communicator& comm_;
};

// Rank 0's parameters, AdamW moments and step count, and batch-norm running
// statistics, on every rank (after setup, --init and --resume, and when the
// best weights are restored).
void broadcast_model_state(dist::Communicator& comm, Model& model, AdamW& opt, Context& ctx);
// Rank 0's batch-norm running statistics on every rank. With per-rank
// statistics each rank's drift apart (as with PyTorch DDP, which broadcasts
// rank 0's buffers): the trainer broadcasts them before every validation, so
// that every rank evaluates its share with the same model.
void broadcast_buffers(dist::Communicator& comm, Model& model, Context& ctx);

// The --check-replicas hash: parameters, moments and step count, and the
// batch-norm buffers when `with_buffers` (--sync-bn keeps them identical).
uint64_t replica_state_hash(Model& model, AdamW& opt, bool with_buffers);

// Every rank's evaluation of its shares, merged. Every rank gets the loss and
// accuracy over all images; rank 0 also gets prob, label, index, paths, tags
// and logits in the order one process evaluates them (by position in the
// split), so that metrics, thresholds, temperatures and intervals are those
// of a 1-process run.
EvalResult gather_evaluation(dist::Communicator& comm, const EvalResult& local,
                             const Loader& loader);

// The ranks' shares of one training step, exchanged before it.
struct StepShares {
    int64_t images = 0;    // in the global batch
    int empty_rank = -1;   // a rank with no image (every file of its share bad), or -1
    float loss_scale = 1;  // this rank's StepHooks::loss_scale
};
StepShares exchange_shares(dist::Communicator& comm, int64_t local_images);

// The ranks' results of one training step, exchanged after it: the loss and
// correct counts summed over the global batch, whether any rank was asked to
// stop (a signal), and the first rank whose loss is not finite.
struct StepResults {
    double loss_sum = 0;  // sum over the global batch's images
    int64_t correct = 0;
    bool stop = false;
    int nonfinite_rank = -1;
};
StepResults exchange_step_results(dist::Communicator& comm, float loss, int64_t images,
                                  int64_t correct, bool stop);

}  // namespace effnet
