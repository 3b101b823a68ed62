// GNAQ tensor pieces on hand-made inputs: RAU's aggregate and both binning rules, FP8 rounding
// with a straight-through gradient.
#include "quant/quant_embedding.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "graph/dataset.hpp"
#include "model/propagate.hpp"
#include "shard/partition_dir.hpp"
#include "../support/tiny_dataset.hpp"

TEST(Rau, NeighbourMeanOnAHandGraph) {
  // u0-i0, u0-i1, u1-i1 (nodes u0=0, u1=1, i0=2, i1=3); rows are node id * (1, 10).
  tkg::LayerGraph g = tkg::build_layer_graph(tkg::build_single_shard(tkg::testing::tiny_dataset()));
  at::Tensor rows = at::tensor({0.f, 0.f, 1.f, 10.f, 2.f, 20.f, 3.f, 30.f}).view({4, 2});
  at::Tensor m = tkg::neighbour_mean(g, rows);
  // u0: mean(i0, i1) = (2.5, 25); u1: i1 = (3, 30); i0: u0 = (0, 0); i1: mean(u0, u1) = (0.5, 5)
  EXPECT_TRUE(at::allclose(m, at::tensor({2.5f, 25.f, 3.f, 30.f, 0.f, 0.f, 0.5f, 5.f}).view({4, 2})));
}

TEST(Rau, BinningRulesWithUnsortedLevels) {
  // One node, levels in arbitrary order (DQS off): 0.4, -0.5, 0.9, 0.1 -> sorted -0.5 0.1 0.4 0.9,
  // boundaries -0.2, 0.25, 0.65.
  at::Tensor levels = at::tensor({0.4f, -0.5f, 0.9f, 0.1f}).view({1, 4});
  at::Tensor values = at::tensor({-0.3f, 0.0f, 0.3f, 0.7f, 2.0f}).view({1, 5});
  at::Tensor nearest = tkg::rebin_codes(values, levels, 2, "levels");
  // nearest levels -0.5, 0.1, 0.4, 0.9, 0.9 -> original indices 1, 3, 0, 2, 2
  EXPECT_TRUE(at::equal(nearest, at::tensor({1, 3, 0, 2, 2}, at::kByte).view({1, 5})));
  // Uniform over the values' own range -0.3..2.0 (4 bins of 0.575): 0, 0, 1, 1, 3.
  at::Tensor uniform = tkg::rebin_codes(values, levels, 2, "uniform");
  EXPECT_TRUE(at::equal(uniform, at::tensor({0, 0, 1, 1, 3}, at::kByte).view({1, 5})));
  EXPECT_ANY_THROW(tkg::rebin_codes(values, levels, 2, "median"));
}

TEST(Fp8RoundSte, ValuesRoundGradientsPassThrough) {
  at::Tensor x = at::tensor({0.1f, -1.07f, 500.0f}).requires_grad_(true);
  at::Tensor y = tkg::fp8_round_ste(x);
  EXPECT_FLOAT_EQ(y[0].item<float>(), 0.1015625f);  // nearest E4M3 value
  EXPECT_FLOAT_EQ(y[1].item<float>(), -1.125f);
  EXPECT_FLOAT_EQ(y[2].item<float>(), 448.0f);      // saturated
  at::Tensor g = torch::autograd::grad({(y * at::tensor({1.f, 2.f, 3.f})).sum()}, {x})[0];
  EXPECT_TRUE(at::equal(g, at::tensor({1.f, 2.f, 3.f})));
}

// dequantize_rows is at::gather with uint8 codes: the same rows and, bit for bit, the same
// gradient of the levels.
TEST(QuantEmbedding, DequantizeRowsIsGatherBitForBit) {
  at::manual_seed(3);
  at::Tensor lv0 = at::randn({500, 4}), codes = at::randint(4, {500, 64}, at::kByte), g = at::randn({500, 64});
  at::Tensor a = lv0.clone().requires_grad_(true), b = lv0.clone().requires_grad_(true);
  at::Tensor ya = tkg::dequantize_rows(a, codes), yb = at::gather(b, 1, codes.to(at::kLong));
  EXPECT_TRUE(at::equal(ya, yb));
  (ya * g).sum().backward();
  (yb * g).sum().backward();
  EXPECT_TRUE(at::equal(a.grad(), b.grad()));
}
