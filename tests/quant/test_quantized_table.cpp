#include "quant/quantized_table.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

TEST(QuantizedTable, WorkedExampleFromTheHeader) {
  const float row[3] = {0.0f, 1.0f, 0.2f};
  uint8_t codes[3];
  float levels[2];
  tkg::quantize_rows(row, 1, 3, 1, codes, levels);
  EXPECT_EQ(codes[0], 0);
  EXPECT_EQ(codes[1], 1);  // the maximum falls in the last bin
  EXPECT_EQ(codes[2], 0);
  EXPECT_FLOAT_EQ(levels[0], 0.25f);
  EXPECT_FLOAT_EQ(levels[1], 0.75f);
}

TEST(QuantizedTable, RoundTripErrorIsAtMostHalfAGap) {
  std::mt19937 gen(3);
  std::normal_distribution<float> nd(0.f, 0.1f);
  const int64_t n = 50, d = 64;
  std::vector<float> t(n * d), back(n * d);
  for (float& x : t) x = nd(gen);
  for (int bits : {1, 2, 4, 8}) {
    const int L = 1 << bits;
    std::vector<uint8_t> codes(n * d);
    std::vector<float> levels(n * L);
    tkg::quantize_rows(t.data(), n, d, bits, codes.data(), levels.data());
    tkg::dequantize_rows(codes.data(), levels.data(), n, d, bits, back.data());
    for (int64_t i = 0; i < n; ++i) {
      auto [mn, mx] = std::minmax_element(t.begin() + i * d, t.begin() + (i + 1) * d);
      const float gap = (*mx - *mn) / L;
      for (int64_t k = 0; k < d; ++k) EXPECT_LE(std::fabs(back[i * d + k] - t[i * d + k]), 0.5f * gap + 1e-6f);
    }
  }
}

TEST(QuantizedTable, ConstantRowHasZeroGap) {
  const float row[4] = {0.3f, 0.3f, 0.3f, 0.3f};
  uint8_t codes[4];
  float levels[4];
  tkg::quantize_rows(row, 1, 4, 2, codes, levels);
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(codes[k], 0);
    EXPECT_FLOAT_EQ(levels[k], 0.3f);
  }
}

TEST(QuantizedTable, DqsSortsLevelsKeepsRowsAndGivesBoundaries) {
  // Levels out of order after an optimizer step: (0.9, -0.5, 0.1, 0.4); codes use all four.
  float levels[4] = {0.9f, -0.5f, 0.1f, 0.4f};
  uint8_t codes[5] = {0, 1, 2, 3, 1};
  float before[5], after[5];
  tkg::dequantize_rows(codes, levels, 1, 5, 2, before);
  uint8_t perm[4];
  tkg::sort_levels(levels, codes, 1, 5, 2, perm);
  EXPECT_EQ(std::vector<float>(levels, levels + 4), (std::vector<float>{-0.5f, 0.1f, 0.4f, 0.9f}));
  EXPECT_EQ(std::vector<uint8_t>(perm, perm + 4), (std::vector<uint8_t>{1, 2, 3, 0}));
  tkg::dequantize_rows(codes, levels, 1, 5, 2, after);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(after[k], before[k]);
  // Boundaries are the midpoints -0.2, 0.25, 0.65.
  const float values[6] = {-0.3f, -0.19f, 0.24f, 0.26f, 0.64f, 2.0f};
  uint8_t q[6];
  tkg::requantize_nearest(values, levels, 1, 6, 2, q);
  EXPECT_EQ(std::vector<uint8_t>(q, q + 6), (std::vector<uint8_t>{0, 1, 1, 2, 2, 3}));
}

TEST(QuantizedTable, UniformBinsOverTheRowsOwnRange) {
  const float values[5] = {-1.0f, -0.49f, 0.0f, 0.51f, 1.0f};  // range -1..1, 4 bins of 0.5
  uint8_t q[5];
  tkg::requantize_uniform(values, 1, 5, 2, q);
  EXPECT_EQ(std::vector<uint8_t>(q, q + 5), (std::vector<uint8_t>{0, 1, 2, 3, 3}));
}

TEST(QuantizedTable, BytesPerNode) {
  EXPECT_EQ(tkg::quantized_bytes_per_node(64, 2), 20);   // 16 B codes + 4 B FP8 levels
  EXPECT_EQ(tkg::quantized_bytes_per_node(64, 1), 10);
  EXPECT_EQ(tkg::quantized_bytes_per_node(64, 4), 48);
  EXPECT_NEAR(64.0 * 4 / tkg::quantized_bytes_per_node(64, 2), 12.8, 1e-12);
}
