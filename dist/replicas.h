// The replica check behind --check-replicas K: data-parallel ranks must hold
// bit-identical parameters and optimizer state after every step (they apply
// the same averaged gradient to the same values). Every K steps each rank
// hashes its state, rank 0 compares, and a divergence fails every rank loudly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace effnet::dist {

// The hash (dist/shard.h ByteHash) of the tensors' bytes in order, then the
// integers (step counts); device tensors are read back to the host.
uint64_t state_hash(const std::vector<const Tensor*>& tensors,
                    const std::vector<int64_t>& integers);

// Gathers every rank's `hash`; when any differs from rank 0's, throws
// DistError on every rank naming those ranks, their hashes and `when`
// ("after step 12"). A collective: every rank calls it at the same step.
void check_replicas(Communicator& comm, uint64_t hash, const std::string& when);

}  // namespace effnet::dist
