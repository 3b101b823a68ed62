// The local graph a TopKGAT layer runs on (DESIGN §4 "Ownership"): a shard's CSR of owned rows
// over owned + halo columns, with global-degree norms, its CSC for the backward, and work-balanced
// row and column blocks. Checked when built, as DGL checks its CSR (DGL's aten/csr checks).
//
// Example: owned nodes {0: user, 1: item}, halo {2: item}; edges 0-1, 0-2 (and 1-0, since both
// endpoints of 0-1 are owned): indptr [0 2 3], indices [1 2 0], n_user_rows 1 (edge 2's user is
// its column 0), csc_ptr [0 1 2 3], csc_edge [2 0 1], csc_row [1 0 0].
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <vector>

namespace tkg {

struct Shard;

// The local graph of a shard, built once. Per edge 16 bytes on the host: local ids in 32 bits (a
// checked bound: n_local and nnz below 2^31, see build_layer_graph) and float32 norms (the float
// kernels round the norm to float anyway, so results are the same as with int64/float64 arrays);
// the pointer arrays, which count edges, stay int64. An edge's row and its user endpoint are not
// stored on the host: the graph is bipartite and its user rows come first, so edge (r, c)'s user
// is r when r < n_user_rows and c otherwise (the kernels read rows from indptr and csc_row).
struct LayerGraph {
  int64_t n_own = 0;    // rows (owned nodes)
  int64_t n_local = 0;  // columns (owned + halo)
  int64_t n_user_rows = 0;  // rows [0, n_user_rows) are users, the others items
  at::Tensor indptr;    // [n_own + 1] int64
  at::Tensor indices;   // [nnz] int32, local column ids in [0, n_local)
  at::Tensor norm;      // [nnz] float32, 1 / sqrt(d_row * d_col) with global degrees (computed in double, rounded)
  at::Tensor csc_ptr;   // [n_local + 1] int64, edges grouped by column (for the backward scatter)
  at::Tensor csc_edge;  // [nnz] int32, edge ids in column order
  // Compact graphs only (EdgeSet::kBoundary): the shard's owned row of each graph row [n_own]
  // int64; the graph's columns are its rows, then the shard's halo. Undefined otherwise.
  at::Tensor owned_rows;
  // Work-balanced blocks for the parallel loops (degrees are power-law, so equal row counts
  // would give unequal work): rows [row_blocks[b], row_blocks[b+1]) hold about nnz/blocks edges.
  std::vector<int64_t> row_blocks;  // ascending, first 0, last n_own
  std::vector<int64_t> col_blocks;  // ascending, first 0, last n_local
  // For the CPU backward's column pass (host), in column order: the row of the edge at column
  // position j (read in sequence, not through csc_edge).
  std::vector<int32_t> csc_row;  // [nnz]
  // Device graphs only (layer_graph_to a CUDA device), for the CUDA kernels: per edge its row and
  // its user endpoint, [nnz] int32. Undefined on the host: edge_rows() / edge_users() derive them.
  at::Tensor edge_row, edge_user;
};

// The row of every edge and its user endpoint's local id, [nnz] int32 on the graph's device: the
// stored arrays of a device graph, else derived from indptr and n_user_rows (a transient).
at::Tensor edge_rows(const LayerGraph& g);
at::Tensor edge_users(const LayerGraph& g);

// Which edges of a shard's local CSR a LayerGraph holds: all of them; the interior ones (both
// endpoints owned, so columns [0, n_own) and n_local = n_own); or the boundary ones (the column is
// a halo node), compacted to the owned rows that have any (`owned_rows`, n_b of them): graph row r is
// owned row owned_rows[r], column c < n_b is row c's node and column n_b + h is halo node h, so its
// inputs are [x_own[owned_rows]; x_halo] and its output rows are added into owned_rows[r] (no pass over all
// owned rows). Interior + boundary = all, edge by edge, in row order, with the same
// global-degree norms: the split of the overlapped layer (docs/scaling.md §3).
enum class EdgeSet { kAll, kInterior, kBoundary };

// Throws InputError when the graph would have 2^31 or more columns or edges (32-bit local ids):
// the shard is too large for one rank; partition into more parts.
LayerGraph build_layer_graph(const Shard& shard, EdgeSet edges = EdgeSet::kAll);

// Bytes a host graph of `rows` rows, `cols` columns and `nnz` edges holds (tensors and host
// arrays): for the memory plan. A device graph holds 8 bytes per edge more (edge_row, edge_user).
int64_t layer_graph_bytes(int64_t rows, int64_t cols, int64_t nnz);

// A copy of `g` with its tensors on `device` (the row/column blocks stay host vectors).
LayerGraph layer_graph_to(const LayerGraph& g, const at::Device& device);

// Checks the invariants of a graph on the host (InternalError naming the first broken one):
// indptr has n_own + 1 entries from 0 to nnz, non-decreasing; every index within [0, n_local);
// n_user_rows within [0, n_own]; edge_row (when stored) matches indptr; norms finite and positive; the CSC has n_local + 1 pointers, is a
// permutation of the edges and csc_row names each one's row; the blocks ascend from 0 to n_own (rows) and n_local (columns).
void check_layer_graph(const LayerGraph& g);

}  // namespace tkg
