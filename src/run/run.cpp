#include "run/run.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "comm/communicator.hpp"
#include "common/clock.hpp"
#include "common/cpu_threads.hpp"
#include "common/error.hpp"
#include "common/fault_injection.hpp"
#include "common/fs.hpp"
#include "common/phase_profile.hpp"
#include "common/json_writer.hpp"
#include "eval/eval_users.hpp"
#include "eval/ring_evaluator.hpp"
#include "run/checkpoint.hpp"
#include "run/exports.hpp"
#include "run/loop_decision.hpp"
#include "run/outputs.hpp"
#include "run/progress.hpp"
#include "run/report.hpp"
#include "run/resume.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace tkg {

namespace {


// SIGTERM / SIGUSR1 ask for a checkpoint and a clean stop at the end of the current epoch.
// TKG_SIGNAL_AT_EPOCH=E raises SIGUSR1 on rank 0 after epoch E (for the tests).
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

void install_stop_signals() {
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stop_signal);
}

bool stop_signal_received(int me, int64_t epoch) {
  if (const char* e = std::getenv("TKG_SIGNAL_AT_EPOCH"); e && me == 0 && std::atoll(e) == epoch) std::raise(SIGUSR1);
  return g_stop_signal != 0;
}

// The users one evaluation of a split scores, and what it costs.
struct EvalPlan {
  std::string name;     // valid | test
  EvalUsers users;
  double est_s = 0;     // estimated seconds (slowest rank)
};

}  // namespace

std::string resolve_device(const std::string& device, Communicator& comm) {
  if (device == "cpu") return device;
  if (device.rfind("cuda", 0) != 0) throw InputError("model.device", 0, "expected cpu, cuda or cuda:N, got '" + device + "'");
  if (!at::hasCUDA())
    throw InputError("model.device", 0, "rank " + std::to_string(comm.rank()) + ": model.device = " + device +
                     " but this LibTorch has no CUDA or no GPU is visible (build against a CUDA LibTorch, see docs/gpu.md)");
  if (device != "cuda") return device;
  const int n = static_cast<int>(at::detail::getCUDAHooks().getNumGPUs());
  return "cuda:" + std::to_string(local_rank_from_env(comm.local_rank()) % n);  // as the NCCL backend chooses
}

int run_training(const RunOptions& opts, const Shard& shard, Communicator& comm, Communicator* tensor_comm) {
  RunOptions o = opts;
  o.model.device = resolve_device(opts.model.device, comm);
  const int me = comm.rank(), P = comm.size();
  // Intra-op threads: as configured, else the rank's share of the node (common/cpu_threads.hpp).
  const ThreadChoice threads = choose_threads(o.threads, comm.local_size());
  at::set_num_threads(threads.threads);
  const double t_start = now_s();
  if (me == 0) {
    fs::create_directories(o.out_dir);
    if (!o.config_text.empty()) write_file_atomic(o.out_dir + "/config.ini", o.config_text);
  }
  comm.barrier();
  Trainer trainer(shard, o.model, o.train, comm, tensor_comm);
  if (!o.init_from.empty()) {
    if (fs::is_regular_file(o.init_from)) {
      if (o.model.quant.bits == 0) throw InputError(o.init_from, 0, "a GNAQ model needs quant.bits set as in training");
      load_gnaq(shard, trainer, o.model, o.init_from, comm);
    } else {
      load_checkpoint(shard, trainer, o.model, o.init_from);
    }
    if (me == 0) std::printf("parameters loaded from %s\n", o.init_from.c_str());
  }
  // GNAQ without warm-up quantizes the initial (or loaded) table right away, so that an
  // evaluation-only run (train.epochs = 0) evaluates the quantized model too.
  if (o.model.quant.bits && o.model.quant.warmup_epochs == 0 && !trainer.quantized()) {
    trainer.quantize_now();
    if (me == 0) print_quant_accounting(o.model, 0);
  }
  // Halo traffic of one layer exchange (all ranks): rows sent × (d + 1 β column) × 4 bytes.
  const double halo_bytes_layer =
      static_cast<double>(comm.all_reduce_sum(static_cast<int64_t>(shard.send_list.size()))) * (o.model.dim + 1) * 4.0;
  fault_point("start", me);  // TKG_FAULT_INJECT (failure tests)
  const TrainOptions& t = o.train;
  const int64_t valid_lines = comm.all_reduce_sum(static_cast<int64_t>(shard.valid.items.size()));
  const OwnedUserItems& val_split = valid_lines > 0 ? shard.valid : shard.test;
  const bool sampled = t.eval_users > 0;
  // Users each evaluation scores (the same sample at every epoch), and its estimated time from
  // a short probe of this rank's scoring speed.
  const double rate = probe_score_rate(trainer.width(), trainer.device(), std::max<int>(t.ks.back(), t.topk_export));
  auto plan_eval = [&](const std::string& name, const OwnedUserItems& split) {
    EvalPlan p{name, select_eval_users(shard, split, t.eval_users, t.seed, comm), 0};
    p.est_s = comm.all_reduce_max(static_cast<double>(p.users.local.size()) * static_cast<double>(shard.n_items) / rate);
    return p;
  };
  EvalPlan val_plan = plan_eval(valid_lines > 0 ? "valid" : "test", val_split);
  EvalPlan test_plan = valid_lines > 0 ? plan_eval("test", shard.test) : val_plan;
  // Resumable checkpoints: continue from one (train.resume), write one every N epochs, at the
  // end, and when SIGTERM / SIGUSR1 arrives (what Slurm sends before preemption or the time limit).
  const std::string ckpt_root = o.out_dir + "/checkpoints";
  LoopState resumed;
  const double r0 = now_s();
  const bool did_resume = !o.resume.empty() && resume_from(shard, trainer, o.model, t, o.resume, ckpt_root, &resumed, comm);
  const double resume_s = now_s() - r0;  // choosing, reading and verifying the checkpoint
  if (!o.resume.empty() && !did_resume && me == 0)
    std::printf("no checkpoint to resume in %s: starting from scratch\n", ckpt_root.c_str());
  install_stop_signals();
  std::unique_ptr<MetricsLog> log;
  if (me == 0) {
    log = std::make_unique<MetricsLog>(o.out_dir + "/metrics.csv", o.out_dir + "/metrics.jsonl",
                                       did_resume ? resumed.epoch : -1);
    std::printf("tkg-train: %d rank(s), %s backend%s, device %s, %d thread(s)/rank (%s); %lld users, %lld items, "
                "%lld train lines; L=%d d=%d attention=%s%s lr=%g reg=%g; negatives: %s\n",
                P, comm.backend().c_str(),
                tensor_comm ? (", rows over " + tensor_comm->backend()).c_str() : "", o.model.device.c_str(),
                at::get_num_threads(), threads.source.c_str(), static_cast<long long>(shard.n_users),
                static_cast<long long>(shard.n_items), static_cast<long long>(trainer.global_lines()),
                o.model.layers, o.model.dim, o.model.attention.c_str(), o.model.use_beta ? "" : " (no beta)", t.lr,
                t.reg,
                trainer.sampler().uses_pool() ? ("shared pool of " + std::to_string(trainer.sampler().pool_size()) + " items/step").c_str()
                                              : "exact sampler");
    if (P > 1) std::printf("halo exchange: %.2f MiB per layer (all ranks, d=%d + beta, fp32)\n", halo_bytes_layer / (1 << 20), o.model.dim);
    if (valid_lines == 0) std::printf("note: no validation split; model selection uses the test split\n");
    std::printf("evaluation: %s%lld of %lld %s users x %lld items per evaluation, estimated %s each (test: %s)\n",
                sampled ? "sampled, " : "", static_cast<long long>(val_plan.users.global),
                static_cast<long long>(val_plan.users.eligible), val_plan.name.c_str(),
                static_cast<long long>(shard.n_items), fmt_duration(val_plan.est_s).c_str(),
                fmt_duration(test_plan.est_s).c_str());
    if (!sampled && std::max(val_plan.est_s, test_plan.est_s) > 120)
      std::printf("note: a full evaluation ranks every user against every item (about %s here); for a graph this "
                  "size evaluate a fixed sample, e.g. --eval.users 10000 (metrics then carry a 95 %% confidence "
                  "interval)\n",
                  fmt_duration(std::max(val_plan.est_s, test_plan.est_s)).c_str());
    std::fflush(stdout);
  }
  const bool tty = me == 0 && P == 1 && ::isatty(1);  // mpirun gives ranks a pty: plain lines there
  Progress progress(me == 0 && o.progress, tty, o.progress_every_s);
  // One evaluation, with progress lines when it is long.
  auto run_eval = [&](const EvalPlan& p, const OwnedUserItems& split, TopKAccumulator* keep) {
    const double v0 = now_s();
    if (me == 0 && o.progress && p.est_s > 2 * o.progress_every_s) {
      progress.break_line();
      std::printf("  evaluating %s: %lld users x %lld items, estimated %s\n", p.name.c_str(),
                  static_cast<long long>(p.users.global), static_cast<long long>(shard.n_items),
                  fmt_duration(p.est_s).c_str());
      std::fflush(stdout);
    }
    return trainer.evaluate(split, p.users.local, keep, [&](double f) { progress.evaluation(p.name, f, now_s() - v0); });
  };
  double best = resumed.best, best_score = 0, last_loss = 0;
  int64_t best_epoch = resumed.best_epoch, epochs_run = resumed.epoch, saved_epoch = -1;
  double train_s_total = resumed.train_seconds, train_s_since = 0;
  double last_ckpt_t = now_s();  // when the last resumable checkpoint was written (or the run started)
  double checkpoint_s = 0;  // writing resumable checkpoints (all of them)
  int64_t checkpoints = 0;
  auto checkpoint = [&](int64_t epoch) {
    if (!o.save_checkpoint || saved_epoch == epoch) return;
    const double c0 = now_s();
    save_resumable(shard, trainer, o.model, t, LoopState{epoch, best, best_epoch, train_s_total}, ckpt_root,
                   o.checkpoint_keep, comm);
    checkpoint_s += now_s() - c0;
    ++checkpoints;
    saved_epoch = epoch;
    last_ckpt_t = now_s();
  };
  StepTiming since{};
  double since_neg_s = 0;
  int64_t cur_epoch = 0;
  double epoch_t0 = 0;
  trainer.set_step_callback([&](int64_t s, int64_t n) {
    progress.step(cur_epoch, t.epochs, s, n, now_s() - epoch_t0, epochs_run ? train_s_total / static_cast<double>(epochs_run) : 0);
  });
  for (int64_t epoch = resumed.epoch + 1; epoch <= t.epochs; ++epoch) {
    cur_epoch = epoch;
    epoch_t0 = now_s();
    const bool was_quantized = trainer.quantized();
    last_loss = trainer.train_epoch(epoch - 1);
    if (!was_quantized && trainer.quantized()) {
      // GNAQ phase 2 starts: model selection starts over, so the kept model is a quantized one.
      best = -1;
      best_epoch = 0;
      if (me == 0) {
        progress.break_line();
        print_quant_accounting(o.model, epoch);
      }
    }
    const double es = now_s() - epoch_t0;
    train_s_total += es;
    train_s_since += es;
    epochs_run = epoch;
    // Every branch of the loop is rank 0's decision, broadcast (loop_decision.hpp).
    EpochDecision div;
    div.diverged = !std::isfinite(last_loss);
    if (broadcast_decision(comm, div).diverged) {
      if (me == 0) std::fprintf(stderr, "tkg-train: error: loss is %f at epoch %lld (diverged; lower train.lr)\n",
                                last_loss, static_cast<long long>(epoch));
      return 3;
    }
    const bool eval_now = epoch % t.eval_every == 0 || epoch == t.epochs;
    progress.epoch(epoch, t.epochs, last_loss, train_s_total / static_cast<double>(epoch), eval_now);
    EpochDecision d;  // filled on rank 0 (the others' values are ignored), then broadcast
    if (eval_now) {
    const double v0 = now_s();
    MetricSums m = run_eval(val_plan, val_split, nullptr);
    const double eval_s = now_s() - v0;
    const double score = m.mean(t.select_metric);
    // Time split and traffic of the steps since the last row: max and mean (or sum) over ranks.
    StepTiming cur = trainer.timing();
    double vals[6] = {cur.compute_s - since.compute_s, cur.comm_s - since.comm_s,
                      static_cast<double>(cur.bytes_sent - since.bytes_sent),
                      static_cast<double>(cur.bytes_halo - since.bytes_halo),
                      static_cast<double>(cur.bytes_negatives - since.bytes_negatives),
                      static_cast<double>(cur.negatives_fetched - since.negatives_fetched)};
    since = cur;
    double sums[6] = {vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]},
           maxs[3] = {vals[0], vals[1], cur.negatives_s - since_neg_s};
    since_neg_s = cur.negatives_s;
    comm.all_reduce_sum(sums, 6);
    comm.all_reduce_max(maxs, 3);
    if (me == 0) {
      auto cols = std::vector<std::pair<std::string, double>>{
          {"epoch", static_cast<double>(epoch)}, {"loss", last_loss},        {"train_s", train_s_since},
          {"eval_s", eval_s},                     {"comm_s", maxs[1]},         {"bytes_sent", sums[2]},
          {"bytes_halo", sums[3]},                {"bytes_negatives", sums[4]}, {"negatives_fetched", sums[5]},
          {"compute_s_max", maxs[0]},             {"compute_s_mean", sums[0] / P}, {"comm_s_mean", sums[1] / P},
          // Waiting caused by load imbalance: the slowest rank's compute minus the mean.
          {"imbalance_s", maxs[0] - sums[0] / P}, {"negatives_s_max", maxs[2]},
          {"eval_users", static_cast<double>(m.users)}, {"final", 0.0}};
      auto mc = metric_columns(m, sampled);
      cols.insert(cols.end(), mc.begin(), mc.end());
      log->add({{"split", val_plan.name}}, cols);
      const std::string K = std::to_string(t.ks.back());
      std::printf("  %s @ epoch %lld: %s  %s  %s  (eval %.2f s)%s\n", val_plan.name.c_str(),
                  static_cast<long long>(epoch), metric_text(m, t.select_metric, sampled).c_str(),
                  metric_text(m, "recall_capped@" + K, sampled).c_str(), metric_text(m, "recall@" + K, false).c_str(),
                  eval_s, score > best ? "  *" : "");
      std::fflush(stdout);
    }
    train_s_since = 0;
    d.improved = score > best;
    d.early_stop = !d.improved && epoch - best_epoch >= t.patience;
    best_score = score;
    }  // eval_now
    // Inputs from every rank: the slowest rank's time since the last checkpoint, and whether a
    // stop signal reached any rank. Rank 0 decides from them.
    double inputs[2] = {now_s() - last_ckpt_t, stop_signal_received(me, epoch) ? 1.0 : 0.0};
    {
      CollectiveSite site(comm, "run.decision_inputs");
      comm.all_reduce_max(inputs, 2);
    }
    if (o.checkpoint_every > 0)
      d.checkpoint = epoch % o.checkpoint_every == 0;
    else  // at most one per checkpoint_interval_s (a checkpoint costs about as much as a few short epochs)
      d.checkpoint = eval_now && inputs[0] >= o.checkpoint_interval_s;
    d.stop_signal = inputs[1] > 0;
    d = broadcast_decision(comm, d);
    if (d.improved) {
      best = best_score;
      best_epoch = epoch;
      trainer.save_best();
    }
    if (d.early_stop && me == 0)
      std::printf("early stop: no %s improvement for %lld epochs\n", t.select_metric.c_str(),
                  static_cast<long long>(epoch - best_epoch));
    if (d.checkpoint) checkpoint(epoch);
    // A stop signal on any rank: every rank checkpoints and ends.
    if (d.stop_signal) {
      checkpoint(epoch);
      if (me == 0) {
        progress.break_line();
        std::printf("stop signal: checkpoint of epoch %lld written to %s; continue with --train.resume auto\n",
                    static_cast<long long>(epoch), ckpt_root.c_str());
        std::fflush(stdout);
      }
      return kExitInterrupted;
    }
    if (d.early_stop) break;
  }
  checkpoint(epochs_run);
  progress.break_line();
  trainer.restore_best();
  // The final test: the evaluated users, plus (full evaluation) every other owned user, whose
  // top-K lists are exported too.
  std::vector<int64_t> test_users = test_plan.users.local;
  if (!sampled) {
    test_users.resize(static_cast<size_t>(shard.n_own_users));
    for (int64_t u = 0; u < shard.n_own_users; ++u) test_users[u] = u;
  }
  EvalPlan final_plan = test_plan;
  final_plan.users.local = test_users;
  const int64_t kkeep = std::max<int64_t>(t.topk_export, t.ks.back());
  TopKAccumulator acc(static_cast<int64_t>(test_users.size()), static_cast<int>(kkeep));
  const double v0 = now_s();
  MetricSums test = run_eval(final_plan, shard.test, &acc);
  const double eval_s = now_s() - v0;
  if (me == 0) {
    auto cols = std::vector<std::pair<std::string, double>>{{"epoch", static_cast<double>(best_epoch)},
                                                            {"loss", last_loss},
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
                                                            {"eval_users", static_cast<double>(test.users)},
                                                            {"final", 1.0}};
    auto mc = metric_columns(test, sampled);
    cols.insert(cols.end(), mc.begin(), mc.end());
    log->add({{"split", "test"}}, cols);
  }
  const double x0 = now_s();
  if (o.save_checkpoint) save_checkpoint(shard, trainer, o.model, best_epoch, o.out_dir + "/checkpoint", comm);
  if (trainer.quantized()) export_gnaq(shard, trainer, o.model, o.out_dir + "/model.gnaq", comm);
  if (o.export_embeddings) export_embeddings(shard, trainer, o.out_dir + "/embeddings", comm, o.id_map_dir);
  const double x1 = now_s();
  export_topk(shard, test_users, acc, t.topk_export, o.out_dir + "/topk.tsv", comm, o.id_map_dir);
  const double export_s = x1 - x0, topk_s = now_s() - x1;
  const double my_peak = peak_rss_mb();
  std::vector<double> peaks(static_cast<size_t>(P));
  comm.all_gather_v(&my_peak, 1, peaks.data(), std::vector<int64_t>(P, 1), DType::kFloat64);
  const double peak = *std::max_element(peaks.begin(), peaks.end());
  const StepTiming& tm = trainer.timing();
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
    const double per = epochs_run ? 1.0 / static_cast<double>(epochs_run) : 0.0;
    JsonWriter w;
    w.begin_object();
    w.key("best_epoch").value(best_epoch);
    w.key("epochs_run").value(epochs_run);
    w.key("seconds_per_epoch").value(train_s_total * per);
    w.key("comm_seconds_per_epoch").value(comm_total * per);
    w.key("bytes_sent_per_epoch").value(traffic[0] * per);
    w.key("halo_bytes_per_epoch").value(traffic[1] * per);
    w.key("negative_bytes_per_epoch").value(traffic[2] * per);
    w.key("eval_bytes").value(traffic[3]);  // every evaluation of the run, all ranks (eval.ring)
    w.key("total_seconds").value(now_s() - t_start);
    w.key("ranks").value(static_cast<int64_t>(P));
    w.key("device").value(o.model.device);
    w.key("tensor_backend").value(tensor_comm ? tensor_comm->backend() : comm.backend());
    w.key("halo_bytes_per_layer").value(halo_bytes_layer);
    w.key("negatives").value(trainer.sampler().uses_pool() ? "pool" : "exact");
    w.key("pool_size").value(trainer.sampler().pool_size());
    w.key("partition_id").value(std::to_string(shard.partition_id));
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
    w.key("threads_source").value(threads.source);
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
    w.key("train_seconds").value(train_s_total);
    // The run's own I/O phases (rank 0's clock; every rank takes part in each).
    w.key("checkpoint_seconds").value(checkpoint_s);
    w.key("checkpoints_written").value(checkpoints);
    w.key("resume_seconds").value(resume_s);
    w.key("export_seconds").value(export_s);
    w.key("topk_export_seconds").value(topk_s);
    w.key("final_eval_seconds").value(eval_s);
    w.key("validation_split").value(val_plan.name);
    w.key("best_" + t.select_metric).value(best);
    w.key("eval_sampled_users").value(sampled ? test_plan.users.global : int64_t{0});
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
    print_test_table(test, t.ks, val_plan.name, best_epoch, sampled);
    std::printf("%lld epochs, %.3f s/epoch, peak RSS %.0f MiB; outputs in %s\n", static_cast<long long>(epochs_run),
                train_s_total * per, peak, o.out_dir.c_str());
    if (profile::enabled()) {
      const std::string rep = profile::report(static_cast<double>(epochs_run), "epoch");
      write_file_atomic(o.out_dir + "/profile.txt", rep);
      std::printf("profile (rank 0; phases nest):\n%s", rep.c_str());
    }
  }
  return 0;
}

}  // namespace tkg
