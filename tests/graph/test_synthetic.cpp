#include "graph/synthetic.hpp"

#include <gtest/gtest.h>

#include <set>

#include "common/error.hpp"
#include "graph/csr.hpp"
#include "../support/temp_dir.hpp"

TEST(PowerLaw, ExactDistinctEdgeCountAndDeterminism) {
  tkg::PowerLawOptions o;
  o.users = 500;
  o.items = 300;
  o.edges = 5000;
  o.seed = 3;
  tkg::Dataset a = tkg::generate_powerlaw(o);
  tkg::Dataset b = tkg::generate_powerlaw(o);
  EXPECT_EQ(a.train.size() + a.valid.size() + a.test.size(), 5000);
  EXPECT_EQ(a.train.user, b.train.user);
  EXPECT_EQ(a.test.item, b.test.item);
  std::set<std::pair<int64_t, int64_t>> pairs;
  for (const tkg::EdgeList* el : {&a.train, &a.valid, &a.test})
    for (int64_t k = 0; k < el->size(); ++k) pairs.insert({el->user[k], el->item[k]});
  EXPECT_EQ(pairs.size(), 5000u);
  EXPECT_NEAR(static_cast<double>(a.train.size()) / 5000.0, 0.7, 0.03);
  EXPECT_EQ(a.n_users, 500);
  EXPECT_EQ(a.n_items, 300);
}

TEST(PowerLaw, DegreesAreSkewed) {
  tkg::PowerLawOptions o;
  o.users = 2000;
  o.items = 2000;
  o.edges = 40000;
  o.alpha_users = o.alpha_items = 1.0;
  tkg::Dataset ds = tkg::generate_powerlaw(o);
  tkg::NodeCsr g = tkg::build_train_csr(ds, false);
  int64_t max_deg = 0;
  for (int64_t v = 0; v < g.n_nodes; ++v) max_deg = std::max(max_deg, g.degree(v));
  double mean = static_cast<double>(g.nnz()) / static_cast<double>(g.n_nodes);
  EXPECT_GT(static_cast<double>(max_deg), 10 * mean);
}

TEST(PowerLaw, CommunitiesKeepMostEdgesInside) {
  tkg::PowerLawOptions o;
  o.users = 1000;
  o.items = 1000;
  o.edges = 20000;
  o.communities = 10;
  o.p_in = 0.9;
  tkg::Dataset ds = tkg::generate_powerlaw(o);
  int64_t inside = 0;
  for (int64_t k = 0; k < ds.train.size(); ++k) inside += (ds.train.user[k] % 10) == (ds.train.item[k] % 10);
  double frac = static_cast<double>(inside) / static_cast<double>(ds.train.size());
  EXPECT_GT(frac, 0.85);  // 0.9 + 0.1 * 1/10 expected
  EXPECT_LT(frac, 0.95);
}

TEST(PowerLaw, RejectsBadOptions) {
  tkg::PowerLawOptions o;
  o.users = 10;
  o.items = 10;
  o.edges = 80;  // more than half of all pairs
  EXPECT_THROW(tkg::generate_powerlaw(o), tkg::InputError);
  o.edges = 10;
  o.communities = 11;
  EXPECT_THROW(tkg::generate_powerlaw(o), tkg::InputError);
}

TEST(Tile, CopiesOffsetIdsAndCrossFraction) {
  tkg::Dataset base;
  for (int u = 0; u < 50; ++u)
    for (int i = 0; i < 20; ++i) base.train.push(u, (u + i) % 40);
  base.test.push(0, 1);
  tkg::finalize_dataset(base);
  tkg::TileOptions o;
  o.copies = 4;
  o.cross = 0.1;
  tkg::Dataset t = tkg::tile_dataset(base, o);
  EXPECT_EQ(t.n_users, 200);
  EXPECT_EQ(t.n_items, 160);
  EXPECT_EQ(t.train.size(), 4 * base.train.size());
  int64_t crossing = 0;
  for (int64_t k = 0; k < t.train.size(); ++k) {
    int64_t uc = t.train.user[k] / 50, ic = t.train.item[k] / 40;
    crossing += uc != ic;
    EXPECT_EQ(t.train.item[k] % 40, base.train.item[k % base.train.size()]);
  }
  EXPECT_NEAR(static_cast<double>(crossing) / static_cast<double>(t.train.size()), 0.1, 0.03);
}

TEST(WriteDatasetDir, RoundTripsThroughTheReader) {
  tkg::testing::TempDir d;
  tkg::PowerLawOptions o;
  o.users = 100;
  o.items = 80;
  o.edges = 1000;
  tkg::Dataset ds = tkg::generate_powerlaw(o);
  tkg::write_dataset_dir(d.file("out"), ds, false, "info\n");
  tkg::Dataset back = tkg::load_dataset(d.file("out"), tkg::ReadOptions{});
  EXPECT_EQ(back.train.user, ds.train.user);
  EXPECT_EQ(back.valid.item, ds.valid.item);
  EXPECT_EQ(back.test.item, ds.test.item);
  EXPECT_THROW(tkg::write_dataset_dir(d.file("out"), ds, false, ""), tkg::InputError);  // exists, no --force
}
