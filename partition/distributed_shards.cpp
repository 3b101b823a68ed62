#include "partition/distributed_shards.hpp"

#include <algorithm>
#include <filesystem>

#include "comm/agreed_error.hpp"
#include "comm/communicator.hpp"
#include "comm/routing.hpp"
#include "common/error.hpp"
#include "format/shard_file.hpp"
#include "common/fault_injection.hpp"
#include "common/memory.hpp"
#include "common/phase_progress.hpp"
#include "partition/node_slice.hpp"

namespace tkg {

namespace {

// One node as its shard's writer receives it: header, then its rows.
constexpr int64_t kHeader = 5;  // v, part, degree, n_valid, n_test
struct NodeRecord {
  int64_t v, part, degree, n_valid, n_test;
  const int64_t* row;  // [degree]: a user's train items (file order), an item's users (ascending)
  const int64_t* valid;
  const int64_t* test;
};

}  // namespace

PartitionStats write_distributed_shards(Communicator& comm, const NodeSlice& s, const std::vector<int32_t>& part,
                                        int32_t parts, uint64_t partition_id, const std::string& dir,
                                        int64_t* distinct_pairs_out) {
  const int me = comm.rank(), R = comm.size();
  const int64_t n_users = s.n_users;
  TKG_CHECK(static_cast<int64_t>(part.size()) == s.count, "part has " << part.size() << " entries for " << s.count << " nodes");
  // 1. Every node's record to its shard's writer.
  std::vector<int64_t> send_counts(static_cast<size_t>(R), 0);
  for (int64_t k = 0; k < s.count; ++k)
    send_counts[shard_writer(part[k], R)] += kHeader + s.degree(k) + s.valid.size(k) + s.test.size(k);
  std::vector<int64_t> fill(static_cast<size_t>(R));
  int64_t total = 0;
  for (int p = 0; p < R; ++p) fill[p] = total, total += send_counts[p];
  std::vector<int64_t> send(static_cast<size_t>(total));
  for (int64_t k = 0; k < s.count; ++k) {
    int64_t& f = fill[shard_writer(part[k], R)];
    send[f++] = s.first + k;
    send[f++] = part[k];
    send[f++] = s.degree(k);
    send[f++] = s.valid.size(k);
    send[f++] = s.test.size(k);
    for (const LocalRows* rows : {&s.train, &s.valid, &s.test})
      for (int64_t j = rows->indptr[k]; j < rows->indptr[k + 1]; ++j) send[f++] = rows->values[j];
  }
  std::vector<int64_t> mine = exchange_packed(comm, send, send_counts, nullptr);
  memory_mark("partition: node records exchanged");
  send = std::vector<int64_t>();
  // Records by part, in arrival order = ascending node id (the senders' ranges ascend by rank).
  std::vector<std::vector<NodeRecord>> by_part(static_cast<size_t>(parts));
  std::vector<int64_t> asked;  // every neighbour node id (then made distinct)
  for (size_t off = 0; off < mine.size();) {
    NodeRecord rec{mine[off], mine[off + 1], mine[off + 2], mine[off + 3], mine[off + 4], nullptr, nullptr, nullptr};
    rec.row = mine.data() + off + kHeader;
    rec.valid = rec.row + rec.degree;
    rec.test = rec.valid + rec.n_valid;
    off += static_cast<size_t>(kHeader + rec.degree + rec.n_valid + rec.n_test);
    const int64_t offset = rec.v < n_users ? n_users : 0;
    for (int64_t j = 0; j < rec.degree; ++j) asked.push_back(rec.row[j] + offset);
    by_part[rec.part].push_back(rec);
  }
  std::sort(asked.begin(), asked.end());
  asked.erase(std::unique(asked.begin(), asked.end()), asked.end());
  // 2. The part and degree of every neighbour, from its node's owner.
  std::vector<int32_t> owner(asked.size());
  for (size_t k = 0; k < asked.size(); ++k) owner[k] = s.ranges.owner(asked[k]);
  const std::vector<int64_t> answers = request_reply(comm, asked, owner, 2, [&](int, int64_t w, int64_t* out) {
    const int64_t local = w - s.first;
    TKG_CHECK(local >= 0 && local < s.count, "node " << w << " asked of the wrong owner");
    out[0] = part[local];
    out[1] = s.degree(local);
  });
  auto lookup = [&](int64_t w, int64_t* deg) {
    const size_t k = static_cast<size_t>(std::lower_bound(asked.begin(), asked.end(), w) - asked.begin());
    if (deg) *deg = answers[2 * k + 1];
    return static_cast<int32_t>(answers[2 * k]);
  };
  // 3. Build and write each of my shards.
  PartitionStats st;
  st.owned_per_rank.assign(static_cast<size_t>(parts), 0);
  st.owned_users_per_rank = st.halo_per_rank = st.local_edges_per_rank = st.owned_per_rank;
  int64_t cut_and_pairs[2] = {0, 0};
  // No collective inside: a failure here (a write) reaches every rank through the agreement.
  run_agreed(comm, [&] {
  for (int32_t p = static_cast<int32_t>(me); p < parts; p += R) {
    const std::vector<NodeRecord>& recs = by_part[p];
    Shard sh;
    sh.partition_id = partition_id;
    sh.rank = p;
    sh.parts = parts;
    sh.n_users = n_users;
    sh.n_items = s.n_items;
    sh.owned.reserve(recs.size());
    for (const NodeRecord& r : recs) sh.owned.push_back(r.v);
    sh.n_own_users = std::lower_bound(sh.owned.begin(), sh.owned.end(), n_users) - sh.owned.begin();
    const int64_t n_own = sh.n_own();
    // Rows as global node ids, ascending (as build_train_csr), with their owners.
    std::vector<int64_t> rows_ptr(static_cast<size_t>(n_own) + 1, 0), rows;
    for (int64_t k = 0; k < n_own; ++k) rows_ptr[k + 1] = rows_ptr[k] + recs[k].degree;
    rows.resize(static_cast<size_t>(rows_ptr.back()));
    std::vector<int32_t> rows_part(rows.size());
    for (int64_t k = 0; k < n_own; ++k) {
      const NodeRecord& r = recs[k];
      const int64_t offset = r.v < n_users ? n_users : 0;
      int64_t* row = rows.data() + rows_ptr[k];
      for (int64_t j = 0; j < r.degree; ++j) row[j] = r.row[j] + offset;
      if (r.v < n_users) std::sort(row, row + r.degree);
      for (int64_t j = 0; j < r.degree; ++j) rows_part[rows_ptr[k] + j] = lookup(row[j], nullptr);
    }
    // Halo: remote neighbours, by (owner, id).
    std::vector<std::pair<int32_t, int64_t>> halo;
    for (size_t j = 0; j < rows.size(); ++j)
      if (rows_part[j] != p) halo.emplace_back(rows_part[j], rows[j]);
    std::sort(halo.begin(), halo.end());
    halo.erase(std::unique(halo.begin(), halo.end()), halo.end());
    sh.halo.reserve(halo.size());
    sh.halo_offsets.assign(static_cast<size_t>(parts) + 1, 0);
    for (const auto& [q, w] : halo) sh.halo.push_back(w), ++sh.halo_offsets[q + 1];
    for (int32_t q = 0; q < parts; ++q) sh.halo_offsets[q + 1] += sh.halo_offsets[q];
    sh.degree.resize(static_cast<size_t>(sh.n_local()));
    for (int64_t k = 0; k < n_own; ++k) sh.degree[k] = recs[k].degree;
    for (int64_t k = 0; k < sh.n_halo(); ++k) lookup(sh.halo[k], &sh.degree[n_own + k]);
    sh.indptr = rows_ptr;
    sh.indices.resize(rows.size());
    auto local_of = [&](int64_t w, int32_t q) {
      if (q == p) return static_cast<int64_t>(std::lower_bound(sh.owned.begin(), sh.owned.end(), w) - sh.owned.begin());
      const auto b = halo.begin() + sh.halo_offsets[q], e = halo.begin() + sh.halo_offsets[q + 1];
      return n_own + (std::lower_bound(b, e, std::make_pair(q, w)) - halo.begin());
    };
    for (size_t j = 0; j < rows.size(); ++j) sh.indices[j] = local_of(rows[j], rows_part[j]);
    // Send list to q: my nodes with a neighbour owned by q, ascending (q's halo block from me).
    std::vector<std::vector<int64_t>> to(static_cast<size_t>(parts));
    for (int64_t k = 0; k < n_own; ++k)
      for (int64_t j = rows_ptr[k]; j < rows_ptr[k + 1]; ++j) {
        const int32_t q = rows_part[j];
        if (q != p && (to[q].empty() || to[q].back() != k)) to[q].push_back(k);
      }
    sh.send_offsets.assign(static_cast<size_t>(parts) + 1, 0);
    for (int32_t q = 0; q < parts; ++q) {
      sh.send_list.insert(sh.send_list.end(), to[q].begin(), to[q].end());
      sh.send_offsets[q + 1] = static_cast<int64_t>(sh.send_list.size());
    }
    // Splits of the owned users, file order.
    OwnedUserItems* dst[3] = {&sh.train, &sh.valid, &sh.test};
    for (OwnedUserItems* d : dst) d->indptr.assign(static_cast<size_t>(sh.n_own_users) + 1, 0);
    for (int64_t k = 0; k < sh.n_own_users; ++k) {
      const NodeRecord& r = recs[k];
      sh.train.items.insert(sh.train.items.end(), r.row, r.row + r.degree);
      sh.valid.items.insert(sh.valid.items.end(), r.valid, r.valid + r.n_valid);
      sh.test.items.insert(sh.test.items.end(), r.test, r.test + r.n_test);
      for (OwnedUserItems* d : dst) d->indptr[k + 1] = static_cast<int64_t>(d->items.size());
      // Distinct pairs and the cut: a user's sorted row, distinct entries.
      for (int64_t j = rows_ptr[k]; j < rows_ptr[k + 1]; ++j)
        if (j == rows_ptr[k] || rows[j] != rows[j - 1]) {
          ++cut_and_pairs[1];
          if (rows_part[j] != p) ++cut_and_pairs[0];
        }
    }
    st.owned_per_rank[p] = n_own;
    st.owned_users_per_rank[p] = sh.n_own_users;
    st.halo_per_rank[p] = sh.n_halo();
    st.local_edges_per_rank[p] = sh.nnz();
    validate_shard(sh, shard_file_name(p));
    fault_point("shard-write", me);  // the failure tests: a write that fails on one process
    write_shard((std::filesystem::path(dir) / shard_file_name(p)).string(), sh);
    progress::add(1);
  }
  });
  // 4. The statistics, summed over the writers (each filled its own parts).
  for (auto* v : {&st.owned_per_rank, &st.owned_users_per_rank, &st.halo_per_rank, &st.local_edges_per_rank})
    comm.all_reduce_sum(v->data(), parts);
  comm.all_reduce_sum(cut_and_pairs, 2);
  st.edge_cut = cut_and_pairs[0];
  st.edge_cut_pct = cut_and_pairs[1] ? 100.0 * static_cast<double>(st.edge_cut) / static_cast<double>(cut_and_pairs[1]) : 0.0;
  if (distinct_pairs_out) *distinct_pairs_out = cut_and_pairs[1];
  finish_partition_stats(st);
  return st;
}

}  // namespace tkg
