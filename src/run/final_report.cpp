#include "run/final_report.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "comm/communicator.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/json_writer.hpp"
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
    JsonWriter w;
    w.begin_object();
    w.key("best_epoch").value(r.best_epoch);
    w.key("epochs_run").value(r.epochs_run);
    w.key("seconds_per_epoch").value(r.train_seconds * per);
    w.key("comm_seconds_per_epoch").value(comm_total * per);
    w.key("bytes_sent_per_epoch").value(traffic[0] * per);
    w.key("halo_bytes_per_epoch").value(traffic[1] * per);
    w.key("negative_bytes_per_epoch").value(traffic[2] * per);
    w.key("eval_bytes").value(traffic[3]);  // every evaluation of the run, all ranks (eval.ring)
    w.key("total_seconds").value(now_s() - r.start_time);
    w.key("ranks").value(static_cast<int64_t>(P));
    w.key("device").value(o.model.device);
    w.key("tensor_backend").value(tensor_comm ? tensor_comm->backend() : comm.backend());
    w.key("halo_bytes_per_layer").value(r.halo_bytes_layer);
    w.key("negatives").value(tr.sampler().uses_pool() ? "pool" : "exact");
    w.key("pool_size").value(tr.sampler().pool_size());
    w.key("partition_id").value(std::to_string(s.partition_id));
    if (o.model.quant.bits) {
      QuantBytes qb = quant_bytes(o.model);
      w.key("quant_bits").value(static_cast<int64_t>(o.model.quant.bits));
      w.key("model_bytes_per_node").value(qb.model_quant);
      w.key("model_bytes_per_node_fp32").value(qb.model_fp32);
      w.key("train_state_bytes_per_node").value(qb.state_quant);
      w.key("train_state_bytes_per_node_fp32").value(qb.state_fp32);
      w.key("layer0_wire_bytes_per_halo_row").value(o.model.quant.fp8_halo ? qb.wire_quant : qb.wire_fp32);
      w.key("layer0_wire_bytes_per_halo_row_fp32").value(qb.wire_fp32);
    }
    w.key("threads_per_rank").value(static_cast<int64_t>(at::get_num_threads()));
    w.key("threads_source").value(r.threads_source);
    w.key("peak_rss_mb").value(peak);
    w.key("peak_rss_mb_per_rank").begin_array();
    for (double v : peaks) w.value(v);
    w.end_array();
    w.key("per_rank").begin_object();
    w.key("compute_seconds_per_epoch").begin_array();
    for (int r = 0; r < P; ++r) w.value(rank_times[2 * r] * per);
    w.end_array();
    w.key("comm_seconds_per_epoch").begin_array();
    for (int r = 0; r < P; ++r) w.value(rank_times[2 * r + 1] * per);
    w.end_array();
    w.end_object();
    w.key("setup_seconds").value(o.setup_seconds);
    w.key("mpi_thread_level").value(o.mpi_thread_level);
    w.key("command_line").value(o.command_line);
    const char* slurm_job = std::getenv("SLURM_JOB_ID");
    w.key("slurm_job_id").value(slurm_job ? slurm_job : "");
    w.key("build").begin_object();
    for (const auto& [k, v] : o.build_info) w.key(k).value(v);
    w.end_object();
    w.key("train_seconds").value(r.train_seconds);
    // The run's own I/O phases (rank 0's clock; every rank takes part in each).
    w.key("checkpoint_seconds").value(r.checkpoint_seconds);
    w.key("checkpoints_written").value(r.checkpoints_written);
    w.key("resume_seconds").value(r.resume_seconds);
    w.key("export_seconds").value(r.export_seconds);
    w.key("topk_export_seconds").value(r.topk_seconds);
    w.key("final_eval_seconds").value(r.final_eval_seconds);
    w.key("validation_split").value(r.validation_split);
    w.key("best_" + o.train.select_metric).value(r.best_score);
    w.key("eval_sampled_users").value(sampled ? r.sampled_users : int64_t{0});
    w.key("test").begin_object();
    w.key("users").value(test.users);
    for (const std::string& name : test.names()) w.key(name).value(test.mean(name));
    w.end_object();
    if (sampled) {
      w.key("test_ci95").begin_object();
      for (const std::string& name : test.names()) w.key(name).value(test.ci95(name));
      w.end_object();
    }
    w.end_object();
    write_file_atomic(o.out_dir + "/summary.json", w.str());
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
