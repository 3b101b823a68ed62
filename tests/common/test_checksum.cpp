// CRC-32: the standard check value, and a CRC continued over pieces equals the one-shot CRC
// (shard files and input files are checksummed piece by piece).
#include "common/checksum.hpp"

#include <gtest/gtest.h>

#include <string>

TEST(Checksum, StandardCheckValue) { EXPECT_EQ(tkg::crc32_bytes("123456789", 9), 0xCBF43926u); }

TEST(Checksum, ContinuedOverPiecesEqualsOneShot) {
  std::string s;
  for (int k = 0; k < 5000; ++k) s += static_cast<char>((k * 131 + 7) % 251);
  const uint32_t whole = tkg::crc32_bytes(s.data(), s.size());
  for (size_t cut : {size_t{0}, size_t{1}, size_t{10}, size_t{4096}, s.size()}) {
    uint32_t c = tkg::crc32_bytes(s.data(), cut);
    c = tkg::crc32_bytes(s.data() + cut, s.size() - cut, c);
    EXPECT_EQ(c, whole) << "cut at " << cut;
  }
  uint32_t c = 0;
  for (size_t k = 0; k < s.size(); k += 333) c = tkg::crc32_bytes(s.data() + k, std::min<size_t>(333, s.size() - k), c);
  EXPECT_EQ(c, whole);
}
