// A partition directory (DESIGN §5): meta.json + shard-<rank>.bin for each rank (their formats:
// format/partition_meta.hpp, format/shard_file.hpp). Built from a dataset and a node->rank
// assignment; loaded one shard per rank.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/partition_meta.hpp"
#include "graph/dataset.hpp"
#include "shard/shard.hpp"

namespace tkg {

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

// The single shard of a 1-part partition (everything owned, no halo), built in memory.
Shard build_single_shard(const Dataset& ds);

// Writes meta.json + all shards into `dir` atomically (temp directory, then rename).
void write_partition_dir(const std::string& dir, bool overwrite, const Dataset& ds, const std::vector<int32_t>& part,
                         PartitionMeta& meta);

// Loads and validates rank's shard, checking it belongs to the partition described by meta.json.
Shard load_partition_shard(const std::string& dir, int32_t rank);

}  // namespace tkg
