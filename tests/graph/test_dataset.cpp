#include "graph/dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "graph/csr.hpp"
#include "../support/temp_dir.hpp"

using tkg::InputError;
using tkg::ReadOptions;
using tkg::TextFormat;
using tkg::testing::TempDir;
using tkg::testing::shared_data;

namespace {

// Runs f, expects an InputError whose message names `path`, line `line` and contains `needle`.
template <typename F>
void expect_input_error(F&& f, const std::string& path, int64_t line, const std::string& needle) {
  try {
    f();
    FAIL() << "expected InputError containing '" << needle << "'";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.file(), path) << msg;
    EXPECT_EQ(e.line(), line) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    if (line > 0) EXPECT_NE(msg.find(path + ":" + std::to_string(line)), std::string::npos) << msg;
  }
}

}  // namespace

TEST(ReadInteractions, EdgeListSeparatorsHeaderAndExtraColumns) {
  TempDir d;
  std::string p = d.write("e.txt", "user,item,rating\n0,1,5\n2\t3\t4.5\n\n4 5 1700000000\r\n");
  tkg::FileInfo fi;
  tkg::EdgeList el = tkg::read_interactions(p, ReadOptions{}, &fi);
  ASSERT_EQ(el.size(), 3);
  EXPECT_EQ(el.user, (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(el.item, (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(fi.format, TextFormat::kEdges);
  EXPECT_EQ(fi.lines, 3);
}

TEST(ReadInteractions, AdjacencyDetectedAndRead) {
  TempDir d;
  std::string p = d.write("a.txt", "0 5 6 7\n1 5\n2 8 9\n");
  tkg::FileInfo fi;
  tkg::EdgeList el = tkg::read_interactions(p, ReadOptions{}, &fi);
  EXPECT_EQ(fi.format, TextFormat::kAdjacency);
  EXPECT_EQ(el.user, (std::vector<int64_t>{0, 0, 0, 1, 2, 2}));
  EXPECT_EQ(el.item, (std::vector<int64_t>{5, 6, 7, 5, 8, 9}));
}

TEST(ReadInteractions, EdgeListWithRepeatedUsersAndExtraColumnIsNotAdjacency) {
  TempDir d;
  std::string p = d.write("e.txt", "0 1 5\n0 2 3\n1 1 4\n");
  tkg::FileInfo fi;
  tkg::EdgeList el = tkg::read_interactions(p, ReadOptions{}, &fi);
  EXPECT_EQ(fi.format, TextFormat::kEdges);
  EXPECT_EQ(el.item, (std::vector<int64_t>{1, 2, 1}));
}

TEST(ReadInteractions, DuplicatesKeptByDefaultDroppedOnRequest) {
  TempDir d;
  std::string p = d.write("e.txt", "0 1\n0 1\n1 2\n0 1\n");
  EXPECT_EQ(tkg::read_interactions(p, ReadOptions{}).size(), 4);
  ReadOptions o;
  o.drop_duplicates = true;
  tkg::FileInfo fi;
  tkg::EdgeList el = tkg::read_interactions(p, o, &fi);
  EXPECT_EQ(el.size(), 2);
  EXPECT_EQ(fi.duplicates_dropped, 2);
  EXPECT_EQ(el.user, (std::vector<int64_t>{0, 1}));  // first occurrences, file order
}

TEST(ReadInteractions, MissingFile) {
  TempDir d;
  std::string p = d.file("nope.txt");
  expect_input_error([&] { tkg::read_interactions(p, ReadOptions{}); }, p, 0, "does not exist");
}

TEST(ReadInteractions, EmptyFile) {
  TempDir d;
  std::string p = d.write("empty.txt", "\n  \n");
  expect_input_error([&] { tkg::read_interactions(p, ReadOptions{}); }, p, 0, "no interactions");
}

TEST(ReadInteractions, NonNumericToken) {
  TempDir d;
  std::string p = d.write("e.txt", "0 1\n2 x3\n");
  expect_input_error([&] { tkg::read_interactions(p, ReadOptions{}); }, p, 2, "expected a non-negative integer item id, got 'x3'");
}

TEST(ReadInteractions, NegativeId) {
  TempDir d;
  std::string p = d.write("e.txt", "0 1\n1 2\n-4 2\n");
  expect_input_error([&] { tkg::read_interactions(p, ReadOptions{}); }, p, 3, "negative user id '-4'");
}

TEST(ReadInteractions, OverflowingId) {
  TempDir d;
  std::string p = d.write("e.txt", "0 1\n1 99999999999999999999999\n");
  expect_input_error([&] { tkg::read_interactions(p, ReadOptions{}); }, p, 2, "overflows a 64-bit integer");
  std::string q = d.write("f.txt", "0 1\n1 1099511627776\n");  // 2^40
  expect_input_error([&] { tkg::read_interactions(q, ReadOptions{}); }, q, 2, "exceeds the supported maximum");
}

TEST(ReadInteractions, SingleFieldInEdgeList) {
  TempDir d;
  std::string p = d.write("e.txt", "0 1\n7\n");
  ReadOptions o;
  o.format = TextFormat::kEdges;
  expect_input_error([&] { tkg::read_interactions(p, o); }, p, 2, "expected 'user item'");
}

TEST(ReadInteractions, AdjacencyUserWithoutItems) {
  TempDir d;
  std::string p = d.write("a.txt", "0 1 2\n1\n2 3\n");
  ReadOptions o;
  o.format = TextFormat::kAdjacency;
  expect_input_error([&] { tkg::read_interactions(p, o); }, p, 2, "user 1 has no items");
  o.require_items = false;  // allowed in test files: counted
  tkg::FileInfo fi;
  EXPECT_EQ(tkg::read_interactions(p, o, &fi).size(), 3);
  EXPECT_EQ(fi.users_without_items, 1);
}

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

// Files exported on Windows start with a UTF-8 byte-order mark; a header line is recognised by its
// words, so string ids on the first line are an error, not a silently dropped "header".
TEST(ReadInteractions, ByteOrderMarkAndExplicitHeader) {
  TempDir d;
  tkg::FileInfo fi;
  tkg::EdgeList a = tkg::read_interactions(d.write("bom.txt", "\xEF\xBB\xBF" "0 1\n2 3\n"), ReadOptions{}, &fi);
  EXPECT_EQ(a.user, (std::vector<int64_t>{0, 2}));
  EXPECT_FALSE(fi.header);
  tkg::EdgeList b = tkg::read_interactions(d.write("bomh.txt", "\xEF\xBB\xBF" "user_id,item_id\n4,5\n"), ReadOptions{}, &fi);
  EXPECT_EQ(b.user, (std::vector<int64_t>{4}));
  EXPECT_TRUE(fi.header);
  std::string p = d.write("ids.txt", "u1 i1\nu2 i2\n");
  expect_input_error([&] { tkg::read_interactions(p, ReadOptions{}); }, p, 1, "expected a non-negative integer user id, got 'u1'");
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
  tkg::write_id_maps(ds, d.path());
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

// A line limit (tkg-partition's METIS bound): refused from the estimate before the file is read
// when it is far over, else at the first line over the limit; a file within the limit reads.
TEST(ReadInteractions, LineLimitRefusedEarlyOrAtTheLine) {
  TempDir d;
  std::string text;
  for (int k = 0; k < 1000; ++k) text += std::to_string(k % 37) + " " + std::to_string(k % 53) + "\n";
  const std::string p = d.write("big.txt", text);
  EXPECT_EQ(tkg::estimate_lines(p), 1000);
  ReadOptions o;
  o.max_lines = 100;
  o.max_lines_reason = "the test's limit";
  expect_input_error([&] { tkg::read_interactions(p, o, nullptr); }, p, 0, "about 1000 lines (estimated");
  o.max_lines = 950;  // within the estimate's margin: found at the line
  expect_input_error([&] { tkg::read_interactions(p, o, nullptr); }, p, 951, "more than 950 lines: the test's limit");
  o.max_lines = 1000;
  EXPECT_EQ(tkg::read_interactions(p, o, nullptr).size(), 1000);
}

// The pieces of the distributed read (partition/slice_reader): byte ranges cut at line starts
// hold every line once, and parsing them with their first line numbers gives the one-process
// lines, errors naming the same line, and the same detected format.
TEST(ReadInteractions, SlicesAtLineStartsReadAsTheWholeFile) {
  TempDir d;
  std::string text = "user item\n";
  for (int k = 0; k < 300; ++k) text += std::to_string(k % 17) + " " + std::to_string((k * 7) % 23) + (k % 50 == 0 ? "\n\n" : "\n");
  text += "5 6";  // no final newline
  const std::string p = d.write("s.txt", text);
  const tkg::EdgeList whole = tkg::read_interactions(p, ReadOptions{});
  const int64_t size = static_cast<int64_t>(text.size());
  for (int R = 1; R <= 7; ++R) {
    tkg::EdgeList joined;
    tkg::FormatEvidence ev;
    for (int r = 0; r < R; ++r) {
      const int64_t b = tkg::line_start_at_or_after(p, size * r / R, size), e = tkg::line_start_at_or_after(p, size * (r + 1) / R, size);
      ASSERT_TRUE(b == 0 || text[b - 1] == '\n') << R << " " << r;
      const std::string piece = tkg::read_file_range(p, b, e);
      const int64_t first_line = 1 + std::count(text.begin(), text.begin() + b, '\n');
      ev.combine(tkg::format_evidence(piece.data(), piece.data() + piece.size(), b == 0));
      const tkg::EdgeList el = tkg::parse_interactions(piece.data(), piece.data() + piece.size(), tkg::TextSlice{p, first_line, b == 0},
                                                       TextFormat::kEdges, ReadOptions{}, nullptr);
      joined.user.insert(joined.user.end(), el.user.begin(), el.user.end());
      joined.item.insert(joined.item.end(), el.item.begin(), el.item.end());
    }
    EXPECT_EQ(joined.user, whole.user) << R;
    EXPECT_EQ(joined.item, whole.item) << R;
    EXPECT_EQ(tkg::format_from_evidence(ev), TextFormat::kEdges) << R;
  }
  // An error in a later slice names the file's line.
  const std::string bad = d.write("b.txt", "0 1\n1 2\n2 x\n");
  const int64_t b = tkg::line_start_at_or_after(bad, 5, 12);
  EXPECT_EQ(b, 8);
  const std::string piece = tkg::read_file_range(bad, b, 12);
  try {
    tkg::parse_interactions(piece.data(), piece.data() + piece.size(), tkg::TextSlice{bad, 3, false}, TextFormat::kEdges, ReadOptions{}, nullptr);
    FAIL() << "no error";
  } catch (const tkg::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("b.txt:3: expected a non-negative integer item id, got 'x'"), std::string::npos) << e.what();
  }
}
