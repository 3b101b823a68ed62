// PT-Scotch k-way partition of the distributed train graph (partition/node_slice): every
// process passes its range of nodes with their distinct neighbours; PT-Scotch returns the part
// of each. Debian's libptscotch-dev is linked in its 64-bit build (scotch-int64: SCOTCH_Num is
// int64_t), so no count of nodes or adjacency entries is limited to 2^31.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tkg {

class Communicator;
struct NodeSlice;
struct PartitionOptions;

// Collective over every process of MPI_COMM_WORLD (comm must span the same processes).
// Balancing: Scotch balances one vertex load. ncon = 1: every node weighs 1 (node count, as
// METIS ncon = 1). ncon = 2: a node weighs 1 + its train degree × (nodes / adjacency entries),
// rounded (node count and edge work in one load, equal totals; METIS ncon = 2 balances the two
// separately). opts.imbalance - 1 is Scotch's load imbalance ratio. Strategy: SCOTCH_STRATQUALITY;
// the seed is opts.seed (SCOTCH_randomSeed). Returns part[k] of local node k, in [0, parts).
std::vector<int32_t> ptscotch_partition(Communicator& comm, const NodeSlice& slice, const PartitionOptions& opts);

// "7.0.3" (the linked PT-Scotch).
std::string ptscotch_version();

}  // namespace tkg
