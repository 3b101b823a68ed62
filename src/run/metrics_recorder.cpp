#include "run/metrics_recorder.hpp"

#include <cstdio>
#include <utility>
#include <vector>

#include "comm/communicator.hpp"
#include "run/report.hpp"
#include "train/trainer.hpp"

namespace tkg {

MetricsRecorder::MetricsRecorder(const RunOptions& o, Communicator& comm, int64_t keep_until_epoch) : o_(o), comm_(comm) {
  if (comm.rank() == 0)
    log_ = std::make_unique<MetricsLog>(o.out_dir + "/metrics.csv", o.out_dir + "/metrics.jsonl", keep_until_epoch);
}

void MetricsRecorder::validation(int64_t epoch, double loss, double train_s, double eval_s, const std::string& split,
                                 const MetricSums& m, bool sampled, bool best, const StepTiming& cur) {
  const int P = comm_.size();
  // Time split and traffic of the steps since the last row: max and mean (or sum) over ranks.
  const double now[7] = {cur.compute_s, cur.comm_s, static_cast<double>(cur.bytes_sent), static_cast<double>(cur.bytes_halo),
                         static_cast<double>(cur.bytes_negatives), static_cast<double>(cur.negatives_fetched), cur.negatives_s};
  double sums[6], maxs[3];
  for (int k = 0; k < 6; ++k) sums[k] = now[k] - since_[k];
  maxs[0] = sums[0], maxs[1] = sums[1], maxs[2] = now[6] - since_[6];
  for (int k = 0; k < 7; ++k) since_[k] = now[k];
  {
    CollectiveSite site(comm_, "metrics_recorder.validation");
    comm_.all_reduce_sum(sums, 6);
    comm_.all_reduce_max(maxs, 3);
  }
  if (comm_.rank() != 0) return;
  auto cols = std::vector<std::pair<std::string, double>>{
      {"epoch", static_cast<double>(epoch)}, {"loss", loss},            {"train_s", train_s},
      {"eval_s", eval_s},                     {"comm_s", maxs[1]},       {"bytes_sent", sums[2]},
      {"bytes_halo", sums[3]},                {"bytes_negatives", sums[4]}, {"negatives_fetched", sums[5]},
      {"compute_s_max", maxs[0]},             {"compute_s_mean", sums[0] / P}, {"comm_s_mean", sums[1] / P},
      // Waiting caused by load imbalance: the slowest rank's compute minus the mean.
      {"imbalance_s", maxs[0] - sums[0] / P}, {"negatives_s_max", maxs[2]},
      {"eval_users", static_cast<double>(m.users)}, {"final", 0.0}};
  auto mc = metric_columns(m, sampled);
  cols.insert(cols.end(), mc.begin(), mc.end());
  log_->add({{"split", split}}, cols);
  const TrainOptions& t = o_.train;
  const std::string K = std::to_string(t.ks.back());
  std::printf("  %s @ epoch %lld: %s  %s  %s  (eval %.2f s)%s\n", split.c_str(), static_cast<long long>(epoch),
              metric_text(m, t.select_metric, sampled).c_str(), metric_text(m, "recall_capped@" + K, sampled).c_str(),
              metric_text(m, "recall@" + K, false).c_str(), eval_s, best ? "  *" : "");
  std::fflush(stdout);
}

void MetricsRecorder::final_test(int64_t best_epoch, double loss, double eval_s, const MetricSums& m, bool sampled) {
  if (comm_.rank() != 0) return;
  auto cols = std::vector<std::pair<std::string, double>>{{"epoch", static_cast<double>(best_epoch)},
                                                          {"loss", loss},
                                                          {"train_s", 0.0},
                                                          {"eval_s", eval_s},
                                                          {"comm_s", 0.0},
                                                          {"bytes_sent", 0.0},
                                                          {"bytes_halo", 0.0},
                                                          {"bytes_negatives", 0.0},
                                                          {"negatives_fetched", 0.0},
                                                          {"compute_s_max", 0.0},
                                                          {"compute_s_mean", 0.0},
                                                          {"comm_s_mean", 0.0},
                                                          {"imbalance_s", 0.0},
                                                          {"negatives_s_max", 0.0},
                                                          {"eval_users", static_cast<double>(m.users)},
                                                          {"final", 1.0}};
  auto mc = metric_columns(m, sampled);
  cols.insert(cols.end(), mc.begin(), mc.end());
  log_->add({{"split", "test"}}, cols);
}

}  // namespace tkg
