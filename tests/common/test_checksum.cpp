// CRC-32: the standard check value, and a CRC continued over pieces equals the one-shot CRC
// (shard files and input files are checksummed piece by piece).
#include "common/checksum.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

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

// Row-set hashes: the same total over any split of the rows among "ranks", summed as an int64
// all-reduce would; a changed byte, a swapped pair of rows or a missing row changes it.
TEST(RowSetHash, PartitionIndependentAndSensitive) {
  std::vector<std::string> rows;
  for (int k = 0; k < 100; ++k) rows.push_back(std::string(64, static_cast<char>(k)) + std::to_string(k * 7));
  auto total_over = [&](int parts) {
    int64_t sum[2] = {0, 0};
    for (int p = 0; p < parts; ++p) {
      tkg::RowSetHash h;
      for (int k = p; k < 100; k += parts) h.add(k, rows[k].data(), rows[k].size());
      sum[0] += h.lanes()[0], sum[1] += h.lanes()[1];
    }
    tkg::RowSetHash t;
    t.lanes()[0] = sum[0], t.lanes()[1] = sum[1];
    t.reduce();
    return t.value();
  };
  const uint64_t one = total_over(1);
  for (int parts : {2, 3, 7, 100}) EXPECT_EQ(total_over(parts), one) << parts;
  rows[5][3] ^= 1;
  EXPECT_NE(total_over(1), one) << "a changed byte";
  rows[5][3] ^= 1;
  std::swap(rows[10], rows[11]);
  EXPECT_NE(total_over(1), one) << "two rows swapped";
  std::swap(rows[10], rows[11]);
  tkg::RowSetHash missing;
  for (int k = 0; k < 99; ++k) missing.add(k, rows[k].data(), rows[k].size());
  EXPECT_NE(missing.value(), one) << "a missing row";
}
