// Helpers for multi-rank tests: the world communicator, and shards of a dataset for this world.
#pragma once

#include <memory>

#include "comm/communicator.hpp"
#include "comm/mpi_comm.hpp"
#include "graph/csr.hpp"
#include "graph/dataset.hpp"
#include "partition/partitioner.hpp"
#include "shard/partition_dir.hpp"

namespace tkg::testing {

inline Communicator& world() {
  static std::unique_ptr<Communicator> c = make_mpi_communicator(/*timeout_s=*/120);
  return *c;
}

// This rank's shard of `ds` partitioned into world().size() parts with `method`.
inline Shard my_shard(const Dataset& ds, PartitionMethod method, uint64_t seed = 1) {
  PartitionOptions o;
  o.parts = world().size();
  o.method = method;
  o.seed = seed;
  std::vector<int32_t> part = partition_nodes(build_train_csr(ds, true), o);
  Shard mine;
  build_shards(ds, part, o.parts, compute_partition_id(ds.n_users, ds.n_items, o.parts, part), nullptr,
               [&](Shard&& s) {
                 if (s.rank == world().rank()) mine = std::move(s);
               });
  return mine;
}

}  // namespace tkg::testing
