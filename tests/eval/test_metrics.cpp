#include "eval/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "eval/topk.hpp"

TEST(Metrics, HandMadeRankingBothRecalls) {
  tkg::MetricSums m({1, 3, 5});
  // Targets {2, 7}; ranked 7, 1, 2, 9, 4: hits at ranks 1 and 3.
  std::vector<int64_t> r{7, 1, 2, 9, 4};
  m.add_user(r.data(), 5, {2, 7});
  EXPECT_DOUBLE_EQ(m.mean("precision@1"), 1.0);
  EXPECT_DOUBLE_EQ(m.mean("recall@1"), 0.5);          // 1 / |T|
  EXPECT_DOUBLE_EQ(m.mean("recall_capped@1"), 1.0);   // 1 / min(|T|, 1)
  EXPECT_DOUBLE_EQ(m.mean("precision@3"), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.mean("recall@3"), 1.0);
  double dcg = 1.0 + 1.0 / std::log2(4.0), idcg = 1.0 + 1.0 / std::log2(3.0);
  EXPECT_NEAR(m.mean("ndcg@3"), dcg / idcg, 1e-12);   // |T| < K: IDCG has |T| ones
  EXPECT_NEAR(m.mean("ndcg@1"), 1.0, 1e-12);
}

TEST(Metrics, MoreTargetsThanK) {
  tkg::MetricSums m({2});
  std::vector<int64_t> r{5, 3};
  m.add_user(r.data(), 2, {1, 2, 3, 4});  // hit at rank 2 only
  EXPECT_DOUBLE_EQ(m.mean("recall@2"), 0.25);
  EXPECT_DOUBLE_EQ(m.mean("recall_capped@2"), 0.5);  // 1 / min(4, 2)
  EXPECT_NEAR(m.mean("ndcg@2"), (1.0 / std::log2(3.0)) / (1.0 + 1.0 / std::log2(3.0)), 1e-12);  // IDCG: K ones
}

TEST(Metrics, UsersWithoutTargetsAreSkippedAndSumsPack) {
  tkg::MetricSums m({1});
  std::vector<int64_t> r{1};
  m.add_user(r.data(), 1, {});
  EXPECT_EQ(m.users, 0);
  m.add_user(r.data(), 1, {1});
  m.add_user(r.data(), 1, {2});
  EXPECT_EQ(m.users, 2);
  EXPECT_DOUBLE_EQ(m.mean("precision@1"), 0.5);
  tkg::MetricSums b({1});
  b.unpack(m.pack());
  EXPECT_DOUBLE_EQ(b.mean("precision@1"), 0.5);
  EXPECT_THROW(m.mean("ndcg@5"), tkg::InputError);
  EXPECT_THROW(m.mean("map@1"), tkg::InputError);
}

TEST(Metrics, KListParsing) {
  EXPECT_EQ(tkg::parse_k_list("1, 3,5,10,20", "k"), (std::vector<int>{1, 3, 5, 10, 20}));
  EXPECT_THROW(tkg::parse_k_list("5,3", "k"), tkg::InputError);
  EXPECT_THROW(tkg::parse_k_list("0", "k"), tkg::InputError);
  EXPECT_THROW(tkg::parse_k_list("1,x", "k"), tkg::InputError);
  EXPECT_THROW(tkg::parse_k_list("", "k"), tkg::InputError);
}

TEST(TopK, MaskedItemsTiesAndBlockOrder) {
  const float ninf = -std::numeric_limits<float>::infinity();
  // One user, items 0..5; item 2 is a train item (masked); items 1, 4, 5 tie.
  std::vector<float> s{0.1f, 0.5f, ninf, 0.9f, 0.5f, 0.5f};
  std::vector<int64_t> ids{0, 1, 2, 3, 4, 5};
  tkg::TopKAccumulator whole(1, 3);
  whole.offer(0, 1, s.data(), ids.data(), 6);
  EXPECT_EQ(whole.ranked(0), (std::vector<int64_t>{3, 1, 4}));  // ties: smaller id first
  // The same items in two blocks, later ids first: same answer.
  tkg::TopKAccumulator blocks(1, 3);
  blocks.offer(0, 1, s.data() + 3, ids.data() + 3, 3);
  blocks.offer(0, 1, s.data(), ids.data(), 3);
  EXPECT_EQ(blocks.ranked(0), whole.ranked(0));
  // Fewer unmasked items than K: masked items never fill the list.
  std::vector<float> s2{ninf, 0.2f};
  tkg::TopKAccumulator few(1, 5);
  few.offer(0, 1, s2.data(), ids.data(), 2);
  EXPECT_EQ(few.ranked(0), (std::vector<int64_t>{1}));
}
