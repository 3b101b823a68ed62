#include "shard/partition_dir.hpp"

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_writer.hpp"
#include "common/rng.hpp"
#include "graph/csr.hpp"

namespace tkg {

uint64_t compute_partition_id(int64_t n_users, int64_t n_items, int32_t parts, const std::vector<int32_t>& part) {
  uint64_t h = splitmix64(static_cast<uint64_t>(n_users));
  h = splitmix64(h ^ static_cast<uint64_t>(n_items));
  h = splitmix64(h ^ static_cast<uint64_t>(parts));
  for (int32_t p : part) h = splitmix64(h ^ static_cast<uint64_t>(p));
  return h;
}

std::string shard_file_name(int32_t rank) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "shard-%05d.bin", rank);
  return buf;
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
  auto max_over_mean = [](const std::vector<int64_t>& v) {
    double sum = 0, mx = 0;
    for (int64_t x : v) sum += static_cast<double>(x), mx = std::max(mx, static_cast<double>(x));
    return sum > 0 ? mx / (sum / static_cast<double>(v.size())) : 1.0;
  };
  for (int64_t h : st.halo_per_rank) st.halo_total += h, st.halo_max = std::max(st.halo_max, h);
  st.node_imbalance = max_over_mean(st.owned_per_rank);
  st.edge_imbalance = max_over_mean(st.local_edges_per_rank);
  st.halo_bytes_per_layer = st.halo_total * 64 * 4;
  if (stats) *stats = st;
}

Shard build_single_shard(const Dataset& ds) {
  std::vector<int32_t> part(static_cast<size_t>(ds.n_nodes()), 0);
  Shard out;
  build_shards(ds, part, 1, compute_partition_id(ds.n_users, ds.n_items, 1, part), nullptr,
               [&](Shard&& s) { out = std::move(s); });
  return out;
}

std::string meta_to_json(const PartitionMeta& m) {
  JsonWriter w;
  char id[24];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(m.partition_id));
  w.begin_object();
  w.key("format_version").value(static_cast<int64_t>(kShardFormatVersion));
  w.key("partition_id").value(std::string(id));
  w.key("n_users").value(m.n_users);
  w.key("n_items").value(m.n_items);
  w.key("n_edges").value(m.n_edges);
  w.key("n_train_lines").value(m.n_train_lines);
  w.key("parts").value(static_cast<int64_t>(m.parts));
  w.key("method").value(m.method);
  w.key("seed").value(m.seed);
  w.key("ncon").value(static_cast<int64_t>(m.ncon));
  w.key("objective").value(m.objective);
  w.key("imbalance").value(m.imbalance);
  const PartitionStats& s = m.stats;
  w.key("edge_cut").value(s.edge_cut);
  w.key("edge_cut_pct").value(s.edge_cut_pct);
  w.key("halo_total").value(s.halo_total);
  w.key("halo_max").value(s.halo_max);
  w.key("node_imbalance").value(s.node_imbalance);
  w.key("edge_imbalance").value(s.edge_imbalance);
  w.key("halo_bytes_per_layer_d64_fp32").value(s.halo_bytes_per_layer);
  w.key("seconds").value(m.seconds);
  w.key("peak_rss_mb").value(m.peak_rss_mb);
  w.key("owned_per_rank").array(s.owned_per_rank);
  w.key("owned_users_per_rank").array(s.owned_users_per_rank);
  w.key("halo_per_rank").array(s.halo_per_rank);
  w.key("local_edges_per_rank").array(s.local_edges_per_rank);
  w.key("inputs").begin_array();
  for (const FileInfo& f : m.inputs) {
    char crc[12];
    std::snprintf(crc, sizeof crc, "%08x", f.crc32);
    w.begin_object();
    w.key("split").value(f.split);
    w.key("path").value(f.path);
    w.key("format").value(text_format_name(f.format));
    w.key("bytes").value(static_cast<uint64_t>(f.bytes));
    w.key("crc32").value(std::string(crc));
    w.key("lines").value(f.lines);
    w.end_object();
  }
  w.end_array();
  w.key("shards").begin_array();
  for (int32_t r = 0; r < m.parts; ++r) w.value(shard_file_name(r));
  w.end_array();
  w.end_object();
  return w.str();
}

void write_partition_dir(const std::string& dir, bool overwrite, const Dataset& ds, const std::vector<int32_t>& part,
                         PartitionMeta& meta) {
  write_dir_atomic(dir, overwrite, [&](const std::string& tmp) {
    build_shards(ds, part, meta.parts, meta.partition_id, &meta.stats, [&](Shard&& s) {
      write_shard((std::filesystem::path(tmp) / shard_file_name(s.rank)).string(), s);
    });
    write_id_maps(ds, tmp);  // original ids of a remapped dataset (user_ids.txt, item_ids.txt)
    meta.peak_rss_mb = peak_rss_mb();
    write_file_atomic((std::filesystem::path(tmp) / "meta.json").string(), meta_to_json(meta));
  });
}

PartitionMeta read_partition_meta(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / "meta.json").string();
  std::string text = read_file(path);
  boost::property_tree::ptree pt;
  try {
    std::istringstream in(text);
    boost::property_tree::read_json(in, pt);
  } catch (const boost::property_tree::json_parser_error& e) {
    throw InputError(path, static_cast<int64_t>(e.line()), "malformed JSON: " + e.message());
  }
  PartitionMeta m;
  try {
    int64_t version = pt.get<int64_t>("format_version");
    if (version != kShardFormatVersion)
      throw InputError(path, 0, "partition format version " + std::to_string(version) + ", this build reads " +
                                    std::to_string(kShardFormatVersion) + " (re-run tkg-partition)");
    m.partition_id = std::stoull(pt.get<std::string>("partition_id"), nullptr, 16);
    m.n_users = pt.get<int64_t>("n_users");
    m.n_items = pt.get<int64_t>("n_items");
    m.n_edges = pt.get<int64_t>("n_edges");
    m.n_train_lines = pt.get<int64_t>("n_train_lines");
    m.parts = pt.get<int32_t>("parts");
    m.method = pt.get<std::string>("method");
    m.seed = pt.get<uint64_t>("seed");
    m.ncon = pt.get<int>("ncon");
    m.objective = pt.get<std::string>("objective");
    m.imbalance = pt.get<double>("imbalance");
    m.stats.edge_cut = pt.get<int64_t>("edge_cut");
    m.stats.edge_cut_pct = pt.get<double>("edge_cut_pct");
    m.stats.halo_total = pt.get<int64_t>("halo_total");
    m.stats.halo_max = pt.get<int64_t>("halo_max");
    m.stats.node_imbalance = pt.get<double>("node_imbalance");
    m.stats.edge_imbalance = pt.get<double>("edge_imbalance");
    m.seconds = pt.get<double>("seconds");
    m.peak_rss_mb = pt.get<double>("peak_rss_mb");
  } catch (const boost::property_tree::ptree_error& e) {
    throw InputError(path, 0, std::string("missing or malformed field: ") + e.what());
  } catch (const std::invalid_argument&) {
    throw InputError(path, 0, "malformed partition_id");
  }
  if (m.parts < 1) throw InputError(path, 0, "parts must be >= 1");
  return m;
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
