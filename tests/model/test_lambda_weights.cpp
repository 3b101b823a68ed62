// The LambdaLoss pair weights against values worked out by hand.
#include "model/lambda_weights.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace {
double g(double r) { return 1.0 / std::log2(1.0 + r); }  // gain discount at rank r
}  // namespace

TEST(LambdaWeights, OneUserTwoLines) {
  // User 7, two lines: scores pos 0.9 / neg 0.1 and pos 0.2 / neg 0.5. Ranked: p0 (1), n1 (2),
  // p1 (3), n0 (4). IDCG over 2 positives = g(1) + g(2).
  std::vector<int64_t> users{7, 7};
  const float sp[] = {0.9f, 0.2f}, sn[] = {0.1f, 0.5f};
  std::vector<float> w = tkg::lambda_weights(users, sp, sn);
  const double idcg = g(1) + g(2);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NEAR(w[0], (g(1) - g(4)) / idcg, 1e-6);  // line 0: positive at 1, negative at 4
  EXPECT_NEAR(w[1], (g(2) - g(3)) / idcg, 1e-6);  // line 1: positive at 3, negative at 2: |g(3) - g(2)|
}

TEST(LambdaWeights, UsersAreSeparateListsAndTiesKeepLineOrder) {
  // User 1 with one line (tie: the positive ranks first), user 2 with one line (negative above).
  std::vector<int64_t> users{1, 2};
  const float sp[] = {0.3f, 0.0f}, sn[] = {0.3f, 1.0f};
  std::vector<float> w = tkg::lambda_weights(users, sp, sn);
  EXPECT_NEAR(w[0], (g(1) - g(2)) / g(1), 1e-6);
  EXPECT_NEAR(w[1], (g(1) - g(2)) / g(1), 1e-6);
  // Far apart in a longer list weighs more than neighbours.
  std::vector<int64_t> u3{5, 5, 5};
  const float p3[] = {3.0f, 2.0f, 1.0f}, n3[] = {0.0f, 2.5f, 1.5f};  // ranks: p0 1, n1 2, p1 3, n2 4, p2 5, n0 6
  std::vector<float> w3 = tkg::lambda_weights(u3, p3, n3);
  const double idcg = g(1) + g(2) + g(3);
  EXPECT_NEAR(w3[0], (g(1) - g(6)) / idcg, 1e-6);
  EXPECT_NEAR(w3[1], (g(2) - g(3)) / idcg, 1e-6);
  EXPECT_NEAR(w3[2], (g(4) - g(5)) / idcg, 1e-6);
  EXPECT_GT(w3[0], w3[1]);
}

TEST(LambdaWeights, EmptyStep) { EXPECT_TRUE(tkg::lambda_weights({}, nullptr, nullptr).empty()); }
