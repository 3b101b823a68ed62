// The memory ledger of one rank (issue: a memory plan a user can trust before submitting): what
// the rank will hold, item by item, computed from its shard's sizes and the options before any
// large allocation, and its predicted peak. The items mirror the structures that hold the bytes
// (the layer graphs, the train lines, the table and its AdamW moments, the activations each
// layer keeps for its backward, the loss's buffers, the evaluation blocks); docs/memory.md lists
// them and compares the prediction with measured peaks. No torch here.
//
// Phases: construction (the shard's CSR still there while the graphs are built), the training
// step's peak (during the backward) and evaluation; the predicted peak is the largest. A GPU model
// holds the graph, table and activations on the device (device items) and the shard, lines and
// plans on the host.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shard/shard_counts.hpp"
#include "train/options.hpp"

namespace tkg {

struct MemoryItem {
  std::string what;
  int64_t bytes = 0;
  bool device = false;  // on the model's device (a GPU); false: host memory
};

struct MemoryPlan {
  std::string recompute;              // the mode planned (none | weights | all)
  int64_t base = 0;                   // process and libraries (measured when planning)
  std::vector<MemoryItem> persistent; // held from construction to the end
  std::vector<MemoryItem> step;       // live at the training step's peak, on top of persistent
  std::vector<MemoryItem> eval;       // live during evaluation, on top of persistent
  int64_t construction_peak = 0, step_peak = 0, eval_peak = 0;
  int64_t peak = 0;                   // host peak (the largest phase); a CPU model's whole peak
  int64_t device_peak = 0;            // bytes on the GPU (0 for a CPU model)
  int64_t host_cache = 0;             // cap of the CPU allocator's cache of freed blocks (0: none)
};

// `base`: the resident bytes of the process before the shard is loaded (measured by the caller).
// `threads`: the CPU threads of the kernels (the loss's per-thread histograms).
// model.recompute "auto" plans "weights".
MemoryPlan plan_memory(const ShardCounts& c, const ModelOptions& m, const TrainOptions& t, int64_t base, int threads);

// The peak with the whole allocator cache held (the ledger counts a quarter of it): what the fit
// check compares with a node's memory.
inline int64_t worst_case_peak(const MemoryPlan& p) { return p.peak + p.host_cache - p.host_cache / 4; }

// The ledger as text lines (MiB), for one rank's plan.
std::string format_plan(const MemoryPlan& p);

}  // namespace tkg
