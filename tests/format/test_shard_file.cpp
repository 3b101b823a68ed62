#include "format/shard_file.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "../support/shard_helpers.hpp"
#include "../support/temp_dir.hpp"

using tkg::testing::build;
using tkg::testing::expect_error_containing;
using tkg::testing::tiny;

TEST(Shard, SerializeRoundTrip) {
  auto shards = build(tiny(), {0, 1, 1, 0}, 2);
  for (const tkg::Shard& s : shards) {
    tkg::Shard back = tkg::parse_shard(tkg::serialize_shard(s), "mem");
    EXPECT_EQ(back.partition_id, s.partition_id);
    EXPECT_EQ(back.rank, s.rank);
    EXPECT_EQ(back.owned, s.owned);
    EXPECT_EQ(back.halo, s.halo);
    EXPECT_EQ(back.indices, s.indices);
    EXPECT_EQ(back.send_list, s.send_list);
    EXPECT_EQ(back.test.items, s.test.items);
    EXPECT_EQ(tkg::serialize_shard(back), tkg::serialize_shard(s));
  }
}

TEST(Shard, FlippedByteIsRejected) {
  std::string bytes = tkg::serialize_shard(build(tiny(), {0, 1, 1, 0}, 2)[0]);
  for (size_t pos : {size_t{70}, bytes.size() / 2, bytes.size() - 10}) {
    std::string bad = bytes;
    bad[pos] ^= 0x10;
    expect_error_containing([&] { tkg::parse_shard(bad, "mem"); }, "");
    try {
      tkg::parse_shard(bad, "mem");
    } catch (const tkg::InputError& e) {
      std::string m = e.what();
      EXPECT_TRUE(m.find("checksum") != std::string::npos || m.find("truncated") != std::string::npos) << m;
    }
  }
}

TEST(Shard, TruncatedFileIsRejected) {
  std::string bytes = tkg::serialize_shard(build(tiny(), {0, 1, 1, 0}, 2)[0]);
  expect_error_containing([&] { tkg::parse_shard(bytes.substr(0, bytes.size() - 8), "mem"); }, "truncated");
  expect_error_containing([&] { tkg::parse_shard(bytes.substr(0, 20), "mem"); }, "truncated");
}

TEST(Shard, WrongVersionOrMagicIsRejected) {
  std::string bytes = tkg::serialize_shard(build(tiny(), {0, 1, 1, 0}, 2)[0]);
  std::string v = bytes;
  v[8] = 99;  // version field follows the 8-byte magic
  expect_error_containing([&] { tkg::parse_shard(v, "mem"); }, "version 99");
  std::string m = bytes;
  m[0] = 'X';
  expect_error_containing([&] { tkg::parse_shard(m, "mem"); }, "bad magic");
}

TEST(Shard, InvariantViolationsAreRejected) {
  tkg::Shard s = build(tiny(), {0, 1, 1, 0}, 2)[0];
  tkg::Shard a = s;
  a.indices[0] = 99;
  expect_error_containing([&] { tkg::parse_shard(tkg::serialize_shard(a), "mem"); }, "column index out of range");
  tkg::Shard b = s;
  std::swap(b.owned[0], b.owned[1]);
  expect_error_containing([&] { tkg::parse_shard(tkg::serialize_shard(b), "mem"); }, "ascending");
  tkg::Shard c = s;
  c.indptr[1] = 5;
  expect_error_containing([&] { tkg::parse_shard(tkg::serialize_shard(c), "mem"); }, "indptr");
}

// Shards are read from disk piece by piece (never the whole file plus the arrays): the result is
// the in-memory parse's, and a damaged file on disk is refused the same way.
TEST(Shard, ReadFromFileMatchesParseAndRejectsDamage) {
  tkg::testing::TempDir dir;
  for (const tkg::Shard& s : build(tiny(), {0, 1, 1, 0}, 2)) {
    const std::string bytes = tkg::serialize_shard(s);
    const std::string path = dir.write("shard.bin", bytes);
    tkg::Shard a = tkg::read_shard(path), b = tkg::parse_shard(bytes, "mem");
    EXPECT_EQ(tkg::serialize_shard(a), tkg::serialize_shard(b));
    std::string flipped = bytes;
    flipped[bytes.size() / 2] ^= 0x01;
    expect_error_containing([&] { tkg::read_shard(dir.write("bad.bin", flipped)); }, "checksum");
    expect_error_containing([&] { tkg::read_shard(dir.write("short.bin", bytes.substr(0, bytes.size() - 9))); }, "");
    expect_error_containing([&] { tkg::read_shard(dir.file("missing.bin")); }, "cannot open");
  }
}
