#include "shard/partition_dir.hpp"

#include "format/id_map_file.hpp"
#include "format/partition_meta.hpp"
#include "format/shard_file.hpp"

#include "common/phase_progress.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/rng.hpp"
#include "graph/csr.hpp"

namespace tkg {

uint64_t partition_id_term(int64_t v, int32_t part) {
  return splitmix64(splitmix64(static_cast<uint64_t>(v) + 0x51ed27bd3a5c4f1bULL) ^ static_cast<uint64_t>(part));
}

uint64_t finish_partition_id(int64_t n_users, int64_t n_items, int32_t parts, uint64_t sum_of_terms) {
  uint64_t h = splitmix64(static_cast<uint64_t>(n_users));
  h = splitmix64(h ^ static_cast<uint64_t>(n_items));
  h = splitmix64(h ^ static_cast<uint64_t>(parts));
  return splitmix64(h ^ sum_of_terms);
}

uint64_t compute_partition_id(int64_t n_users, int64_t n_items, int32_t parts, const std::vector<int32_t>& part) {
  uint64_t sum = 0;
  for (size_t v = 0; v < part.size(); ++v) sum += partition_id_term(static_cast<int64_t>(v), part[v]);
  return finish_partition_id(n_users, n_items, parts, sum);
}

void build_shards(const Dataset& ds, const std::vector<int32_t>& part, int32_t parts, uint64_t partition_id,
                  PartitionStats* stats, const std::function<void(Shard&&)>& sink) {
  const int64_t n_users = ds.n_users, n_nodes = ds.n_nodes();
  TKG_CHECK(static_cast<int64_t>(part.size()) == n_nodes, "part has " << part.size() << " entries for " << n_nodes << " nodes");
  NodeCsr g = build_train_csr(ds, /*distinct=*/false);

  // Owned lists (ascending) and each node's index within its owner.
  std::vector<std::vector<int64_t>> owned(static_cast<size_t>(parts));
  std::vector<int64_t> local_in_owner(static_cast<size_t>(n_nodes));
  for (int64_t v = 0; v < n_nodes; ++v) {
    auto& o = owned[part[v]];
    local_in_owner[v] = static_cast<int64_t>(o.size());
    o.push_back(v);
  }
  // Halo of each rank: remote neighbours of owned nodes, sorted by (owner, id).
  std::vector<std::vector<int64_t>> halo(static_cast<size_t>(parts));
  for (int32_t r = 0; r < parts; ++r) {
    auto& h = halo[r];
    for (int64_t v : owned[r])
      for (int64_t k = g.indptr[v]; k < g.indptr[v + 1]; ++k)
        if (part[g.indices[k]] != r) h.push_back(g.indices[k]);
    std::sort(h.begin(), h.end(), [&](int64_t a, int64_t b) { return part[a] != part[b] ? part[a] < part[b] : a < b; });
    h.erase(std::unique(h.begin(), h.end()), h.end());
  }
  UserItemsCsr split_csr[3] = {group_by_user(ds.train, n_users), group_by_user(ds.valid, n_users),
                               group_by_user(ds.test, n_users)};

  PartitionStats st;
  std::vector<int64_t> halo_local(static_cast<size_t>(n_nodes), -1);
  for (int32_t r = 0; r < parts; ++r) {
    Shard s;
    s.partition_id = partition_id;
    s.rank = r;
    s.parts = parts;
    s.n_users = n_users;
    s.n_items = ds.n_items;
    s.owned = owned[r];
    s.n_own_users = std::lower_bound(s.owned.begin(), s.owned.end(), n_users) - s.owned.begin();
    s.halo = halo[r];
    const int64_t n_own = s.n_own();
    s.halo_offsets.assign(static_cast<size_t>(parts) + 1, 0);
    for (int64_t k = 0; k < s.n_halo(); ++k) {
      halo_local[s.halo[k]] = n_own + k;
      ++s.halo_offsets[part[s.halo[k]] + 1];
    }
    for (int32_t p = 0; p < parts; ++p) s.halo_offsets[p + 1] += s.halo_offsets[p];
    s.indptr.assign(static_cast<size_t>(n_own) + 1, 0);
    s.degree.resize(static_cast<size_t>(s.n_local()));
    for (int64_t k = 0; k < n_own; ++k) {
      int64_t v = s.owned[k];
      s.indptr[k + 1] = s.indptr[k] + g.degree(v);
      s.degree[k] = g.degree(v);
    }
    for (int64_t k = 0; k < s.n_halo(); ++k) s.degree[n_own + k] = g.degree(s.halo[k]);
    s.indices.resize(static_cast<size_t>(s.indptr.back()));
    int64_t e = 0;
    for (int64_t k = 0; k < n_own; ++k) {
      int64_t v = s.owned[k];
      for (int64_t j = g.indptr[v]; j < g.indptr[v + 1]; ++j) {
        int64_t w = g.indices[j];
        s.indices[e++] = part[w] == r ? local_in_owner[w] : halo_local[w];
      }
    }
    for (int64_t w : s.halo) halo_local[w] = -1;
    // Send list to p = p's halo block from r, as r's local indices.
    s.send_offsets.assign(static_cast<size_t>(parts) + 1, 0);
    for (int32_t p = 0; p < parts; ++p) {
      if (p != r) {
        const auto& hp = halo[p];
        auto lo = std::lower_bound(hp.begin(), hp.end(), r, [&](int64_t v, int32_t rr) { return part[v] < rr; });
        auto hi = std::upper_bound(hp.begin(), hp.end(), r, [&](int32_t rr, int64_t v) { return rr < part[v]; });
        for (auto it = lo; it != hi; ++it) s.send_list.push_back(local_in_owner[*it]);
      }
      s.send_offsets[p + 1] = static_cast<int64_t>(s.send_list.size());
    }
    OwnedUserItems* dst[3] = {&s.train, &s.valid, &s.test};
    for (int t = 0; t < 3; ++t) {
      dst[t]->indptr.assign(static_cast<size_t>(s.n_own_users) + 1, 0);
      for (int64_t k = 0; k < s.n_own_users; ++k) {
        int64_t u = s.owned[k];
        const auto& c = split_csr[t];
        dst[t]->items.insert(dst[t]->items.end(), c.items.begin() + c.indptr[u], c.items.begin() + c.indptr[u + 1]);
        dst[t]->indptr[k + 1] = static_cast<int64_t>(dst[t]->items.size());
      }
    }
    st.owned_per_rank.push_back(n_own);
    st.owned_users_per_rank.push_back(s.n_own_users);
    st.halo_per_rank.push_back(s.n_halo());
    st.local_edges_per_rank.push_back(s.nnz());
    sink(std::move(s));
  }
  // Edge cut over distinct pairs.
  NodeCsr gd = build_train_csr(ds, /*distinct=*/true);
  int64_t distinct_pairs = 0;
  for (int64_t u = 0; u < n_users; ++u)
    for (int64_t k = gd.indptr[u]; k < gd.indptr[u + 1]; ++k) {
      ++distinct_pairs;
      if (part[u] != part[gd.indices[k]]) ++st.edge_cut;
    }
  st.edge_cut_pct = distinct_pairs ? 100.0 * static_cast<double>(st.edge_cut) / static_cast<double>(distinct_pairs) : 0.0;
  finish_partition_stats(st);
  if (stats) *stats = st;
}

void finish_partition_stats(PartitionStats& st) {
  auto max_over_mean = [](const std::vector<int64_t>& v) {
    double sum = 0, mx = 0;
    for (int64_t x : v) sum += static_cast<double>(x), mx = std::max(mx, static_cast<double>(x));
    return sum > 0 ? mx / (sum / static_cast<double>(v.size())) : 1.0;
  };
  st.halo_total = st.halo_max = 0;
  for (int64_t h : st.halo_per_rank) st.halo_total += h, st.halo_max = std::max(st.halo_max, h);
  st.node_imbalance = max_over_mean(st.owned_per_rank);
  st.edge_imbalance = max_over_mean(st.local_edges_per_rank);
  st.halo_bytes_per_layer = st.halo_total * 64 * 4;
}

Shard build_single_shard(const Dataset& ds) {
  std::vector<int32_t> part(static_cast<size_t>(ds.n_nodes()), 0);
  Shard out;
  build_shards(ds, part, 1, compute_partition_id(ds.n_users, ds.n_items, 1, part), nullptr,
               [&](Shard&& s) { out = std::move(s); });
  return out;
}

void write_partition_dir(const std::string& dir, bool overwrite, const Dataset& ds, const std::vector<int32_t>& part,
                         PartitionMeta& meta) {
  write_dir_atomic(dir, overwrite, [&](const std::string& tmp) {
    build_shards(ds, part, meta.parts, meta.partition_id, &meta.stats, [&](Shard&& s) {
      write_shard((std::filesystem::path(tmp) / shard_file_name(s.rank)).string(), s);
      progress::add(1);  // a shard written (PhaseProgress of the caller, if any)
    });
    write_id_maps(ds.user_names, ds.item_names, tmp);  // original ids of a remapped dataset (user_ids.txt, item_ids.txt)
    meta.peak_rss_mb = peak_rss_mb();
    write_file_atomic((std::filesystem::path(tmp) / "meta.json").string(), meta_to_json(meta));
  });
}

Shard load_partition_shard(const std::string& dir, int32_t rank) {
  PartitionMeta m = read_partition_meta(dir);
  if (rank < 0 || rank >= m.parts)
    throw InputError(dir, 0, "rank " + std::to_string(rank) + " outside the partition's " + std::to_string(m.parts) + " parts");
  std::string path = (std::filesystem::path(dir) / shard_file_name(rank)).string();
  Shard s = read_shard(path);
  if (s.partition_id != m.partition_id || s.parts != m.parts || s.n_users != m.n_users || s.n_items != m.n_items)
    throw InputError(path, 0, "shard belongs to a different partition than " + dir + "/meta.json");
  if (s.rank != rank)
    throw InputError(path, 0, "shard holds rank " + std::to_string(s.rank) + ", expected rank " + std::to_string(rank));
  return s;
}

}  // namespace tkg
