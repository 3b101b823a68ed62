// A complete training run on this rank's shard: train with periodic validation and early
// stopping, test at the best validation epoch, write the outputs (DESIGN §7). The shard comes
// from the app layer (src/app/shard_source), which owns partitioning. No torch here.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "train/options.hpp"

namespace tkg {

class Communicator;
struct Shard;

struct RunOptions {
  // Where the shard comes from (read by the app layer, not by run_training):
  std::string data_dir;        // dataset directory (partitioned once, on rank 0, when P > 1), or
  std::string partition_dir;   // a partition directory made by tkg-partition with P = ranks
  std::string out_dir;         // RUNDIR
  std::string format = "auto";
  bool drop_duplicates = false;
  bool remap_ids = false;      // ids are arbitrary tokens: renumbered densely (the app writes the maps)
  std::string id_map_dir;      // where user_ids.txt / item_ids.txt are (remapped ids), for the exports
  std::string partition_method = "metis";  // on-the-fly partition when P > 1
  double partition_timeout_s = 24 * 3600;  // its own deadline (the peers wait in 2 s heartbeats)
  ModelOptions model;
  TrainOptions train;
  double comm_timeout_s = 600;  // bound on every wait for peers (multi-rank)
  std::string tensor_comm = "auto";  // auto | mpi | nccl: what moves the model's rows (the app creates it)
  int threads = 0;             // intra-op threads per rank (0 = LibTorch default)
  bool progress = true;
  double progress_every_s = 5;  // seconds between progress lines (rank 0)
  bool export_embeddings = true;
  bool save_checkpoint = true;   // resumable checkpoints in RUNDIR/checkpoints/ (output.checkpoint)
  std::string init_from;         // a resumable checkpoint (or a run directory: its newest), an older run's checkpoint/, or a model.gnaq file (any P)
  std::string resume;            // "" | auto (newest complete RUNDIR/checkpoints/epoch-*) | a checkpoint directory
  int64_t checkpoint_every = 0;  // resumable checkpoint every N epochs (0: at every evaluation), plus at the end
  int checkpoint_keep = 2;       // newest resumable checkpoints kept
  double checkpoint_interval_s = 60;  // at evaluations (checkpoint_every = 0): only once this long since the last one
  std::string config_text;     // effective configuration, stored as RUNDIR/config.ini
  std::string mpi_thread_level;  // what MPI provided (reported)
  std::string command_line;      // as invoked (reported)
  std::vector<std::pair<std::string, std::string>> build_info;  // commit and library versions (reported)
  double setup_seconds = 0;    // spent by the app before run_training (MPI start, shard), reported
  int64_t base_rss_bytes = 0;  // the process's resident bytes before the shard was loaded (the memory plan's base)
  bool plan_memory = false;    // --plan-memory: print the memory plan and stop
};

// Exit code of a run stopped by SIGTERM / SIGUSR1 after writing a checkpoint (resume it).
constexpr int kExitInterrupted = 75;

// Returns the process exit code (0 on success). Collective: every rank calls it.
// `tensor_comm` (optional) moves the model's rows: NCCL when model.device is a GPU; without it
// `comm` moves them (device tensors staged through the host).
// The shard's local CSR is released once the trainer has built its layer graphs (release_local_csr).
int run_training(const RunOptions& opts, Shard& shard, Communicator& comm, Communicator* tensor_comm = nullptr);

// model.device resolved for this rank: cpu, or cuda:N (cuda = local rank mod visible GPUs).
// Throws InputError when the build or machine has no CUDA.
std::string resolve_device(const std::string& device, Communicator& comm);

}  // namespace tkg
