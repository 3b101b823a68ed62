#include "shard/shard.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "graph/csr.hpp"
#include "shard/partition_dir.hpp"
#include "../support/temp_dir.hpp"
#include "../support/shard_helpers.hpp"

using tkg::testing::build;
using tkg::testing::expect_error_containing;
using tkg::testing::tiny;

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

