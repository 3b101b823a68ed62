#include "model/layer_graph.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.hpp"
#include "shard/shard.hpp"

namespace tkg {

LayerGraph build_layer_graph(const Shard& s, EdgeSet edges) {
  LayerGraph g;
  const int64_t n_own = s.n_own();
  if (static_cast<int64_t>(s.indptr.size()) != n_own + 1)
    throw InternalError("build_layer_graph: the shard's local CSR has been released (release_local_csr)");
  auto keep = [&](int64_t col) {
    return edges == EdgeSet::kAll || (edges == EdgeSet::kInterior ? col < n_own : col >= n_own);
  };
  auto i64 = at::TensorOptions().dtype(at::kLong);
  // The shard rows the graph has: all owned rows, or (boundary) those with a halo neighbour.
  std::vector<int64_t> rows;
  if (edges == EdgeSet::kBoundary) {
    for (int64_t v = 0; v < n_own; ++v) {
      bool any = false;
      for (int64_t k = s.indptr[v]; k < s.indptr[v + 1] && !any; ++k) any = keep(s.indices[k]);
      if (any) rows.push_back(v);
    }
  }
  const bool compact = edges == EdgeSet::kBoundary;
  g.n_own = compact ? static_cast<int64_t>(rows.size()) : n_own;
  // Interior edges reach owned columns only, so their graph has no halo columns.
  g.n_local = edges == EdgeSet::kInterior ? n_own : g.n_own + s.n_halo();
  auto shard_row = [&](int64_t r) { return compact ? rows[static_cast<size_t>(r)] : r; };
  auto column = [&](int64_t w) { return compact ? g.n_own + (w - n_own) : w; };  // compact: w is halo
  g.indptr = at::empty({g.n_own + 1}, i64);
  int64_t* ip = g.indptr.data_ptr<int64_t>();
  ip[0] = 0;
  for (int64_t r = 0; r < g.n_own; ++r) {
    const int64_t v = shard_row(r);
    int64_t n = 0;
    for (int64_t k = s.indptr[v]; k < s.indptr[v + 1]; ++k) n += keep(s.indices[k]);
    ip[r + 1] = ip[r] + n;
  }
  const int64_t nnz = ip[g.n_own];
  constexpr int64_t kMax32 = std::numeric_limits<int32_t>::max();
  if (g.n_local > kMax32 || nnz > kMax32)
    throw InputError("shard " + std::to_string(s.rank) + " of " + std::to_string(s.parts), 0,
                     "its local graph has " + std::to_string(g.n_local) + " nodes and " + std::to_string(nnz) +
                         " edges; a rank holds at most 2^31 - 1 of each (32-bit local ids): partition into more parts");
  auto i32 = at::TensorOptions().dtype(at::kInt);
  g.indices = at::empty({nnz}, i32);
  g.norm = at::empty({nnz}, at::TensorOptions().dtype(at::kFloat));
  int32_t* col = g.indices.data_ptr<int32_t>();
  float* norm = g.norm.data_ptr<float>();
  std::vector<int32_t> row(static_cast<size_t>(nnz));  // the edges' rows, until csc_row has them
  // Owned users come first in a shard, and graph rows keep the shard's order: the user rows are a
  // prefix, and every edge joins a user and an item (the graph is bipartite).
  g.n_user_rows = 0;
  while (g.n_user_rows < g.n_own && shard_row(g.n_user_rows) < s.n_own_users) ++g.n_user_rows;
  for (int64_t r = 0, k = 0; r < g.n_own; ++r) {
    const int64_t v = shard_row(r);
    for (int64_t e = s.indptr[v]; e < s.indptr[v + 1]; ++e) {
      const int64_t w = s.indices[e];
      if (!keep(w)) continue;
      col[k] = static_cast<int32_t>(column(w));
      row[k] = static_cast<int32_t>(r);
      norm[k] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.degree[v]) * static_cast<double>(s.degree[w])));
      ++k;
    }
  }
  if (compact) g.owned_rows = at::tensor(rows, i64);
  g.csc_ptr = at::zeros({g.n_local + 1}, i64);
  g.csc_edge = at::empty({nnz}, i32);
  int64_t* cp = g.csc_ptr.data_ptr<int64_t>();
  int32_t* ce = g.csc_edge.data_ptr<int32_t>();
  for (int64_t k = 0; k < nnz; ++k) ++cp[col[k] + 1];
  for (int64_t w = 0; w < g.n_local; ++w) cp[w + 1] += cp[w];
  std::vector<int64_t> fill(cp, cp + g.n_local);
  for (int64_t k = 0; k < nnz; ++k) ce[fill[col[k]]++] = static_cast<int32_t>(k);
  // Balanced blocks: cut whenever a block reaches nnz/256 edges (plus one per row for the
  // per-row overhead).
  auto blocks = [](const int64_t* ptr, int64_t rows) {
    std::vector<int64_t> b{0};
    const int64_t target = std::max<int64_t>(1, (ptr[rows] + rows) / 256);
    int64_t acc = 0;
    for (int64_t r = 0; r < rows; ++r) {
      acc += ptr[r + 1] - ptr[r] + 1;
      if (acc >= target) b.push_back(r + 1), acc = 0;
    }
    if (b.back() != rows) b.push_back(rows);
    return b;
  };
  g.csc_row.resize(static_cast<size_t>(nnz));
  for (int64_t j = 0; j < nnz; ++j) g.csc_row[j] = row[ce[j]];
  std::vector<int32_t>().swap(row);
  g.row_blocks = blocks(g.indptr.data_ptr<int64_t>(), g.n_own);
  g.col_blocks = blocks(cp, g.n_local);
  check_layer_graph(g);  // invariants, when built
  return g;
}

int64_t layer_graph_bytes(int64_t rows, int64_t cols, int64_t nnz) {
  // indptr, csc_ptr (int64); indices, csc_edge, norm (4 bytes); csc_row (4) on the host; blocks
  // (about 256 + 256 int64).
  return 8 * (rows + 1) + 8 * (cols + 1) + nnz * (3 * 4 + 4) + 8 * 600;
}

at::Tensor edge_rows(const LayerGraph& g) {
  if (g.edge_row.defined()) return g.edge_row;
  const at::Tensor ip = g.indptr.to(at::kCPU);
  const int64_t* p = ip.data_ptr<int64_t>();
  at::Tensor rows = at::empty({p[g.n_own]}, at::TensorOptions().dtype(at::kInt));
  int32_t* r = rows.data_ptr<int32_t>();
  for (int64_t v = 0; v < g.n_own; ++v) std::fill(r + p[v], r + p[v + 1], static_cast<int32_t>(v));
  return rows.to(g.indptr.device());
}

at::Tensor edge_users(const LayerGraph& g) {
  if (g.edge_user.defined()) return g.edge_user;
  const at::Tensor rows = edge_rows(g);
  return at::where(rows < g.n_user_rows, rows, g.indices);
}

LayerGraph layer_graph_to(const LayerGraph& g, const at::Device& device) {
  LayerGraph out = g;
  if (!device.is_cpu()) out.edge_row = edge_rows(g), out.edge_user = edge_users(g);  // the CUDA kernels read them
  for (at::Tensor* t : {&out.indptr, &out.indices, &out.edge_row, &out.edge_user, &out.norm, &out.csc_ptr, &out.csc_edge,
                        &out.owned_rows})
    if (t->defined()) *t = t->to(device);
  return out;
}

void check_layer_graph(const LayerGraph& g) {
  auto fail = [](const std::string& what) { throw InternalError("layer graph: " + what); };
  const at::Tensor ip = g.indptr.to(at::kCPU), ix = g.indices.to(at::kCPU), nm = g.norm.to(at::kCPU),
                   cp = g.csc_ptr.to(at::kCPU), ce = g.csc_edge.to(at::kCPU);
  if (ip.numel() != g.n_own + 1) fail("indptr has " + std::to_string(ip.numel()) + " entries for " + std::to_string(g.n_own) + " rows");
  const int64_t* p = ip.data_ptr<int64_t>();
  const int64_t nnz = ix.numel();
  if (p[0] != 0 || p[g.n_own] != nnz) fail("indptr runs from " + std::to_string(p[0]) + " to " + std::to_string(p[g.n_own]) + " for " + std::to_string(nnz) + " edges");
  const int32_t* idx = ix.data_ptr<int32_t>();
  if (nm.numel() != nnz || ce.numel() != nnz || static_cast<int64_t>(g.csc_row.size()) != nnz ||
      (g.edge_row.defined() && (g.edge_row.numel() != nnz || g.edge_user.numel() != nnz)))
    fail("per-edge arrays of different lengths");
  if (g.n_user_rows < 0 || g.n_user_rows > g.n_own) fail("n_user_rows " + std::to_string(g.n_user_rows) + " outside [0, " + std::to_string(g.n_own) + "]");
  const at::Tensor er = g.edge_row.defined() ? g.edge_row.to(at::kCPU) : at::Tensor();
  const int32_t* row = er.defined() ? er.data_ptr<int32_t>() : nullptr;
  for (int64_t v = 0; v < g.n_own; ++v) {
    if (p[v + 1] < p[v]) fail("indptr decreases at row " + std::to_string(v));
    for (int64_t e = p[v]; e < p[v + 1]; ++e) {
      if (idx[e] < 0 || idx[e] >= g.n_local) fail("edge " + std::to_string(e) + " has column " + std::to_string(idx[e]) + " outside [0, " + std::to_string(g.n_local) + ")");
      if (row && row[e] != v) fail("edge_row of edge " + std::to_string(e) + " is " + std::to_string(row[e]) + ", indptr says " + std::to_string(v));
    }
  }
  const float* n = nm.data_ptr<float>();
  for (int64_t e = 0; e < nnz; ++e)
    if (!(std::isfinite(n[e]) && n[e] > 0)) fail("norm of edge " + std::to_string(e) + " is " + std::to_string(n[e]));
  if (cp.numel() != g.n_local + 1) fail("csc_ptr has " + std::to_string(cp.numel()) + " entries for " + std::to_string(g.n_local) + " columns");
  const int64_t* c = cp.data_ptr<int64_t>();
  const int32_t* ced = ce.data_ptr<int32_t>();
  if (c[0] != 0 || c[g.n_local] != nnz) fail("csc_ptr does not run from 0 to nnz");
  std::vector<uint8_t> seen(static_cast<size_t>(nnz), 0);
  for (int64_t w = 0; w < g.n_local; ++w) {
    if (c[w + 1] < c[w]) fail("csc_ptr decreases at column " + std::to_string(w));
    for (int64_t j = c[w]; j < c[w + 1]; ++j) {
      const int64_t e = ced[j];
      if (e < 0 || e >= nnz || seen[e]++) fail("csc_edge is not a permutation of the edges (at " + std::to_string(j) + ")");
      if (idx[e] != w) fail("csc_edge puts edge " + std::to_string(e) + " in column " + std::to_string(w) + ", its column is " + std::to_string(idx[e]));
      if (g.csc_row[j] < 0 || g.csc_row[j] >= g.n_own || e < p[g.csc_row[j]] || e >= p[g.csc_row[j] + 1])
        fail("csc_row puts edge " + std::to_string(e) + " in row " + std::to_string(g.csc_row[j]));
    }
  }
  auto blocks = [&](const std::vector<int64_t>& b, int64_t end, const char* what) {
    if (b.empty() || b.front() != 0 || b.back() != end || !std::is_sorted(b.begin(), b.end()))
      fail(std::string(what) + " blocks do not ascend from 0 to " + std::to_string(end));
  };
  blocks(g.row_blocks, g.n_own, "row");
  blocks(g.col_blocks, g.n_local, "column");
}

}  // namespace tkg
