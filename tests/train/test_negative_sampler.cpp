// The negative sampler: the shared pool is Q distinct items that depend on (seed, epoch, step)
// only; draws stay in the pool, avoid train pairs, and do not depend on the shard.
#include "train/negative_sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

TEST(NegativeSampler, SeveralPerLineStartWithTheSingleDrawAndAvoidTrainPairs) {
  Fixture f;
  for (int64_t pool : {int64_t{0}, int64_t{60}}) {
    tkg::NegativeSampler one(f.lines, 500, 7, pool), four(f.lines, 500, 7, pool, 4);
    EXPECT_EQ(four.per_line(), 4);
    std::vector<int64_t> lines = all_lines(f.lines);
    // A subset of the lines in another order: each line's draws do not depend on its neighbours.
    std::vector<int64_t> some(lines.rbegin(), lines.rbegin() + 100);
    const std::vector<int64_t> a = one.sample(2, 3, lines), b = four.sample(2, 3, lines), c = four.sample(2, 3, some);
    ASSERT_EQ(b.size(), 4 * lines.size());
    ASSERT_EQ(four.sample_all(2, 3), b);
    std::set<int64_t> pool_items;
    for (int64_t j : four.pool(2, 3)) pool_items.insert(j);
    size_t repeats = 0;
    for (size_t k = 0; k < lines.size(); ++k) {
      EXPECT_EQ(b[4 * k], a[k]) << "the first of K is the K = 1 draw, line " << k;
      const int64_t u = f.lines.user[k];
      for (int c2 = 0; c2 < 4; ++c2) {
        const int64_t j = b[4 * k + c2];
        ASSERT_GE(j, 0);
        ASSERT_LT(j, 500);
        EXPECT_FALSE(f.lines.is_train_pair(u, j)) << "line " << k;
        if (pool) EXPECT_TRUE(pool_items.count(j)) << "outside the pool";
      }
      repeats += std::set<int64_t>(b.begin() + 4 * k, b.begin() + 4 * k + 4).size() < 4;
    }
    EXPECT_LT(repeats, lines.size() / 4) << "the K draws of a line are not independent";
    for (size_t k = 0; k < some.size(); ++k)
      for (int c2 = 0; c2 < 4; ++c2) EXPECT_EQ(c[4 * k + c2], b[4 * some[k] + c2]);
  }
}

// LightGCN's sampler (train.sampling = users): users equally likely whatever their line counts,
// positives uniform within a user, the same draws whatever the shard, and salted negatives.
TEST(UserUniformBatch, UsersEquallyLikelyPositivesUniform) {
  Fixture f;
  const int64_t nu = static_cast<int64_t>(f.lines.first.size()) - 1;
  int64_t with_lines = 0;
  for (int64_t u = 0; u < nu; ++u) with_lines += f.lines.first[u + 1] > f.lines.first[u];
  std::vector<double> per_user(static_cast<size_t>(nu), 0.0);
  double rel_pos = 0;  // position / (degree - 1) of each sample of a user with several lines: mean 1/2 if uniform
  int64_t n_rel = 0;
  int64_t total = 0;
  const int steps = 400;
  const double mean = 2.0;
  for (int s = 0; s < steps; ++s) {
    tkg::SampledLines b = tkg::user_uniform_batch(f.lines, 3, 1, s, mean);
    ASSERT_EQ(b.lines.size(), b.salt.size());
    for (size_t k = 0; k < b.lines.size(); ++k) {
      const int64_t line = b.lines[k];
      ASSERT_GE(line, 0);
      ASSERT_LT(line, f.lines.size());
      per_user[f.lines.user[line]] += 1;
      const int64_t u = f.lines.user[line], deg = f.lines.first[u + 1] - f.lines.first[u];
      if (deg > 1) rel_pos += static_cast<double>(f.lines.pos(line)) / static_cast<double>(deg - 1), ++n_rel;
      if (k > 0 && f.lines.user[b.lines[k - 1]] == f.lines.user[line]) EXPECT_EQ(b.salt[k], b.salt[k - 1] + 1);
    }
    total += static_cast<int64_t>(b.lines.size());
  }
  // Expected total: steps × mean × users with lines; Poisson, so within a few standard deviations.
  const double expect = steps * mean * with_lines;
  EXPECT_NEAR(static_cast<double>(total), expect, 5 * std::sqrt(expect));
  EXPECT_NEAR(rel_pos / static_cast<double>(n_rel), 0.5, 0.01) << "positives uniform within a user";
  // Heavy and light users get the same number of samples on average (not proportional to lines).
  double heavy = 0, light = 0;
  int64_t nh = 0, nl = 0;
  for (int64_t u = 0; u < nu; ++u) {
    const int64_t deg = f.lines.first[u + 1] - f.lines.first[u];
    if (deg == 0) continue;
    if (deg >= 20) heavy += per_user[u], ++nh;
    if (deg <= 5) light += per_user[u], ++nl;
  }
  ASSERT_GT(nh, 0);
  ASSERT_GT(nl, 0);
  EXPECT_NEAR(heavy / nh / (steps * mean), 1.0, 0.1);
  EXPECT_NEAR(light / nl / (steps * mean), 1.0, 0.1);
  // Deterministic, and the salt makes repeated lines draw different negatives.
  tkg::SampledLines a = tkg::user_uniform_batch(f.lines, 3, 1, 7, 5.0), b = tkg::user_uniform_batch(f.lines, 3, 1, 7, 5.0);
  EXPECT_EQ(a.lines, b.lines);
  tkg::NegativeSampler ns(f.lines, 500, 7, 0);
  std::vector<int64_t> same(50, a.lines[0]), salt(50);
  for (int k = 0; k < 50; ++k) salt[k] = k;
  std::vector<int64_t> neg = ns.sample(0, 0, same, &salt);
  EXPECT_GT(std::set<int64_t>(neg.begin(), neg.end()).size(), 40u);
  EXPECT_EQ(neg[0], ns.sample(0, 0, std::vector<int64_t>{a.lines[0]})[0]) << "salt 0 draws what no salt draws";
}
