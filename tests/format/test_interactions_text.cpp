#include "format/interactions_text.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "../support/input_error.hpp"
#include "../support/temp_dir.hpp"

using tkg::InputError;
using tkg::ReadOptions;
using tkg::TextFormat;
using tkg::testing::TempDir;

using tkg::testing::expect_input_error;

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
