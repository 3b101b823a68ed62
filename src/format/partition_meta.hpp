// A partition directory's meta.json (DESIGN §5): the graph's sizes, how it was partitioned, the
// partition's quality (edge cut, halos, balance), its inputs with their CRC-32, and the shard
// file names. Written last, so a directory without it is not a partition. No torch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/interactions_text.hpp"

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

std::string shard_file_name(int32_t rank);  // "shard-00003.bin"

std::string meta_to_json(const PartitionMeta& meta);
// Throws InputError (the file, the field) on a missing or malformed meta.json or another format version.
PartitionMeta read_partition_meta(const std::string& dir);

}  // namespace tkg
