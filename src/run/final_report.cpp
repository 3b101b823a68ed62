#include "run/final_report.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "comm/communicator.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include <nlohmann/json.hpp>
#include "common/phase_profile.hpp"
#include "run/report.hpp"
#include "train/trainer.hpp"

namespace tkg {

void write_final_report(const RunOptions& o, const Shard& s, Trainer& tr, Communicator& comm, Communicator* tensor_comm,
                        const RunTotals& r, const MetricSums& test) {
  CollectiveSite site(comm, "final_report");
  const int me = comm.rank(), P = comm.size();
  const bool sampled = o.train.eval_users > 0;
  const double my_peak = peak_rss_mb();
  std::vector<double> peaks(static_cast<size_t>(P));
  comm.all_gather_v(&my_peak, 1, peaks.data(), std::vector<int64_t>(P, 1), DType::kFloat64);
  const double peak = *std::max_element(peaks.begin(), peaks.end());
  const StepTiming& tm = tr.timing();
  double comm_total = comm.all_reduce_max(tm.comm_s);
  // Per rank: compute and time inside collectives (scaling studies split the latter into waiting
  // for the slowest rank and transfer).
  const double my_times[2] = {tm.compute_s, tm.comm_s};
  std::vector<double> rank_times(static_cast<size_t>(2 * P));
  comm.all_gather_v(my_times, 2, rank_times.data(), std::vector<int64_t>(P, 2), DType::kFloat64);
  uint64_t eval_bytes = comm.stats().bytes(Traffic::kEval);
  if (tensor_comm) eval_bytes += tensor_comm->stats().bytes(Traffic::kEval);
  double traffic[4] = {static_cast<double>(tm.bytes_sent), static_cast<double>(tm.bytes_halo),
                       static_cast<double>(tm.bytes_negatives), static_cast<double>(eval_bytes)};
  comm.all_reduce_sum(traffic, 4);
  if (me == 0) {
    const double per = r.epochs_run ? 1.0 / static_cast<double>(r.epochs_run) : 0.0;
    nlohmann::ordered_json w = nlohmann::ordered_json::object();
    w["best_epoch"] = r.best_epoch;
    w["epochs_run"] = r.epochs_run;
    w["seconds_per_epoch"] = r.train_seconds * per;
    w["comm_seconds_per_epoch"] = comm_total * per;
    w["bytes_sent_per_epoch"] = traffic[0] * per;
    w["halo_bytes_per_epoch"] = traffic[1] * per;
    w["negative_bytes_per_epoch"] = traffic[2] * per;
    w["eval_bytes"] = traffic[3];  // every evaluation of the run, all ranks (eval.ring)
    w["total_seconds"] = now_s() - r.start_time;
    w["ranks"] = static_cast<int64_t>(P);
    w["device"] = o.model.device;
    w["tensor_backend"] = tensor_comm ? tensor_comm->backend() : comm.backend();
    w["halo_bytes_per_layer"] = r.halo_bytes_layer;
    w["negatives"] = tr.sampler().uses_pool() ? "pool" : "exact";
    w["pool_size"] = tr.sampler().pool_size();
    w["negatives_per_line"] = tr.sampler().per_line();
    w["optimizer"] = o.train.optimizer;
    w["batch_size"] = o.train.batch_size;
    w["partition_id"] = std::to_string(s.partition_id);
    if (o.model.quant.bits) {
      QuantBytes qb = quant_bytes(o.model);
      w["quant_bits"] = static_cast<int64_t>(o.model.quant.bits);
      w["model_bytes_per_node"] = qb.model_quant;
      w["model_bytes_per_node_fp32"] = qb.model_fp32;
      w["train_state_bytes_per_node"] = qb.state_quant;
      w["train_state_bytes_per_node_fp32"] = qb.state_fp32;
      w["layer0_wire_bytes_per_halo_row"] = o.model.quant.fp8_halo ? qb.wire_quant : qb.wire_fp32;
      w["layer0_wire_bytes_per_halo_row_fp32"] = qb.wire_fp32;
    }
    w["threads_per_rank"] = static_cast<int64_t>(at::get_num_threads());
    w["threads_source"] = r.threads_source;
    w["peak_rss_mb"] = peak;
    w["peak_rss_mb_per_rank"] = nlohmann::ordered_json::array();
    for (double v : peaks) w["peak_rss_mb_per_rank"].push_back(v);
    // The memory plan's prediction beside the measured peak (run/memory_plan, docs/memory.md).
    if (!r.predicted_peak_mb.empty()) {
      w["memory_plan"] = nlohmann::ordered_json::object();
      w["memory_plan"]["recompute"] = o.model.recompute;
      w["memory_plan"]["host_cache_mb"] = static_cast<double>(r.host_cache_bytes) / 1048576.0;
      w["memory_plan"]["predicted_peak_mb_per_rank"] = r.predicted_peak_mb;
      if (o.model.device != "cpu") w["memory_plan"]["predicted_device_peak_mb_per_rank"] = r.predicted_device_mb;
      double worst = 0;
      for (size_t k = 0; k < peaks.size() && k < r.predicted_peak_mb.size(); ++k)
        worst = std::max(worst, std::abs(peaks[k] / r.predicted_peak_mb[k] - 1.0));
      w["memory_plan"]["largest_relative_error"] = worst;
    }
    w["per_rank"] = nlohmann::ordered_json::object();
    w["per_rank"]["compute_seconds_per_epoch"] = nlohmann::ordered_json::array();
    for (int r = 0; r < P; ++r) w["per_rank"]["compute_seconds_per_epoch"].push_back(rank_times[2 * r] * per);
    w["per_rank"]["comm_seconds_per_epoch"] = nlohmann::ordered_json::array();
    for (int r = 0; r < P; ++r) w["per_rank"]["comm_seconds_per_epoch"].push_back(rank_times[2 * r + 1] * per);
    w["setup_seconds"] = o.setup_seconds;
    w["mpi_thread_level"] = o.mpi_thread_level;
    w["command_line"] = o.command_line;
    const char* slurm_job = std::getenv("SLURM_JOB_ID");
    w["slurm_job_id"] = slurm_job ? slurm_job : "";
    w["build"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : o.build_info) w["build"][k] = v;
    w["train_seconds"] = r.train_seconds;
    // The run's own I/O phases (rank 0's clock; every rank takes part in each).
    w["checkpoint_seconds"] = r.checkpoint_seconds;
    w["checkpoints_written"] = r.checkpoints_written;
    w["resume_seconds"] = r.resume_seconds;
    w["export_seconds"] = r.export_seconds;
    w["topk_export_seconds"] = r.topk_seconds;
    w["final_eval_seconds"] = r.final_eval_seconds;
    w["validation_split"] = r.validation_split;
    w["best_" + o.train.select_metric] = r.best_score;
    w["eval_sampled_users"] = sampled ? r.sampled_users : int64_t{0};
    w["test"] = nlohmann::ordered_json::object();
    w["test"]["users"] = test.users;
    for (const std::string& name : test.names()) w["test"][name] = test.mean(name);
    if (sampled) {
      w["test_ci95"] = nlohmann::ordered_json::object();
      for (const std::string& name : test.names()) w["test_ci95"][name] = test.ci95(name);
    }
    write_file_atomic(o.out_dir + "/summary.json", w.dump(2) + "\n");
    print_test_table(test, o.train.ks, r.validation_split, r.best_epoch, sampled);
    std::printf("%lld epochs, %.3f s/epoch, peak RSS %.0f MiB; outputs in %s\n", static_cast<long long>(r.epochs_run),
                r.train_seconds * per, peak, o.out_dir.c_str());
    if (profile::enabled()) {
      const std::string rep = profile::report(static_cast<double>(r.epochs_run), "epoch");
      write_file_atomic(o.out_dir + "/profile.txt", rep);
      std::printf("profile (rank 0; phases nest):\n%s", rep.c_str());
    }
  }
}

}  // namespace tkg
