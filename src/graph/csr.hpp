// The train graph as CSR over global node ids.
//
// Nodes: users 0..n_users-1, then items (item i is node n_users + i). Edges are undirected and
// stored in both directions. Example, train lines (0,0) (0,1) (1,1) with n_users = 2:
//   node:    0(u0) 1(u1) 2(i0) 3(i1)
//   indptr:  0 2 3 4 6        indices: [2 3 | 3 | 0 | 0 1]
#pragma once

#include <cstdint>
#include <vector>

#include "graph/dataset.hpp"

namespace tkg {

struct NodeCsr {
  int64_t n_nodes = 0;
  std::vector<int64_t> indptr;   // [n_nodes + 1], non-decreasing, indptr[0] = 0
  std::vector<int64_t> indices;  // [indptr[n_nodes]] neighbour node ids, ascending per row
  int64_t degree(int64_t v) const { return indptr[v + 1] - indptr[v]; }
  int64_t nnz() const { return indptr.empty() ? 0 : indptr.back(); }
};

// Graph of the train lines. With distinct = false every line is an edge (duplicated lines give
// repeated neighbours, so degrees count duplicates as the official TopKGAT code does); with
// distinct = true each (user, item) pair appears once (the graph METIS partitions).
NodeCsr build_train_csr(const Dataset& ds, bool distinct);

// Group an edge list by user: CSR over users 0..n_users-1 of global item ids (0-based item ids,
// not node ids), items in file order.
struct UserItemsCsr {
  std::vector<int64_t> indptr;  // [n_users + 1]
  std::vector<int64_t> items;   // [lines]
};
UserItemsCsr group_by_user(const EdgeList& el, int64_t n_users);

}  // namespace tkg
