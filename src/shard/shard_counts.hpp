// The sizes of a shard that decide the memory of a rank training it (run/memory_plan): counted
// from a loaded shard, or from a shard file without holding any of its sections (the header's
// section table, then one streamed pass over the CSR for the interior/boundary split), so one
// process can plan a partition of any size. No torch here.
#pragma once

#include <cstdint>
#include <string>

namespace tkg {

struct Shard;

struct ShardCounts {
  int32_t rank = 0, parts = 1;
  int64_t n_users = 0, n_items = 0;  // global
  int64_t n_own = 0, n_own_users = 0, n_halo = 0;
  int64_t nnz = 0;             // local CSR entries (edges of owned rows)
  int64_t nnz_boundary = 0;    // of which to a halo column
  int64_t boundary_rows = 0;   // owned rows with a halo neighbour
  int64_t n_send = 0;          // send list entries (rows this rank sends per halo exchange)
  int64_t train_lines = 0, valid_lines = 0, test_lines = 0;
  int64_t shard_bytes = 0;     // the shard's arrays in memory (8 bytes per element)
  int64_t csr_bytes = 0;       // of which the local CSR (released once the layer graphs exist)
};

// Exact; the shard's CSR must still be there.
ShardCounts count_shard(const Shard& s);
// The same from a file without loading it: format/shard_file.hpp's count_shard_file.

}  // namespace tkg
