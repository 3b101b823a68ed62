// The shards of a distributed partition, built and written by the processes that hold them: the
// shard of part p is written by process p mod R, in today's format (shard/shard.hpp), from the
// rows its nodes' owners send it. The same bytes as build_shards for the same assignment.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shard/partition_dir.hpp"

namespace tkg {

class Communicator;
struct NodeSlice;

// Process that writes part p's shard.
inline int shard_writer(int32_t p, int R) { return static_cast<int>(p % R); }

// Collective. part[k]: part of local node k of `slice`. Writes DIR/shard-<p>.bin for this
// process's parts (files written atomically) and returns the partition's statistics, equal on
// every rank; distinct_pairs_out: the distinct train pairs (meta's n_edges).
PartitionStats write_distributed_shards(Communicator& comm, const NodeSlice& slice, const std::vector<int32_t>& part,
                                        int32_t parts, uint64_t partition_id, const std::string& dir,
                                        int64_t* distinct_pairs_out);

}  // namespace tkg
