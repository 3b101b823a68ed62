// Partition a loaded dataset and write the partition directory (meta.json + one shard per
// rank), with its statistics: what tkg-partition does, also used by tkg-train's on-the-fly path
// (rank 0 only).
#pragma once

#include <string>

#include "graph/dataset.hpp"
#include "partition/partitioner.hpp"
#include "shard/partition_dir.hpp"

namespace tkg {

// started_s: seconds already spent (reading the dataset), counted in meta.seconds.
// partition_s (optional): seconds of the assignment itself (METIS).
PartitionMeta partition_into_dir(const Dataset& ds, const PartitionOptions& options, const std::string& out,
                                 bool overwrite, double started_s, double* partition_s = nullptr);

}  // namespace tkg
