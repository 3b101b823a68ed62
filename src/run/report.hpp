// What a run reports besides progress (DESIGN §7): the GNAQ byte accounting, the metric row
// columns of metrics.csv / metrics.jsonl, the summary.json document and the final test table.
// No torch here.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "eval/metrics.hpp"
#include "train/options.hpp"

namespace tkg {

// Bytes per node: stored model, training state, layer-0 halo row on the wire (DESIGN §3).
struct QuantBytes {
  double model_fp32, model_quant, state_fp32, state_quant, wire_fp32, wire_quant;
};
QuantBytes quant_bytes(const ModelOptions& m);
void print_quant_accounting(const ModelOptions& m, int64_t epoch);

// Metric columns of a row: each metric's mean and, for a sampled evaluation, its 95 % CI
// half-width ("ndcg@20_ci95").
std::vector<std::pair<std::string, double>> metric_columns(const MetricSums& m, bool with_ci);

// "ndcg@20 0.1234 ± 0.0021" (the ± part only with_ci).
std::string metric_text(const MetricSums& m, const std::string& name, bool with_ci);

// Rank 0: the run's first lines (ranks, backends, threads, graph, model, negatives, halo bytes).
struct RunBanner {
  int ranks = 1;
  std::string backend, rows_backend, device, threads_source;
  int threads = 1;
  int64_t users = 0, items = 0, train_lines = 0;
  std::string negatives;      // "exact sampler" | "shared pool of Q items/step"
  double halo_bytes_layer = 0;
};
void print_run_banner(const RunBanner& b, const ModelOptions& m, const TrainOptions& t);

// The final table of test metrics (rank 0).
void print_test_table(const MetricSums& test, const std::vector<int>& ks, const std::string& val_name,
                      int64_t best_epoch, bool with_ci);

}  // namespace tkg
