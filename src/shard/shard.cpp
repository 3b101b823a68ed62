#include "shard/shard.hpp"

#include <algorithm>
#include <string>

#include "common/error.hpp"

namespace tkg {

namespace {

void require(bool ok, const std::string& name, const std::string& what) {
  if (!ok) throw InputError(name, 0, "invalid shard: " + what);
}

void validate_offsets(const std::vector<int64_t>& off, int64_t rows, int64_t total, const std::string& name,
                      const char* what) {
  require(static_cast<int64_t>(off.size()) == rows + 1, name, std::string(what) + " has the wrong length");
  require(off.front() == 0 && off.back() == total, name, std::string(what) + " does not span its array");
  for (size_t k = 1; k < off.size(); ++k) require(off[k - 1] <= off[k], name, std::string(what) + " is not monotone");
}

}  // namespace

void release_local_csr(Shard& s) {
  std::vector<int64_t>().swap(s.indptr);
  std::vector<int64_t>().swap(s.indices);
}

void validate_shard(const Shard& s, const std::string& name) {
  require(s.parts >= 1 && s.rank >= 0 && s.rank < s.parts, name, "rank/parts out of range");
  require(s.n_users >= 0 && s.n_items >= 0, name, "negative counts");
  const int64_t n_nodes = s.n_users + s.n_items;
  const int64_t n_own = s.n_own(), n_local = s.n_local();
  for (int64_t k = 0; k < n_own; ++k) {
    require(s.owned[k] >= 0 && s.owned[k] < n_nodes, name, "owned node id out of range");
    require(k == 0 || s.owned[k - 1] < s.owned[k], name, "owned ids not strictly ascending");
  }
  require(s.n_own_users >= 0 && s.n_own_users <= n_own, name, "n_own_users out of range");
  require(s.n_own_users == n_own || s.owned[s.n_own_users] >= s.n_users, name, "owned users are not a prefix");
  require(s.n_own_users == 0 || s.owned[s.n_own_users - 1] < s.n_users, name, "owned users are not a prefix");
  validate_offsets(s.halo_offsets, s.parts, s.n_halo(), name, "halo_offsets");
  require(s.halo_offsets[s.rank] == s.halo_offsets[s.rank + 1], name, "halo block from the rank itself");
  for (int32_t p = 0; p < s.parts; ++p)
    for (int64_t k = s.halo_offsets[p]; k < s.halo_offsets[p + 1]; ++k) {
      require(s.halo[k] >= 0 && s.halo[k] < n_nodes, name, "halo node id out of range");
      require(k == s.halo_offsets[p] || s.halo[k - 1] < s.halo[k], name, "halo block not ascending");
      require(!std::binary_search(s.owned.begin(), s.owned.end(), s.halo[k]), name, "halo node is also owned");
    }
  validate_offsets(s.indptr, n_own, s.nnz(), name, "CSR indptr");
  for (int64_t c : s.indices) require(c >= 0 && c < n_local, name, "CSR column index out of range");
  require(static_cast<int64_t>(s.degree.size()) == n_local, name, "degree has the wrong length");
  for (int64_t k = 0; k < n_own; ++k) require(s.degree[k] == s.indptr[k + 1] - s.indptr[k], name, "owned degree differs from its CSR row");
  for (int64_t d : s.degree) require(d >= 0, name, "negative degree");
  validate_offsets(s.send_offsets, s.parts, static_cast<int64_t>(s.send_list.size()), name, "send_offsets");
  require(s.send_offsets[s.rank] == s.send_offsets[s.rank + 1], name, "send list to the rank itself");
  for (int64_t c : s.send_list) require(c >= 0 && c < n_own, name, "send list entry is not an owned node");
  for (const OwnedUserItems* split : {&s.train, &s.valid, &s.test}) {
    validate_offsets(split->indptr, s.n_own_users, static_cast<int64_t>(split->items.size()), name, "split indptr");
    for (int64_t i : split->items) require(i >= 0 && i < s.n_items, name, "split item id out of range");
  }
}

}  // namespace tkg
