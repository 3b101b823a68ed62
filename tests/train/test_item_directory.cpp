// The item directory and the request routing it uses, at P = 1..4: every rank can find the owner
// of any item although each holds only ceil(m / P) entries; empty requests still take part.
#include "train/item_directory.hpp"

#include <gtest/gtest.h>

#include "../support/mpi_fixture.hpp"
#include "comm/routing.hpp"
#include "graph/synthetic.hpp"

using tkg::testing::world;

TEST(ItemDirectory, FindsTheOwnerOfEveryItem) {
  tkg::PowerLawOptions o;
  o.users = 200;
  o.items = 301;
  o.edges = 3000;
  o.seed = 2;
  tkg::Dataset ds = tkg::generate_powerlaw(o);
  tkg::PartitionOptions po;
  po.parts = world().size();
  po.method = tkg::PartitionMethod::kRandom;
  std::vector<int32_t> part = tkg::partition_nodes(tkg::build_train_csr(ds, true), po);
  tkg::Shard mine;
  tkg::build_shards(ds, part, po.parts, 1, nullptr, [&](tkg::Shard&& s) {
    if (s.rank == world().rank()) mine = std::move(s);
  });
  tkg::ItemDirectory dir(mine, world());
  const int P = world().size();
  EXPECT_LE(dir.entries(), (ds.n_items + P - 1) / P);
  // Rank r asks for the items i with i % (r + 2) == 0, repeats included; the last rank asks nothing.
  std::vector<int64_t> ask;
  if (world().rank() != P - 1 || P == 1)
    for (int64_t i = 0; i < ds.n_items; ++i)
      if (i % (world().rank() + 2) == 0) ask.push_back(i), ask.push_back(i);
  std::vector<int32_t> owners = dir.owners(ask);
  ASSERT_EQ(owners.size(), ask.size());
  for (size_t k = 0; k < ask.size(); ++k) EXPECT_EQ(owners[k], part[ds.n_users + ask[k]]) << "item " << ask[k];
}

TEST(Routing, RecordsArriveGroupedBySourceInOrder) {
  const int P = world().size(), me = world().rank();
  // Rank r sends to every rank p the records (r, p, 0), (r, p, 1), ... (p + 1 records), interleaved.
  std::vector<int64_t> values;
  std::vector<int32_t> dest;
  for (int k = 0; k <= P; ++k)
    for (int p = 0; p < P; ++p)
      if (k <= p) values.insert(values.end(), {me, p, k}), dest.push_back(p);
  tkg::Routed r = tkg::route_records(world(), values, 3, dest);
  int64_t at = 0;
  for (int src = 0; src < P; ++src) {
    ASSERT_EQ(r.recv_counts[src], me + 1);
    for (int k = 0; k <= me; ++k, ++at) {
      EXPECT_EQ(r.received[3 * at], src);
      EXPECT_EQ(r.received[3 * at + 1], me);
      EXPECT_EQ(r.received[3 * at + 2], k);
    }
  }
}
