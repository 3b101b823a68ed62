#include "app/shard_source.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "comm/communicator.hpp"
#include "common/error.hpp"
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

// Rank 0 partitions the dataset into `dir`; every rank learns whether it worked (a failure
// carries rank 0's message to every rank).
void partition_on_rank0(const RunOptions& o, const std::string& dir, Communicator& comm) {
  std::string error;
  if (comm.rank() == 0) {
    try {
      const auto t0 = std::chrono::steady_clock::now();
      Dataset ds = load_dataset(o.data_dir, read_options(o));
      std::cout << "dataset: " << describe_dataset(ds) << std::endl;
      PartitionOptions po;
      po.parts = comm.size();
      po.method = parse_partition_method(o.partition_method);
      const double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      PartitionMeta meta = partition_into_dir(ds, po, dir, /*overwrite=*/true, read_s);
      std::printf("partitioned once on rank 0 (%s, %d parts, edge cut %.2f %%, %.1f s, peak RSS %.0f MiB) into %s; "
                  "each rank loads its shard from there. For repeated or large runs, partition once with "
                  "tkg-partition and pass --partition.\n",
                  meta.method.c_str(), meta.parts, meta.stats.edge_cut_pct, meta.seconds, peak_rss_mb(), dir.c_str());
      std::fflush(stdout);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  int64_t len = static_cast<int64_t>(error.size());
  comm.broadcast(&len, sizeof len, 0);
  if (len == 0) return;
  error.resize(static_cast<size_t>(len));
  comm.broadcast(error.data(), len, 0);
  throw InputError(o.data_dir, 0, "partitioning on rank 0 failed: " + error);
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
        write_id_maps(ds, o.out_dir);
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
