#include "graph/dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "graph/csr.hpp"
#include "format/id_map_file.hpp"
#include "../support/input_error.hpp"
#include "../support/temp_dir.hpp"

using tkg::InputError;
using tkg::ReadOptions;
using tkg::TextFormat;
using tkg::testing::TempDir;
using tkg::testing::shared_data;

using tkg::testing::expect_input_error;

TEST(LoadDataset, MissingDirectoryAndMissingTest) {
  TempDir d;
  expect_input_error([&] { tkg::load_dataset(d.file("none"), ReadOptions{}); }, d.file("none"), 0, "does not exist");
  d.write("ds/train.txt", "0 1\n");
  expect_input_error([&] { tkg::load_dataset(d.file("ds"), ReadOptions{}); }, d.file("ds/test.txt"), 0, "does not exist");
}

TEST(LoadDataset, UnseenEvalUsersAndItemsAreCounted) {
  TempDir d;
  d.write("ds/train.txt", "0 0\n1 1\n");
  d.write("ds/test.txt", "0 1\n2 0\n1 3\n");
  tkg::Dataset ds = tkg::load_dataset(d.file("ds"), ReadOptions{});
  EXPECT_EQ(ds.n_users, 3);
  EXPECT_EQ(ds.n_items, 4);
  EXPECT_EQ(ds.eval_users_unseen, 1);  // user 2
  EXPECT_EQ(ds.eval_items_unseen, 1);  // item 3
  EXPECT_NE(tkg::describe_dataset(ds).find("appear in valid/test but not in train"), std::string::npos);
}

TEST(LoadSplitFile, SevenOneTwoDeterministic) {
  TempDir d;
  std::string text;
  for (int k = 0; k < 1000; ++k) text += std::to_string(k % 37) + " " + std::to_string(k % 101) + "\n";
  std::string p = d.write("all.txt", text);
  tkg::Dataset a = tkg::load_split_file(p, 7, ReadOptions{});
  tkg::Dataset b = tkg::load_split_file(p, 7, ReadOptions{});
  tkg::Dataset c = tkg::load_split_file(p, 8, ReadOptions{});
  EXPECT_EQ(a.train.size(), 700);
  EXPECT_EQ(a.valid.size(), 100);
  EXPECT_EQ(a.test.size(), 200);
  EXPECT_EQ(a.train.user, b.train.user);
  EXPECT_EQ(a.test.item, b.test.item);
  EXPECT_NE(a.train.item, c.train.item);
}

TEST(ShippedData, AliDisplay) {
  tkg::Dataset ds = tkg::load_dataset(shared_data("Ali-Display"), ReadOptions{});
  EXPECT_EQ(ds.n_users, 17730);
  EXPECT_EQ(ds.n_items, 10036);
  EXPECT_EQ(ds.train.size(), 121178);
  EXPECT_EQ(ds.valid.size(), 17311);
  EXPECT_EQ(ds.test.size(), 34622);
  EXPECT_EQ(ds.eval_users_unseen, 4);
  ReadOptions o;
  o.drop_duplicates = true;
  EXPECT_EQ(tkg::load_dataset(shared_data("Ali-Display"), o).train.size(), 115882);
  EXPECT_EQ(tkg::build_train_csr(ds, /*distinct=*/true).nnz(), 2 * 115882);
}

TEST(ShippedData, Epinions) {
  tkg::Dataset ds = tkg::load_dataset(shared_data("Epinions"), ReadOptions{});
  EXPECT_EQ(ds.n_users, 17894);
  EXPECT_EQ(ds.n_items, 17660);
  EXPECT_EQ(ds.train.size() + ds.valid.size() + ds.test.size(), 301378);
}

TEST(ShippedData, GowallaAdjacency) {
  tkg::Dataset ds = tkg::load_dataset(shared_data("gowalla"), ReadOptions{});
  EXPECT_EQ(ds.files[0].format, TextFormat::kAdjacency);
  EXPECT_EQ(ds.n_users, 29858);
  EXPECT_EQ(ds.n_items, 40981);
  EXPECT_EQ(ds.train.size(), 810128);
  EXPECT_EQ(ds.test.size(), 217242);
  EXPECT_EQ(ds.valid.size(), 0);
}

TEST(ShippedData, AmazonBookKgatWithEmptyTestLines) {
  tkg::Dataset ds = tkg::load_dataset(shared_data("amazon-book-kgat"), ReadOptions{});
  EXPECT_EQ(ds.n_users, 70679);
  EXPECT_EQ(ds.n_items, 24915);
  EXPECT_EQ(ds.train.size(), 652514);
  EXPECT_EQ(ds.test.size(), 193920);
  EXPECT_EQ(ds.files.back().users_without_items, 88);
}

// An id far beyond the data (a stray 2^31) is refused with its file and line before any table is
// sized by it; the message says what to do.
TEST(LoadDataset, IdFarBeyondTheDataIsRefusedBeforeAllocating) {
  TempDir d;
  d.write("ds/train.txt", "0 1\n1 2\n2147483648 0\n3 3\n");
  d.write("ds/test.txt", "0 2\n");
  expect_input_error([&] { tkg::load_dataset(d.file("ds"), ReadOptions{}); }, d.file("ds/train.txt"), 3,
                     "user id 2147483648 is far beyond the 5 interactions");
  d.write("ds2/train.txt", "0 1\n1 2\n");
  d.write("ds2/test.txt", "0 9000000000\n");
  expect_input_error([&] { tkg::load_dataset(d.file("ds2"), ReadOptions{}); }, d.file("ds2/test.txt"), 1,
                     "renumber the ids densely");
  // Sparse but plausible ids (within 16 × interactions, or below 2^20) are accepted.
  d.write("ds3/train.txt", "0 1\n1000000 2\n");
  d.write("ds3/test.txt", "0 2\n");
  EXPECT_EQ(tkg::load_dataset(d.file("ds3"), ReadOptions{}).n_users, 1000001);
}

// All splits are read in the train file's format: a valid file whose lines all have two fields
// would read the same either way, but one with a single user line must not become adjacency.
TEST(LoadDataset, EverySplitReadInTheTrainFormat) {
  TempDir d;
  d.write("ds/train.txt", "0 1\n0 2\n1 2\n");               // edges (the first column repeats)
  d.write("ds/test.txt", "1 0 2\n");                          // one line of three fields: adjacency on its own
  tkg::Dataset ds = tkg::load_dataset(d.file("ds"), ReadOptions{});
  ASSERT_EQ(ds.files.size(), 2u);
  EXPECT_EQ(ds.files[1].format, TextFormat::kEdges);
  EXPECT_EQ(ds.test.size(), 1);                               // edges: (1, 0), the third column ignored
  EXPECT_EQ(ds.test.item, (std::vector<int64_t>{0}));
}

// Remapped ids: any tokens, renumbered densely in order of first appearance across the splits
// (train, then valid, then test), users and items separately; a header must name its columns.
TEST(LoadDataset, RemappedIdsAreDenseAndKeepTheirNames) {
  TempDir d;
  d.write("ds/train.txt", "user_id,item_id\nalice,9000000000001\nbob,pear\nalice,pear\n");
  d.write("ds/test.txt", "carol,apple\nbob,9000000000001\n");
  ReadOptions ro;
  ro.remap_ids = true;
  tkg::Dataset ds = tkg::load_dataset(d.file("ds"), ro);
  EXPECT_EQ(ds.n_users, 3);
  EXPECT_EQ(ds.n_items, 3);
  EXPECT_EQ(ds.train.user, (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(ds.train.item, (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(ds.test.user, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(ds.test.item, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(ds.user_names, (std::vector<std::string>{"alice", "bob", "carol"}));
  EXPECT_EQ(ds.item_names, (std::vector<std::string>{"9000000000001", "pear", "apple"}));
  tkg::write_id_maps(ds.user_names, ds.item_names, d.path());
  EXPECT_EQ(tkg::read_id_map(d.path(), "item"), ds.item_names);
  // "alice bob" on the first line is data, not a header, when ids are remapped.
  d.write("ds2/train.txt", "alice bob\ncarol bob\n");
  d.write("ds2/test.txt", "alice dave\n");
  EXPECT_EQ(tkg::load_dataset(d.file("ds2"), ro).train.size(), 2);
  // Without remapping the same file is refused, naming the line and the token (its first line
  // reads as a header of two words there).
  expect_input_error([&] { tkg::load_dataset(d.file("ds2"), ReadOptions{}); }, d.file("ds2/train.txt"), 2,
                     "expected a non-negative integer user id, got 'carol'");
}

