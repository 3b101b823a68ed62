// A partition directory (DESIGN §5): meta.json + shard-<rank>.bin for each rank.
// Built from a dataset and a node->rank assignment; loaded one shard per rank.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "graph/dataset.hpp"
#include "shard/shard.hpp"

namespace tkg {

struct PartitionStats {
  int64_t edge_cut = 0;           // distinct train pairs whose endpoints have different owners
  double edge_cut_pct = 0;        // 100 * edge_cut / distinct pairs
  int64_t halo_total = 0;         // Σ over ranks of halo nodes
  int64_t halo_max = 0;
  double node_imbalance = 1;      // max owned nodes / mean
  double edge_imbalance = 1;      // max local CSR entries (train lines incident to owned nodes) / mean
  int64_t halo_bytes_per_layer = 0;  // halo_total * 64 * 4 (d = 64, fp32)
  std::vector<int64_t> owned_per_rank, owned_users_per_rank, halo_per_rank, local_edges_per_rank;
};

struct PartitionMeta {
  int64_t n_users = 0, n_items = 0;
  int64_t n_edges = 0;        // distinct train pairs (the partitioned graph)
  int64_t n_train_lines = 0;  // train lines (duplicates kept)
  int32_t parts = 1;
  std::string method;
  uint64_t seed = 0;
  int ncon = 0;
  std::string objective;
  double imbalance = 0;
  uint64_t partition_id = 0;
  double seconds = 0;
  double peak_rss_mb = 0;                      // the largest over the processes that made it
  int processes = 1;                           // processes of a distributed partition (mpirun -n R)
  std::vector<double> peak_rss_mb_per_process; // [processes] when distributed, else empty
  PartitionStats stats;
  std::vector<FileInfo> inputs;
};

// 64-bit id of a partition: a hash of the sizes and the assignment. Equal inputs -> equal id.
// The assignment enters as a sum (mod 2^64) of one term per node, so that processes that each
// hold a range of nodes add their partial sums (the distributed partitioner) and get the same id.
uint64_t compute_partition_id(int64_t n_users, int64_t n_items, int32_t parts, const std::vector<int32_t>& part);
uint64_t partition_id_term(int64_t v, int32_t part);
uint64_t finish_partition_id(int64_t n_users, int64_t n_items, int32_t parts, uint64_t sum_of_terms);

// Builds the shard of every rank (in rank order) and hands each to `sink`; fills `stats`.
// part[v] is the owner of global node v (users 0..n_users-1, then items).
void build_shards(const Dataset& ds, const std::vector<int32_t>& part, int32_t parts, uint64_t partition_id,
                  PartitionStats* stats, const std::function<void(Shard&&)>& sink);

// Fills the totals and ratios of `st` (halo_total, halo_max, imbalances, halo bytes) from its
// per-rank vectors.
void finish_partition_stats(PartitionStats& st);

std::string shard_file_name(int32_t rank);

// The single shard of a 1-part partition (everything owned, no halo), built in memory.
Shard build_single_shard(const Dataset& ds);  // "shard-00003.bin"

// Writes meta.json + all shards into `dir` atomically (temp directory, then rename).
void write_partition_dir(const std::string& dir, bool overwrite, const Dataset& ds, const std::vector<int32_t>& part,
                         PartitionMeta& meta);

std::string meta_to_json(const PartitionMeta& meta);
PartitionMeta read_partition_meta(const std::string& dir);

// Loads and validates rank's shard, checking it belongs to the partition described by meta.json.
Shard load_partition_shard(const std::string& dir, int32_t rank);

}  // namespace tkg
