// Partition invariants on shipped data for every method and P in {1, 2, 3, 4, 8}.
#include "partition/partitioner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/error.hpp"
#include "graph/csr.hpp"
#include "format/shard_file.hpp"
#include "shard/partition_dir.hpp"
#include "../support/temp_dir.hpp"

using tkg::testing::shared_data;

namespace {

const tkg::Dataset& dataset(const std::string& name) {
  static std::map<std::string, tkg::Dataset> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, tkg::load_dataset(shared_data(name), tkg::ReadOptions{})).first;
  return it->second;
}

void check_invariants(const tkg::Dataset& ds, const std::vector<int32_t>& part, int32_t parts) {
  const int64_t n_nodes = ds.n_nodes();
  tkg::NodeCsr g = tkg::build_train_csr(ds, false);
  tkg::UserItemsCsr train = tkg::group_by_user(ds.train, ds.n_users);
  std::vector<tkg::Shard> shards;
  tkg::PartitionStats stats;
  tkg::build_shards(ds, part, parts, 42, &stats, [&](tkg::Shard&& s) {
    // Every shard survives serialization and validation.
    shards.push_back(tkg::parse_shard(tkg::serialize_shard(s), "shard"));
  });
  ASSERT_EQ(static_cast<int32_t>(shards.size()), parts);
  // Every node owned exactly once, by part[v].
  std::vector<int> owners(static_cast<size_t>(n_nodes), 0);
  for (const tkg::Shard& s : shards)
    for (int64_t v : s.owned) {
      ++owners[v];
      ASSERT_EQ(part[v], s.rank);
    }
  for (int64_t v = 0; v < n_nodes; ++v) ASSERT_EQ(owners[v], 1) << "node " << v;
  for (const tkg::Shard& s : shards) {
    const int32_t r = s.rank;
    // Each owned row holds exactly the node's train edges (as a multiset of global ids).
    std::vector<int64_t> remote;
    for (int64_t k = 0; k < s.n_own(); ++k) {
      int64_t v = s.owned[k];
      std::vector<int64_t> row;
      for (int64_t e = s.indptr[k]; e < s.indptr[k + 1]; ++e) {
        row.push_back(s.global_id(s.indices[e]));
        if (s.indices[e] >= s.n_own()) remote.push_back(s.global_id(s.indices[e]));
        else ASSERT_EQ(part[s.owned[s.indices[e]]], r);
      }
      std::sort(row.begin(), row.end());
      std::vector<int64_t> expect(g.indices.begin() + g.indptr[v], g.indices.begin() + g.indptr[v + 1]);
      ASSERT_EQ(row, expect) << "rank " << r << " node " << v;
    }
    // Halo = exactly the remote neighbours of owned nodes, grouped by owner.
    std::sort(remote.begin(), remote.end());
    remote.erase(std::unique(remote.begin(), remote.end()), remote.end());
    std::vector<int64_t> halo_sorted = s.halo;
    std::sort(halo_sorted.begin(), halo_sorted.end());
    ASSERT_EQ(halo_sorted, remote) << "rank " << r;
    for (int32_t p = 0; p < parts; ++p)
      for (int64_t k = s.halo_offsets[p]; k < s.halo_offsets[p + 1]; ++k) ASSERT_EQ(part[s.halo[k]], p);
    // Stored degrees are global degrees.
    for (int64_t k = 0; k < s.n_local(); ++k) ASSERT_EQ(s.degree[k], g.degree(s.global_id(k)));
    // Rank r's send list to p equals p's halo block from r.
    for (int32_t p = 0; p < parts; ++p) {
      std::vector<int64_t> sent;
      for (int64_t k = s.send_offsets[p]; k < s.send_offsets[p + 1]; ++k) sent.push_back(s.owned[s.send_list[k]]);
      const tkg::Shard& q = shards[p];
      std::vector<int64_t> block(q.halo.begin() + q.halo_offsets[r], q.halo.begin() + q.halo_offsets[r + 1]);
      ASSERT_EQ(sent, block) << "send " << r << "->" << p;
    }
    // Owned users' train items.
    for (int64_t k = 0; k < s.n_own_users; ++k) {
      int64_t u = s.owned[k];
      std::vector<int64_t> got(s.train.items.begin() + s.train.indptr[k], s.train.items.begin() + s.train.indptr[k + 1]);
      std::vector<int64_t> want(train.items.begin() + train.indptr[u], train.items.begin() + train.indptr[u + 1]);
      ASSERT_EQ(got, want);
    }
  }
  // Statistics agree with the shards.
  int64_t halo_total = 0;
  for (const tkg::Shard& s : shards) halo_total += s.n_halo();
  EXPECT_EQ(stats.halo_total, halo_total);
  if (parts == 1) {
    EXPECT_EQ(stats.edge_cut, 0);
    EXPECT_EQ(halo_total, 0);
  }
}

struct Case {
  std::string data;
  tkg::PartitionMethod method;
  int32_t parts;
};

class PartitionInvariants : public ::testing::TestWithParam<Case> {};

TEST_P(PartitionInvariants, Hold) {
  const Case& c = GetParam();
  const tkg::Dataset& ds = dataset(c.data);
  tkg::PartitionOptions o;
  o.parts = c.parts;
  o.method = c.method;
  tkg::NodeCsr g = tkg::build_train_csr(ds, true);
  std::vector<int32_t> part = tkg::partition_nodes(g, o);
  check_invariants(ds, part, c.parts);
  EXPECT_EQ(part, tkg::partition_nodes(g, o)) << "not deterministic";
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (std::string d : {"Ali-Display", "gowalla"})
    for (auto m : {tkg::PartitionMethod::kMetis, tkg::PartitionMethod::kRandom, tkg::PartitionMethod::kHash})
      for (int32_t p : {1, 2, 3, 4, 8}) out.push_back({d, m, p});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shipped, PartitionInvariants, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           std::string d = i.param.data == "Ali-Display" ? "ali" : i.param.data;
                           return d + "_" + tkg::partition_method_name(i.param.method) + "_P" +
                                  std::to_string(i.param.parts);
                         });

}  // namespace

TEST(Metis, TwoConstraintsBalanceEdgesOnGowalla) {
  const tkg::Dataset& ds = dataset("gowalla");
  tkg::NodeCsr g = tkg::build_train_csr(ds, true);
  for (int32_t p : {4, 8}) {
    tkg::PartitionOptions o;
    o.parts = p;
    std::vector<int32_t> part = tkg::partition_nodes(g, o);
    tkg::PartitionStats st;
    tkg::build_shards(ds, part, p, 1, &st, [](tkg::Shard&&) {});
    EXPECT_LE(st.edge_imbalance, 1.05) << "P=" << p;
    EXPECT_LE(st.node_imbalance, 1.05) << "P=" << p;
    // METIS must beat a random assignment by a wide margin on a real graph.
    tkg::PartitionOptions r = o;
    r.method = tkg::PartitionMethod::kRandom;
    tkg::PartitionStats rs;
    tkg::build_shards(ds, tkg::partition_nodes(g, r), p, 1, &rs, [](tkg::Shard&&) {});
    EXPECT_LT(st.edge_cut_pct, 0.5 * rs.edge_cut_pct) << "P=" << p;
  }
}

TEST(Metis, BadOptionsAreRejected) {
  tkg::NodeCsr g;
  g.n_nodes = 4;
  g.indptr = {0, 1, 2, 3, 4};
  g.indices = {2, 3, 0, 1};
  tkg::PartitionOptions o;
  o.parts = 0;
  EXPECT_THROW(tkg::partition_nodes(g, o), tkg::InputError);
  o.parts = 5;
  EXPECT_THROW(tkg::partition_nodes(g, o), tkg::InputError);
  o.parts = 2;
  o.ncon = 3;
  EXPECT_THROW(tkg::partition_nodes(g, o), tkg::InputError);
  o.ncon = 2;
  o.objective = "edges";
  EXPECT_THROW(tkg::partition_nodes(g, o), tkg::InputError);
}

TEST(Metis, GraphBeyondIdxTIsRefusedWithAClearMessage) {
  // Only the sizes matter: the check happens before any array is touched.
  tkg::NodeCsr g;
  g.n_nodes = int64_t{3} << 30;  // 3.2e9 nodes > 2^31 - 1
  tkg::PartitionOptions o;
  o.parts = 2;
  try {
    tkg::partition_nodes(g, o);
    FAIL() << "expected InputError";
  } catch (const tkg::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("too large for this METIS build"), std::string::npos) << e.what();
  }
}
