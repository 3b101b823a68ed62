#include "graph/csr.hpp"

#include <algorithm>

namespace tkg {

NodeCsr build_train_csr(const Dataset& ds, bool distinct) {
  NodeCsr g;
  g.n_nodes = ds.n_nodes();
  const int64_t n_users = ds.n_users;
  const EdgeList& tr = ds.train;
  std::vector<int64_t> deg(static_cast<size_t>(g.n_nodes), 0);
  for (int64_t k = 0; k < tr.size(); ++k) {
    ++deg[tr.user[k]];
    ++deg[n_users + tr.item[k]];
  }
  g.indptr.assign(static_cast<size_t>(g.n_nodes) + 1, 0);
  for (int64_t v = 0; v < g.n_nodes; ++v) g.indptr[v + 1] = g.indptr[v] + deg[v];
  g.indices.resize(static_cast<size_t>(g.indptr.back()));
  std::vector<int64_t> fill(g.indptr.begin(), g.indptr.end() - 1);
  for (int64_t k = 0; k < tr.size(); ++k) {
    int64_t u = tr.user[k], i = n_users + tr.item[k];
    g.indices[fill[u]++] = i;
    g.indices[fill[i]++] = u;
  }
  for (int64_t v = 0; v < g.n_nodes; ++v) std::sort(g.indices.begin() + g.indptr[v], g.indices.begin() + g.indptr[v + 1]);
  if (!distinct) return g;
  // Compact each sorted row to distinct neighbours, in place.
  int64_t out = 0;
  int64_t row_begin = 0;
  for (int64_t v = 0; v < g.n_nodes; ++v) {
    int64_t row_end = g.indptr[v + 1];
    int64_t start = out;
    for (int64_t k = row_begin; k < row_end; ++k)
      if (out == start || g.indices[out - 1] != g.indices[k]) g.indices[out++] = g.indices[k];
    row_begin = row_end;
    g.indptr[v + 1] = out;
  }
  g.indices.resize(static_cast<size_t>(out));
  g.indices.shrink_to_fit();
  return g;
}

UserItemsCsr group_by_user(const EdgeList& el, int64_t n_users) {
  UserItemsCsr c;
  c.indptr.assign(static_cast<size_t>(n_users) + 1, 0);
  for (int64_t u : el.user) ++c.indptr[u + 1];
  for (int64_t u = 0; u < n_users; ++u) c.indptr[u + 1] += c.indptr[u];
  c.items.resize(static_cast<size_t>(el.size()));
  std::vector<int64_t> fill(c.indptr.begin(), c.indptr.end() - 1);
  for (int64_t k = 0; k < el.size(); ++k) c.items[fill[el.user[k]]++] = el.item[k];
  return c;
}

}  // namespace tkg
