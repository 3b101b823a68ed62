// tkg-partition across the R processes of an MPI job (`mpirun -n R tkg-partition --data DIR
// --method ptscotch|hash ...`): every process reads its byte range of each split file, the
// train graph is spread over the processes by node ranges (partition/node_slice), PT-Scotch (or
// the hash assignment) partitions it, and each shard is written by one process. No process
// holds the whole graph. The directory is written as the one-process path writes it: a temp
// directory renamed into place, meta.json last; the output must be on a file system every
// process sees (one node, or a shared one).
#pragma once

#include <string>

#include "graph/dataset.hpp"
#include "partition/partitioner.hpp"
#include "shard/partition_dir.hpp"

namespace tkg {

class Communicator;

// Collective. Errors (a bad line in any process's slice, a failed write) end every process
// alike with the one-process path's message (AgreedError), and nothing is left behind.
// Supported: --data DIR (train.txt, test.txt, optional valid.txt), both formats, drop_duplicates;
// methods ptscotch and hash. Refused: remap_ids with R > 1, max_lines.
PartitionMeta distributed_partition_into_dir(Communicator& comm, const std::string& data_dir, const ReadOptions& read,
                                             const PartitionOptions& options, const std::string& out, bool overwrite,
                                             double* partition_s = nullptr);

}  // namespace tkg
