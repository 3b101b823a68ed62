#include "shard/shard_counts.hpp"

#include "common/error.hpp"
#include "shard/shard.hpp"

namespace tkg {

ShardCounts count_shard(const Shard& s) {
  TKG_CHECK(static_cast<int64_t>(s.indptr.size()) == s.n_own() + 1, "count_shard needs the shard's CSR");
  ShardCounts c;
  c.rank = s.rank, c.parts = s.parts, c.n_users = s.n_users, c.n_items = s.n_items;
  c.n_own = s.n_own(), c.n_own_users = s.n_own_users, c.n_halo = s.n_halo(), c.nnz = s.nnz();
  for (int64_t v = 0; v < c.n_own; ++v) {
    int64_t h = 0;
    for (int64_t k = s.indptr[v]; k < s.indptr[v + 1]; ++k) h += s.indices[k] >= c.n_own;
    c.nnz_boundary += h;
    c.boundary_rows += h > 0;
  }
  c.n_send = static_cast<int64_t>(s.send_list.size());
  c.train_lines = static_cast<int64_t>(s.train.items.size());
  c.valid_lines = static_cast<int64_t>(s.valid.items.size());
  c.test_lines = static_cast<int64_t>(s.test.items.size());
  int64_t elems = 0;
  for (const std::vector<int64_t>* v : {&s.owned, &s.halo, &s.halo_offsets, &s.indptr, &s.indices, &s.degree, &s.send_offsets,
                                        &s.send_list, &s.train.indptr, &s.train.items, &s.valid.indptr, &s.valid.items,
                                        &s.test.indptr, &s.test.items})
    elems += static_cast<int64_t>(v->size());
  c.shard_bytes = 8 * elems;
  c.csr_bytes = 8 * static_cast<int64_t>(s.indptr.size() + s.indices.size());
  return c;
}

}  // namespace tkg
