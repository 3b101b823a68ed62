#include "app/shard_source.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "comm/communicator.hpp"
#include "common/error.hpp"
#include "format/id_map_file.hpp"
#include "common/fault_injection.hpp"
#include "common/fs.hpp"
#include "graph/dataset.hpp"
#include "partition/partition_job.hpp"
#include "shard/partition_dir.hpp"

namespace tkg {

namespace {

ReadOptions read_options(const RunOptions& o) {
  ReadOptions ro;
  ro.format = parse_text_format(o.format);
  ro.drop_duplicates = o.drop_duplicates;
  ro.remap_ids = o.remap_ids;
  return ro;
}

// Rank 0 partitions the dataset into `dir` on a worker thread while its main thread keeps the
// peers informed: a heartbeat broadcast every 2 s (so a dead rank 0 is still caught within
// train.comm_timeout), progress lines with the elapsed time and an estimate, and the phase's own
// deadline (data.partition_timeout). Every rank learns whether it worked (a failure carries rank
// 0's message to every rank).
void partition_on_rank0(const RunOptions& o, const std::string& dir, Communicator& comm) {
  std::string error;
  std::atomic<bool> done{false};
  std::atomic<int64_t> lines{0};  // train lines read (for the estimate), 0 until known
  std::thread worker;
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  if (comm.rank() == 0) {
    worker = std::thread([&] {
      try {
        Dataset ds = load_dataset(o.data_dir, read_options(o));
        lines = ds.train.size();
        fault_point("partition", 0);  // TKG_FAULT_INJECT=stall@partition:0 (the deadline test)
        std::cout << "dataset: " << describe_dataset(ds) << std::endl;
        PartitionOptions po;
        po.parts = comm.size();
        po.method = parse_partition_method(o.partition_method);
        PartitionMeta meta = partition_into_dir(ds, po, dir, /*overwrite=*/true, elapsed());
        std::printf("partitioned once on rank 0 (%s, %d parts, edge cut %.2f %%, %.1f s, peak RSS %.0f MiB) into %s; "
                    "each rank loads its shard from there. For repeated or large runs, partition once with "
                    "tkg-partition and pass --partition.\n",
                    meta.method.c_str(), meta.parts, meta.stats.edge_cut_pct, meta.seconds, peak_rss_mb(), dir.c_str());
        std::fflush(stdout);
      } catch (const std::exception& e) {
        error = e.what();
      }
      done = true;
    });
  }
  double last_line = 0;
  CollectiveSite site(comm, "partition_on_rank0.heartbeat");
  for (;;) {
    // Rank 0: state 0 = running, 1 = done, 2 = failed, 3 = past the deadline.
    int64_t state = 0;
    if (comm.rank() == 0) {
      for (int k = 0; k < 20 && !done; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      state = done ? (error.empty() ? 1 : 2) : elapsed() > o.partition_timeout_s ? 3 : 0;
      if (state == 0 && o.progress && elapsed() - last_line >= std::max(5.0, o.progress_every_s)) {
        last_line = elapsed();
        // An estimate: METIS on these machines takes about 5 us per train line (BUILD-NOTES: 20M in ~100 s).
        const double est = 5e-6 * static_cast<double>(lines.load()) + 2.0;
        if (lines > 0)
          std::printf("  partitioning on rank 0: %.0f s of an estimated %.0f s for %lld train lines%s; the other ranks "
                      "wait (deadline data.partition_timeout = %.0f s)\n",
                      elapsed(), est, static_cast<long long>(lines.load()), elapsed() > est ? " (past the estimate)" : "",
                      o.partition_timeout_s);
        else
          std::printf("  partitioning on rank 0: reading the dataset, %.0f s\n", elapsed());
        std::fflush(stdout);
      }
    }
    comm.broadcast(&state, sizeof state, 0);
    if (state == 0) continue;
    if (worker.joinable() && state != 3) worker.join();
    if (state == 1) return;
    if (state == 3) {
      if (worker.joinable()) worker.detach();  // the job ends; MPI_Abort ends the thread with it
      throw InputError(o.data_dir, 0, "partitioning on rank 0 did not finish within data.partition_timeout = " +
                                          std::to_string(o.partition_timeout_s) + " s (partition offline with tkg-partition)");
    }
    int64_t len = static_cast<int64_t>(error.size());
    comm.broadcast(&len, sizeof len, 0);
    error.resize(static_cast<size_t>(len));
    comm.broadcast(error.data(), len, 0);
    throw InputError(o.data_dir, 0, "partitioning on rank 0 failed: " + error);
  }
}

}  // namespace

Shard obtain_rank_shard(RunOptions& o, Communicator& comm) {
  const int P = comm.size(), me = comm.rank();
  std::string pdir = o.partition_dir;
  if (pdir.empty()) {
    if (P == 1) {
      Dataset ds = load_dataset(o.data_dir, read_options(o));
      std::cout << "dataset: " << describe_dataset(ds) << std::endl;
      if (!ds.user_names.empty()) {  // the original ids, for the exports
        std::filesystem::create_directories(o.out_dir);
        write_id_maps(ds.user_names, ds.item_names, o.out_dir);
        o.id_map_dir = o.out_dir;
      }
      return build_single_shard(ds);
    }
    pdir = (std::filesystem::path(o.out_dir) / ("partition-P" + std::to_string(P))).string();
    if (me == 0) std::filesystem::create_directories(o.out_dir);
    partition_on_rank0(o, pdir, comm);
  }
  if (path_exists(pdir + "/user_ids.txt")) o.id_map_dir = pdir;
  else if (o.remap_ids)
    throw InputError(pdir, 0, "data.remap_ids is set but the partition has no id maps (partition with tkg-partition --remap-ids)");
  PartitionMeta meta = read_partition_meta(pdir);
  if (meta.parts != P)
    throw InputError(pdir, 0, "partition has " + std::to_string(meta.parts) + " parts but the job runs " +
                                  std::to_string(P) + " ranks (re-run tkg-partition --parts " + std::to_string(P) + ")");
  Shard s = load_partition_shard(pdir, me);
  // Every rank must hold a shard of the same partition (a shared directory that changed under
  // some ranks, or ranks pointed at different directories, would train garbage).
  int64_t id;
  std::memcpy(&id, &s.partition_id, sizeof id);
  std::vector<int64_t> ids = comm.all_gather_one(id);
  for (int r = 0; r < P; ++r)
    if (ids[r] != ids[0])
      throw InputError(pdir, 0, "rank " + std::to_string(r) + " loaded a shard of another partition than rank 0 (partition ids " +
                                    std::to_string(static_cast<uint64_t>(ids[r])) + " vs " +
                                    std::to_string(static_cast<uint64_t>(ids[0])) + "): all ranks must read the same partition directory");
  return s;
}

}  // namespace tkg
