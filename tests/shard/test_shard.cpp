#include "shard/shard.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "graph/csr.hpp"
#include "shard/partition_dir.hpp"
#include "../support/temp_dir.hpp"
#include "../support/tiny_dataset.hpp"

namespace {

// The worked example of shard.hpp; rank 0 owns {u0, i1}, rank 1 owns {u1, i0}.
tkg::Dataset tiny() { return tkg::testing::tiny_dataset(); }

std::vector<tkg::Shard> build(const tkg::Dataset& ds, const std::vector<int32_t>& part, int32_t parts) {
  std::vector<tkg::Shard> out;
  tkg::build_shards(ds, part, parts, tkg::compute_partition_id(ds.n_users, ds.n_items, parts, part), nullptr,
                    [&](tkg::Shard&& s) { out.push_back(std::move(s)); });
  return out;
}

template <typename F>
void expect_error_containing(F&& f, const std::string& needle) {
  try {
    f();
    FAIL() << "expected InputError containing '" << needle << "'";
  } catch (const tkg::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Shard, WorkedExampleFromTheHeader) {
  auto shards = build(tiny(), {0, 1, 1, 0}, 2);
  const tkg::Shard& s = shards[0];
  EXPECT_EQ(s.owned, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(s.n_own_users, 1);
  EXPECT_EQ(s.halo, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(s.halo_offsets, (std::vector<int64_t>{0, 0, 2}));
  EXPECT_EQ(s.indptr, (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(s.indices, (std::vector<int64_t>{3, 1, 0, 2}));
  EXPECT_EQ(s.degree, (std::vector<int64_t>{2, 2, 1, 1}));
  EXPECT_EQ(s.send_offsets, (std::vector<int64_t>{0, 0, 2}));
  EXPECT_EQ(s.send_list, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(s.train.items, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(shards[1].test.items, (std::vector<int64_t>{0}));
}

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

TEST(PartitionDir, WriteLoadAndMixedPartitionsRejected) {
  tkg::testing::TempDir d;
  tkg::Dataset ds = tiny();
  auto write = [&](const std::string& name, std::vector<int32_t> part) {
    tkg::PartitionMeta m;
    m.n_users = ds.n_users;
    m.n_items = ds.n_items;
    m.parts = 2;
    m.method = "test";
    m.objective = "cut";
    m.partition_id = tkg::compute_partition_id(ds.n_users, ds.n_items, 2, part);
    tkg::write_partition_dir(d.file(name), false, ds, part, m);
  };
  write("a", {0, 1, 1, 0});
  write("b", {1, 0, 0, 1});
  tkg::Shard s0 = tkg::load_partition_shard(d.file("a"), 0);
  EXPECT_EQ(s0.owned, (std::vector<int64_t>{0, 3}));
  tkg::PartitionMeta m = tkg::read_partition_meta(d.file("a"));
  EXPECT_EQ(m.parts, 2);
  EXPECT_EQ(m.partition_id, s0.partition_id);
  EXPECT_EQ(m.stats.edge_cut, 2);
  // A shard from partition b placed into a.
  std::filesystem::copy_file(d.file("b/shard-00001.bin"), d.file("a/shard-00001.bin"),
                             std::filesystem::copy_options::overwrite_existing);
  expect_error_containing([&] { tkg::load_partition_shard(d.file("a"), 1); }, "different partition");
  // Rank 1's file renamed to rank 0 of the same partition.
  std::filesystem::copy_file(d.file("b/shard-00001.bin"), d.file("b/shard-00000.bin"),
                             std::filesystem::copy_options::overwrite_existing);
  expect_error_containing([&] { tkg::load_partition_shard(d.file("b"), 0); }, "expected rank 0");
  expect_error_containing([&] { tkg::load_partition_shard(d.file("b"), 5); }, "outside the partition");
  // Existing output directory without overwrite.
  EXPECT_THROW(write("a", {0, 1, 1, 0}), tkg::InputError);
}

TEST(PartitionDir, FailedBuildLeavesNothingBehind) {
  tkg::testing::TempDir d;
  tkg::Dataset ds = tiny();
  tkg::PartitionMeta m;
  m.parts = 2;
  // A part vector of the wrong length makes the build throw midway.
  EXPECT_ANY_THROW(tkg::write_partition_dir(d.file("p"), false, ds, {0, 1}, m));
  EXPECT_TRUE(std::filesystem::is_empty(d.path()));
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
