// The negative sampler: the shared pool is Q distinct items that depend on (seed, epoch, step)
// only; draws stay in the pool, avoid train pairs, and do not depend on the shard.
#include "train/negative_sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "graph/synthetic.hpp"
#include "shard/partition_dir.hpp"

namespace {

struct Fixture {
  tkg::Shard shard;
  std::unique_ptr<tkg::LocalIndex> local;
  tkg::TrainLines lines;
  Fixture() {
    tkg::PowerLawOptions o;
    o.users = 300;
    o.items = 500;
    o.edges = 5000;
    o.seed = 4;
    shard = tkg::build_single_shard(tkg::generate_powerlaw(o));
    local = std::make_unique<tkg::LocalIndex>(shard);
    lines = tkg::build_train_lines(shard, *local);
  }
};

std::vector<int64_t> all_lines(const tkg::TrainLines& t) {
  std::vector<int64_t> v(static_cast<size_t>(t.size()));
  for (int64_t k = 0; k < t.size(); ++k) v[k] = k;
  return v;
}

}  // namespace

TEST(NegativeSampler, PoolIsDistinctSortedAndDependsOnEpochAndStepOnly) {
  Fixture f;
  tkg::NegativeSampler s(f.lines, 500, 7, 50), same(f.lines, 500, 7, 50), other(f.lines, 500, 8, 50);
  std::vector<int64_t> p = s.pool(3, 1);
  ASSERT_EQ(p.size(), 50u);
  EXPECT_TRUE(std::is_sorted(p.begin(), p.end()));
  EXPECT_EQ(std::set<int64_t>(p.begin(), p.end()).size(), 50u);
  EXPECT_GE(p.front(), 0);
  EXPECT_LT(p.back(), 500);
  EXPECT_EQ(p, same.pool(3, 1));
  EXPECT_NE(p, s.pool(3, 2));
  EXPECT_NE(p, s.pool(4, 1));
  EXPECT_NE(p, other.pool(3, 1));
  // Every item is about as likely to be in the pool: 400 pools of 50 out of 500 items.
  std::vector<int> hits(500, 0);
  for (int e = 0; e < 400; ++e)
    for (int64_t j : s.pool(e, 0)) ++hits[j];
  const auto [lo, hi] = std::minmax_element(hits.begin(), hits.end());
  EXPECT_GT(*lo, 15);  // mean 40
  EXPECT_LT(*hi, 70);
}

TEST(NegativeSampler, PoolDrawsStayInThePoolAndAvoidTrainPairs) {
  Fixture f;
  tkg::NegativeSampler s(f.lines, 500, 7, 120);
  std::vector<int64_t> lines = all_lines(f.lines);
  std::vector<int64_t> neg = s.sample(2, 0, lines), pool = s.pool(2, 0);
  for (size_t k = 0; k < lines.size(); ++k) {
    ASSERT_TRUE(std::binary_search(pool.begin(), pool.end(), neg[k])) << "line " << k;
    ASSERT_FALSE(f.lines.is_train_pair(f.lines.user[k], neg[k])) << "line " << k;
  }
  EXPECT_EQ(neg, s.sample(2, 0, lines));  // reproducible
}

TEST(NegativeSampler, ExactSamplerCoversAllItemsAndPoolOfAllItemsIsExact) {
  Fixture f;
  tkg::NegativeSampler exact(f.lines, 500, 7, 0), whole(f.lines, 500, 7, 500);
  EXPECT_FALSE(whole.uses_pool());
  std::vector<int64_t> lines = all_lines(f.lines);
  std::vector<int64_t> a = exact.sample(0, 0, lines);
  EXPECT_EQ(a, whole.sample(0, 0, lines));
  EXPECT_GT(std::set<int64_t>(a.begin(), a.end()).size(), 400u);
}
