// The memory plan at the start of a run (collective): every rank's ledger (run/memory_plan) from
// its shard's sizes, summed per node and compared with the memory the node has, before the
// trainer allocates anything large. Rank 0 prints the largest rank's ledger and the per-node
// totals; when a node's ranks would not fit it replans with recomputation (model.recompute =
// auto), and otherwise stops the run (train.memory_check = stop) with the table and the options
// that would fit. The decision is rank 0's, broadcast. No torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "run/memory_plan.hpp"
#include "run/run.hpp"
#include "shard/shard_counts.hpp"

namespace tkg {

class Communicator;

struct MemoryCheck {
  std::string recompute;                 // the mode to run (none | weights | all)
  std::vector<double> predicted_mb;      // [P] predicted host peak per rank
  std::vector<double> predicted_device_mb;  // [P] predicted device peak per rank (0 on the CPU)
  bool fits = true;
  int64_t host_cache = 0;                // this rank's cap of the CPU allocator's cache (bytes; 0: none)
};

// Collective. Throws InputError("memory plan", ...) when the plan does not fit and
// train.memory_check is "stop". `base`: the process's resident bytes before the shard was loaded.
MemoryCheck check_memory(const RunOptions& o, const ShardCounts& counts, int64_t base, Communicator& comm);

// tkg-train --plan-memory in one process for a partition directory of P shards (each shard file
// counted without being held): prints every rank's predicted peak, the largest rank's ledger and
// the total for one node holding all P ranks; returns 0.
int print_partition_plan(const RunOptions& o, int64_t base);

}  // namespace tkg
