// Interaction files: the two text formats and their reader (datasets of splits: graph/dataset.hpp).
//
// Formats (ids are 0-based non-negative integers):
//   edges:      one interaction per line, "user item", separated by space, tab or comma;
//               extra columns are ignored; an optional header line (first line, not numeric).
//   adjacency:  LightGCN style, one user per line, "user item1 item2 ...", space separated.
// Duplicate lines are kept by default (the official TopKGAT counts them in degrees).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tkg {

enum class TextFormat { kAuto, kEdges, kAdjacency };
TextFormat parse_text_format(const std::string& name);  // "auto" | "edges" | "adj"
const char* text_format_name(TextFormat f);

// Interactions as parallel arrays: line k is (user[k], item[k]). Ids are global and 0-based.
struct EdgeList {
  std::vector<int64_t> user;
  std::vector<int64_t> item;
  int64_t size() const { return static_cast<int64_t>(user.size()); }
  void push(int64_t u, int64_t i) {
    user.push_back(u);
    item.push_back(i);
  }
};

// Largest id accepted (2^40 - 1): bigger ids would be tables no machine can hold, and most
// likely come from a corrupt file.
constexpr int64_t kMaxId = (int64_t{1} << 40) - 1;

struct ReadOptions {
  TextFormat format = TextFormat::kAuto;
  bool drop_duplicates = false;  // drop repeated (user, item) lines within a file
  // In adjacency files, a line with a user and no items is an error when true (train), or a user
  // without interactions in this split when false (counted in FileInfo::users_without_items).
  bool require_items = true;
  // Ids are arbitrary tokens (strings, sparse or 64-bit numbers): renumber them densely, users and
  // items separately, in order of first appearance (train, then valid, then test).
  bool remap_ids = false;
  // > 0: a file with more lines is refused (InputError naming max_lines_reason): first from an
  // estimate (the first MiB's bytes per line times the file's size) before the file is read,
  // then exactly, at the first line over the limit.
  int64_t max_lines = 0;
  std::string max_lines_reason;
};

// Lines of a text file estimated from its first MiB (exact for files up to 1 MiB).
int64_t estimate_lines(const std::string& path);

// Dense ids of remapped tokens, shared by all splits of a dataset.
struct IdMaps {
  std::unordered_map<std::string, int64_t> user_index, item_index;
  std::vector<std::string> users, items;  // dense id -> original token
  int64_t user(const std::string& token);
  int64_t item(const std::string& token);
};

struct FileInfo {
  std::string path;
  std::string split;  // "train" | "valid" | "test" | "all"
  TextFormat format = TextFormat::kAuto;  // the format actually used
  uint64_t bytes = 0;
  uint32_t crc32 = 0;
  int64_t lines = 0;                 // interactions read (after dropping duplicates)
  int64_t duplicates_dropped = 0;
  int64_t users_without_items = 0;   // adjacency lines with no items (when allowed)
  bool header = false;               // the first line was a header
  int64_t max_user = -1, max_user_line = 0;  // the largest user id and the line it is on
  int64_t max_item = -1, max_item_line = 0;
};

// Reads one interaction file. Throws InputError naming the file and line on bad input: a missing
// or empty file, a non-numeric token, a negative id, an id that overflows or exceeds kMaxId, a
// line with too few fields.
// With opts.remap_ids, `maps` (required then) collects the tokens.
EdgeList read_interactions(const std::string& path, const ReadOptions& opts, FileInfo* info = nullptr,
                           IdMaps* maps = nullptr);

// Where a piece of text sits in its file: the file's path (for messages), the number of the
// piece's first line (1-based, blank lines counted), and whether the piece starts the file (only
// then can its first line be a header).
struct TextSlice {
  std::string path;
  int64_t first_line = 1;
  bool file_start = true;
};

// Parses interactions from [begin, end) (whole lines) in a resolved format (edges or adj), with
// the errors of read_interactions naming where.path and the file's own line numbers. Fills in
// info's path, format, lines, header, users_without_items and the largest ids (not bytes, crc32;
// duplicates are not dropped here). What a process of a distributed read parses of its slice.
EdgeList parse_interactions(const char* begin, const char* end, const TextSlice& where, TextFormat format,
                            const ReadOptions& opts, FileInfo* info, IdMaps* maps = nullptr);

// The facts format detection decides on (see read_interactions: "auto"), for a piece of a file;
// the pieces of one file combine with combine() and decide with format_from_evidence.
struct FormatEvidence {
  bool comma_or_tab = false;     // a comma or tab anywhere
  bool all_two = true;           // every (non-header) line has exactly two fields
  bool first_col_unique = true;  // no first-column token repeats (within the piece)
  void combine(const FormatEvidence& o) {
    comma_or_tab = comma_or_tab || o.comma_or_tab;
    all_two = all_two && o.all_two;
    first_col_unique = first_col_unique && o.first_col_unique;
  }
};
FormatEvidence format_evidence(const char* begin, const char* end, bool file_start);
TextFormat format_from_evidence(const FormatEvidence& ev);  // adjacency, or edges

// Writes an edge list ("user item" lines) atomically.
void write_edge_list(const std::string& path, const EdgeList& edges);

}  // namespace tkg
