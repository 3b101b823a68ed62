// Gives each rank its shard (DESIGN §4 "Ownership", §6: partitioning lives in the app layer,
// never below it). No rank holds the whole graph when P > 1:
//   --partition PDIR: every rank loads its own shard file; all ranks must agree on the
//                     partition id before training starts.
//   --data DIR, P = 1: the dataset is the single shard.
//   --data DIR, P > 1: rank 0 alone reads the dataset and partitions it once into
//                     RUNDIR/partition-P<P>; then every rank loads its shard from there.
#pragma once

#include "shard/shard.hpp"
#include "run/run.hpp"

namespace tkg {

class Communicator;

// Collective. Throws InputError on a partition for another P, shards of different partitions,
// or a failed partitioning on rank 0 (on every rank, with the reason).
// Sets o.id_map_dir when the dataset's ids were remapped (where the original ids are).
Shard obtain_rank_shard(RunOptions& o, Communicator& comm);

}  // namespace tkg
