// The end of a run (DESIGN §7): RUNDIR/summary.json (best epoch, test metrics, time per epoch,
// traffic, memory, per-rank time split, the run's I/O phases, build and launch facts), the test
// table and, with TKG_PROFILE=1, the phase profile. Collective: the per-rank facts are gathered.
#pragma once

#include <cstdint>
#include <string>

#include "eval/metrics.hpp"
#include "run/run.hpp"

namespace tkg {

class Communicator;
class Trainer;
struct Shard;

// What the loop knows at the end (rank 0's values are the ones written).
struct RunTotals {
  int64_t best_epoch = 0, epochs_run = 0;
  double best_score = 0;
  double train_seconds = 0, start_time = 0, final_eval_seconds = 0;
  double halo_bytes_layer = 0;
  std::string threads_source, validation_split;
  int64_t sampled_users = 0;
  double checkpoint_seconds = 0, resume_seconds = 0, export_seconds = 0, topk_seconds = 0;
  int64_t checkpoints_written = 0;
  std::vector<double> predicted_peak_mb, predicted_device_mb;  // [P] the memory plan's peaks (empty: no plan)
  int64_t host_cache_bytes = 0;  // cap of this rank's CPU allocator cache (0: none)
};

void write_final_report(const RunOptions& o, const Shard& s, Trainer& tr, Communicator& comm, Communicator* tensor_comm,
                        const RunTotals& r, const MetricSums& test);

}  // namespace tkg
