// Node partitioning of the bipartite train graph: METIS k-way, random, hash (one process), and
// the option set of the distributed partition (partition/distributed_job: ptscotch, hash).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/csr.hpp"

namespace tkg {

enum class PartitionMethod { kMetis, kRandom, kHash, kPtScotch };
PartitionMethod parse_partition_method(const std::string& name);  // metis | ptscotch | random | hash
const char* partition_method_name(PartitionMethod m);

struct PartitionOptions {
  int32_t parts = 1;
  PartitionMethod method = PartitionMethod::kMetis;
  int ncon = 2;                 // 1: balance node count; 2: node count and degree (edge work)
  std::string objective = "cut";  // cut | vol (METIS_OBJTYPE_CUT / METIS_OBJTYPE_VOL)
  double imbalance = 1.03;      // allowed max/avg load per constraint (METIS ubvec / ufactor)
  uint64_t seed = 1;
  bool progress = false;        // partition_into_dir prints its phases' progress lines (tkg-partition)
  std::string scotch_strategy = "quality";  // ptscotch: quality | speed | balance | scalability (SCOTCH_STRAT*)
};

// Returns part[v] in [0, parts) for every node of `graph`, which must hold distinct pairs
// (build_train_csr(ds, /*distinct=*/true)). Deterministic for fixed options.
// Throws InputError for options out of range or a graph beyond METIS's 32-bit idx_t.
std::vector<int32_t> partition_nodes(const NodeCsr& graph, const PartitionOptions& opts);

// InputError for options out of range (parts, ncon, objective, imbalance, more parts than nodes).
void check_partition_options(const PartitionOptions& o, int64_t n_nodes);

// The hash assignment of node v (--method hash): the same in one process and distributed.
int32_t hash_part(int64_t v, uint64_t seed, int32_t parts);

// Version string of the linked METIS, e.g. "5.1.0".
std::string metis_version();

}  // namespace tkg
