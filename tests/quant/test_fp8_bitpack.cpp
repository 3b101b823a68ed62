#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "quant/bitpack.hpp"
#include "quant/fp8.hpp"

using tkg::e4m3_to_float;
using tkg::float_to_e4m3;

TEST(Fp8E4M3, KnownBitPatterns) {
  EXPECT_EQ(float_to_e4m3(0.0f), 0x00);
  EXPECT_EQ(float_to_e4m3(-0.0f), 0x80);
  EXPECT_EQ(float_to_e4m3(1.0f), 0x38);
  EXPECT_EQ(float_to_e4m3(-1.0f), 0xB8);
  EXPECT_EQ(float_to_e4m3(0.5f), 0x30);
  EXPECT_EQ(float_to_e4m3(240.0f), 0x77);
  EXPECT_EQ(float_to_e4m3(448.0f), 0x7E);          // largest finite
  EXPECT_EQ(float_to_e4m3(-448.0f), 0xFE);
  EXPECT_EQ(float_to_e4m3(0.015625f), 0x08);       // 2^-6, smallest normal
  EXPECT_EQ(float_to_e4m3(0.001953125f), 0x01);    // 2^-9, smallest subnormal
  EXPECT_EQ(float_to_e4m3(0.013671875f), 0x07);    // 7 * 2^-9, largest subnormal
}

TEST(Fp8E4M3, RoundToNearestEven) {
  EXPECT_EQ(float_to_e4m3(1.0625f), 0x38);  // halfway 1.0 | 1.125 -> even mantissa 0
  EXPECT_EQ(float_to_e4m3(1.1875f), 0x3A);  // halfway 1.125 | 1.25 -> even mantissa 2
  EXPECT_EQ(float_to_e4m3(1.07f), 0x39);    // above halfway -> up
  EXPECT_EQ(float_to_e4m3(std::ldexp(1.0f, -10)), 0x00);       // 0.5 units: tie -> 0
  EXPECT_EQ(float_to_e4m3(3 * std::ldexp(1.0f, -10)), 0x02);   // 1.5 units: tie -> 2
  EXPECT_EQ(float_to_e4m3(0.0146484375f), 0x08);  // 7.5 units -> 8 = smallest normal
  EXPECT_EQ(float_to_e4m3(1.9375f), 0x40);  // mantissa overflow carries into the exponent: 2.0
}

TEST(Fp8E4M3, SaturationAndNaN) {
  EXPECT_EQ(float_to_e4m3(460.0f), 0x7E);  // would round to 448 anyway
  EXPECT_EQ(float_to_e4m3(1e30f), 0x7E);
  EXPECT_EQ(float_to_e4m3(-1e30f), 0xFE);
  EXPECT_EQ(float_to_e4m3(std::numeric_limits<float>::infinity()), 0x7E);
  EXPECT_EQ(float_to_e4m3(std::numeric_limits<float>::max()), 0x7E);
  EXPECT_EQ(float_to_e4m3(std::nanf("")) & 0x7F, 0x7F);
  EXPECT_TRUE(std::isnan(e4m3_to_float(0x7F)));
  EXPECT_TRUE(std::isnan(e4m3_to_float(0xFF)));
  // No finite input ever produces NaN.
  for (float f = -1000.0f; f <= 1000.0f; f += 0.37f) EXPECT_NE(float_to_e4m3(f) & 0x7F, 0x7F) << f;
}

TEST(Fp8E4M3, EveryCodeRoundTripsAndErrorIsBounded) {
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7F) == 0x7F) continue;
    EXPECT_EQ(float_to_e4m3(e4m3_to_float(static_cast<uint8_t>(c))), c) << c;
  }
  EXPECT_EQ(e4m3_to_float(0x7E), 448.0f);
  // Relative error of normal values is at most 2^-4 (half a unit of the 3-bit mantissa).
  for (float f = 0.02f; f < 400.0f; f *= 1.013f)
    EXPECT_LE(std::fabs(e4m3_to_float(float_to_e4m3(f)) - f) / f, 1.0 / 16 + 1e-7) << f;
}

TEST(BitPack, WorkedExampleAndEveryWidth) {
  const uint8_t codes[5] = {3, 0, 1, 2, 1};
  uint8_t packed[2];
  tkg::pack_codes(codes, 5, 2, packed);
  EXPECT_EQ(packed[0], 0x93);
  EXPECT_EQ(packed[1], 0x01);
  for (int bits : {1, 2, 4, 8}) {
    std::vector<uint8_t> c(1003), back(1003);
    for (size_t k = 0; k < c.size(); ++k) c[k] = static_cast<uint8_t>((k * 7 + k / 3) % (1u << bits));
    std::vector<uint8_t> p(tkg::packed_bytes(c.size(), bits));
    EXPECT_EQ(p.size(), (c.size() * bits + 7) / 8);
    tkg::pack_codes(c.data(), c.size(), bits, p.data());
    tkg::unpack_codes(p.data(), c.size(), bits, back.data());
    EXPECT_EQ(back, c) << bits;
  }
  EXPECT_EQ(tkg::packed_bytes(64, 2), 16u);  // d = 64, b = 2: 16 bytes of codes per node
  const uint8_t too_big[1] = {4};
  EXPECT_ANY_THROW(tkg::pack_codes(too_big, 1, 2, packed));
  EXPECT_ANY_THROW(tkg::pack_codes(codes, 1, 3, packed));
}
