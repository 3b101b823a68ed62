#include "run/run.hpp"

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "comm/communicator.hpp"
#include "common/clock.hpp"
#include "common/memory.hpp"
#include "model/host_allocator.hpp"
#include "run/memory_check.hpp"
#include "shard/shard_counts.hpp"
#include "common/cpu_threads.hpp"
#include "common/error.hpp"
#include "common/fault_injection.hpp"
#include "common/fs.hpp"
#include "run/gnaq_export.hpp"
#include "run/initial_parameters.hpp"
#include "run/checkpoint_policy.hpp"
#include "run/evaluation_schedule.hpp"
#include "run/exports.hpp"
#include "run/final_report.hpp"
#include "run/loop_decision.hpp"
#include "run/metrics_recorder.hpp"
#include "run/model_selection.hpp"
#include "run/progress.hpp"
#include "run/report.hpp"
#include "run/resume.hpp"
#include "run/stop_signal.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;

namespace tkg {

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

namespace {

// Device and threads of this rank, the run directory and its config.ini.
void prepare_run(RunOptions& o, Communicator& comm, RunTotals* r) {
  o.model.device = resolve_device(o.model.device, comm);
  const ThreadChoice threads = choose_threads(o.threads, comm.local_size());  // common/cpu_threads.hpp
  at::set_num_threads(threads.threads);
  r->start_time = now_s();
  r->threads_source = threads.source;
  if (comm.rank() == 0) {
    fs::create_directories(o.out_dir);
    if (!o.config_text.empty()) write_file_atomic(o.out_dir + "/config.ini", o.config_text);
  }
  comm.barrier();
}

// Rank 0: the run's first lines.
void print_banner(const RunOptions& o, const Shard& shard, Trainer& trainer, Communicator& comm, Communicator* tensor_comm,
                  const RunTotals& r, const EvaluationSchedule& evals) {
  const NegativeSampler& ns = trainer.sampler();
  print_run_banner(RunBanner{comm.size(), comm.backend(), tensor_comm ? tensor_comm->backend() : "", o.model.device,
                             r.threads_source, at::get_num_threads(), shard.n_users, shard.n_items, trainer.global_lines(),
                             ns.uses_pool() ? "shared pool of " + std::to_string(ns.pool_size()) + " items/step" : "exact sampler",
                             r.halo_bytes_layer},
                   o.model, o.train);
  evals.print_plan();
  std::fflush(stdout);
}

// The outputs at the end (model.gnaq, embeddings, top-K lists), timed. The model itself is in the
// last resumable checkpoint (its kept best copy), which train.init_from reads.
void write_outputs(const RunOptions& o, const Shard& shard, Trainer& trainer,
                   const std::vector<int64_t>& test_users, const TopKAccumulator& lists, Communicator& comm, RunTotals* r) {
  const double x0 = now_s();
  if (trainer.quantized()) export_gnaq(shard, trainer, o.model, o.out_dir + "/model.gnaq", comm);
  if (o.export_embeddings) export_embeddings(shard, trainer, o.out_dir + "/embeddings", comm, o.id_map_dir);
  const double x1 = now_s();
  export_topk(shard, test_users, lists, o.train.topk_export, o.out_dir + "/topk.tsv", comm, o.id_map_dir);
  r->export_seconds = x1 - x0, r->topk_seconds = now_s() - x1;
}

// The memory plan, before anything large is allocated (and before the run directory exists, so
// --plan-memory writes nothing): the recomputation mode it chose, its predictions for the report,
// and the CPU allocator's cache of freed blocks. Returns true for --plan-memory (nothing to run).
bool plan_memory_and_allocator(RunOptions* o, const Shard& shard, Communicator& comm, RunTotals* r) {
  if (o->plan_memory && o->train.memory_check == "stop") o->train.memory_check = "warn";
  int64_t host_cache = o->train.host_cache_mb > 0 ? static_cast<int64_t>(o->train.host_cache_mb * 1048576.0) : 0;  // no plan: no auto cache
  if (o->train.memory_check != "off" || o->plan_memory) {
    const MemoryCheck mem = check_memory(*o, count_shard(shard), o->base_rss_bytes, comm);
    if (o->model.recompute == "auto") o->model.recompute = mem.recompute;
    r->predicted_peak_mb = mem.predicted_mb, r->predicted_device_mb = mem.predicted_device_mb;
    host_cache = mem.host_cache;
  }
  if (o->plan_memory) return true;
  // A CPU model's freed large blocks kept for the next step (a GPU model's tensors are the CUDA
  // caching allocator's). Rank-local: it changes no result and no collective.
  if (host_cache > 0 && o->model.device == "cpu") install_host_cache(host_cache);
  r->host_cache_bytes = host_cache_installed() ? host_cache_stats().cap : 0;
  return false;
}

// After the loop: the best parameters back, the final test, the outputs and summary.json.
void finish_run(const RunOptions& o, const Shard& shard, Trainer& trainer, Communicator& comm, Communicator* tensor_comm,
                EvaluationSchedule& evals, const CheckpointPolicy& checkpoints, const ModelSelection& selection,
                const LoopState& loop, double loss, MetricsRecorder& metrics, Progress& progress, RunTotals* r) {
  progress.break_line();
  trainer.restore_best();
  std::vector<int64_t> test_users;
  std::unique_ptr<TopKAccumulator> lists;
  const double v0 = now_s();
  const MetricSums test = evals.final_test(progress, &test_users, &lists);
  r->final_eval_seconds = now_s() - v0;
  metrics.final_test(selection.best_epoch(), loss, r->final_eval_seconds, test, evals.sampled());
  write_outputs(o, shard, trainer, test_users, *lists, comm, r);
  r->best_epoch = selection.best_epoch(), r->best_score = selection.best(), r->epochs_run = loop.epoch, r->train_seconds = loop.train_seconds;
  r->validation_split = evals.validation().name, r->sampled_users = evals.test().users.global;
  r->checkpoint_seconds = checkpoints.seconds(), r->checkpoints_written = checkpoints.written();
  write_final_report(o, shard, trainer, comm, tensor_comm, *r, test);
}

}  // namespace

// The run (DESIGN §7), Lightning's fit loop in shape: the trainer does the steps; small objects
// decide when to evaluate (EvaluationSchedule), what to keep (ModelSelection), when to checkpoint
// (CheckpointPolicy), what to log (MetricsRecorder) and what to report (final_report); every
// branch of the loop is rank 0's decision, broadcast (EpochDecision).
int run_training(const RunOptions& opts, Shard& shard, Communicator& comm, Communicator* tensor_comm) {
  RunOptions o = opts;
  const int me = comm.rank();
  RunTotals r;
  if (plan_memory_and_allocator(&o, shard, comm, &r)) return 0;  // --plan-memory
  prepare_run(o, comm, &r);
  memory_mark("shard loaded");
  Trainer trainer(shard, o.model, o.train, comm, tensor_comm);
  release_local_csr(shard);  // the trainer's layer graphs hold the edges from here on
  memory_mark("shard CSR released");
  load_initial_parameters(shard, trainer, o.model, o.train, o.init_from, comm);
  // Halo traffic of one layer exchange (all ranks): rows sent × (d + 1 β column) × 4 bytes.
  r.halo_bytes_layer = static_cast<double>(comm.all_reduce_sum(static_cast<int64_t>(shard.send_list.size()))) * (o.model.dim + 1) * 4.0;
  fault_point("start", me);  // TKG_FAULT_INJECT (failure tests)
  EvaluationSchedule evals(o, shard, trainer, comm);
  CheckpointPolicy checkpoints(o, shard, trainer, comm);
  LoopState loop;
  const double r0 = now_s();
  const bool resumed = !o.resume.empty() && resume_from(shard, trainer, o.model, o.train, o.resume, checkpoints.root(), &loop, comm);
  r.resume_seconds = now_s() - r0;
  if (!o.resume.empty() && !resumed && me == 0) std::printf("no checkpoint to resume in %s: starting from scratch\n", checkpoints.root().c_str());
  install_stop_signals();
  MetricsRecorder metrics(o, comm, resumed ? loop.epoch : -1);
  if (me == 0) print_banner(o, shard, trainer, comm, tensor_comm, r, evals);
  Progress progress(me == 0 && o.progress, me == 0 && comm.size() == 1 && ::isatty(1), o.progress_every_s);  // mpirun gives ranks a pty: plain lines there
  ModelSelection selection(loop.best, loop.best_epoch, o.train.patience);
  double loss = 0, train_since = 0;
  int64_t epoch_now = 0;
  double epoch_t0 = 0;
  trainer.set_step_callback([&](int64_t s, int64_t n) {
    progress.step(epoch_now, o.train.epochs, s, n, now_s() - epoch_t0, loop.epoch ? loop.train_seconds / static_cast<double>(loop.epoch) : 0);
  });
  auto state = [&] { return LoopState{loop.epoch, selection.best(), selection.best_epoch(), loop.train_seconds}; };
  for (int64_t epoch = loop.epoch + 1; epoch <= o.train.epochs; ++epoch) {
    epoch_now = epoch, epoch_t0 = now_s();
    const bool was_quantized = trainer.quantized();
    loss = trainer.train_epoch(epoch - 1);
    if (!was_quantized && trainer.quantized()) {  // GNAQ phase 2: model selection starts over
      selection.restart();
      if (me == 0) progress.break_line(), print_quant_accounting(o.model, epoch);
    }
    const double epoch_s = now_s() - epoch_t0;
    loop.train_seconds += epoch_s, train_since += epoch_s;
    loop.epoch = epoch;
    EpochDecision d;  // rank 0's values count: it is broadcast
    d.diverged = !std::isfinite(loss);
    if (broadcast_decision(comm, d).diverged) {
      if (me == 0) std::fprintf(stderr, "tkg-train: error: loss is %f at epoch %lld (diverged; lower train.lr)\n", loss, static_cast<long long>(epoch));
      return 3;
    }
    const bool eval_now = evals.due(epoch);
    progress.epoch(epoch, o.train.epochs, loss, loop.train_seconds / static_cast<double>(epoch), eval_now);
    double score = 0;
    if (eval_now) {
      const double v0 = now_s();
      const MetricSums m = evals.validate(progress);
      memory_mark("validation");
      score = m.mean(o.train.select_metric);
      metrics.validation(epoch, loss, train_since, now_s() - v0, evals.validation().name, m, evals.sampled(), selection.is_best(score), trainer.timing());
      train_since = 0;
      selection.propose(d, epoch, score);
    }
    // Inputs from every rank: the slowest clock since the last checkpoint, a stop signal anywhere.
    double inputs[2] = {checkpoints.elapsed(), stop_signal_received(me, epoch) ? 1.0 : 0.0};
    comm.all_reduce_max(inputs, 2);
    d.checkpoint = checkpoints.due(epoch, eval_now, inputs[0]);
    d.stop_signal = inputs[1] > 0;
    d = broadcast_decision(comm, d);
    selection.apply(d, epoch, score, trainer);
    if (d.early_stop && me == 0) std::printf("early stop: no %s improvement for %lld epochs\n", o.train.select_metric.c_str(), static_cast<long long>(epoch - selection.best_epoch()));
    if (d.checkpoint || d.stop_signal) checkpoints.write(state());
    if (d.stop_signal) {
      if (me == 0) progress.break_line(), std::printf("stop signal: checkpoint of epoch %lld written to %s; continue with --train.resume auto\n", static_cast<long long>(epoch), checkpoints.root().c_str()), std::fflush(stdout);
      return kExitInterrupted;
    }
    if (d.early_stop) break;
  }
  checkpoints.write(state());
  finish_run(o, shard, trainer, comm, tensor_comm, evals, checkpoints, selection, loop, loss, metrics, progress, &r);
  return 0;
}

}  // namespace tkg
