// The metric rows of a run (RUNDIR/metrics.csv and metrics.jsonl, DESIGN §7): one per
// evaluation with the loss, the metrics and the training steps' time split and traffic since the
// previous row (max and mean over ranks), and the final test row. Rank 0 writes; the
// reductions are collective. No torch here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "eval/metrics.hpp"
#include "format/metrics_log.hpp"
#include "run/run.hpp"

namespace tkg {

class Communicator;
struct StepTiming;

class MetricsRecorder {
 public:
  // keep_until_epoch >= 0: a resumed run keeps the rows up to its checkpoint's epoch.
  MetricsRecorder(const RunOptions& o, Communicator& comm, int64_t keep_until_epoch);
  // Collective: the row of the validation at `epoch` (train_s: training seconds since the last
  // row; `now`: the trainer's running totals). Rank 0 also prints the validation line; best: the
  // score is the best so far (a '*').
  void validation(int64_t epoch, double loss, double train_s, double eval_s, const std::string& split,
                  const MetricSums& m, bool sampled, bool best, const StepTiming& now);
  // Rank 0: the final test row (at the best epoch).
  void final_test(int64_t best_epoch, double loss, double eval_s, const MetricSums& m, bool sampled);

 private:
  const RunOptions& o_;
  Communicator& comm_;
  std::unique_ptr<MetricsLog> log_;  // rank 0
  double since_[7] = {0, 0, 0, 0, 0, 0, 0};  // the totals at the last row
};

}  // namespace tkg
