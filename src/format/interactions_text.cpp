#include "format/interactions_text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <unordered_set>

#include "common/checksum.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/phase_progress.hpp"
#include "common/rng.hpp"

namespace tkg {

TextFormat parse_text_format(const std::string& name) {
  if (name == "auto") return TextFormat::kAuto;
  if (name == "edges" || name == "edge") return TextFormat::kEdges;
  if (name == "adj" || name == "adjacency") return TextFormat::kAdjacency;
  throw InputError("--format", 0, "unknown format '" + name + "' (expected auto, edges or adj)");
}

const char* text_format_name(TextFormat f) {
  switch (f) {
    case TextFormat::kAuto: return "auto";
    case TextFormat::kEdges: return "edges";
    case TextFormat::kAdjacency: return "adj";
  }
  return "?";
}

namespace {

inline bool is_sep(char c) { return c == ' ' || c == '\t' || c == ',' || c == '\r'; }

// Splits [begin, end) into tokens at runs of separators. Calls f(token_begin, token_end) for each
// token; stops early when f returns false. Returns the number of tokens visited.
template <typename F>
int64_t for_each_token(const char* begin, const char* end, F&& f) {
  int64_t n = 0;
  const char* p = begin;
  while (p < end) {
    while (p < end && is_sep(*p)) ++p;
    if (p >= end) break;
    const char* q = p;
    while (q < end && !is_sep(*q)) ++q;
    ++n;
    if (!f(p, q)) break;
    p = q;
  }
  return n;
}

int64_t parse_id(const char* b, const char* e, const std::string& path, int64_t line, const char* what) {
  std::string tok(b, e);
  if (b < e && *b == '-') {
    bool digits = e - b > 1 && std::all_of(b + 1, e, [](char c) { return c >= '0' && c <= '9'; });
    if (digits) throw InputError(path, line, std::string("negative ") + what + " id '" + tok + "' (expected a non-negative integer)");
  }
  bool digits = std::all_of(b, e, [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) throw InputError(path, line, std::string("expected a non-negative integer ") + what + " id, got '" + tok + "'");
  int64_t v = 0;
  auto res = std::from_chars(b, e, v);
  if (res.ec == std::errc::result_out_of_range)
    throw InputError(path, line, std::string(what) + " id '" + tok + "' overflows a 64-bit integer");
  if (res.ec != std::errc() || res.ptr != e)
    throw InputError(path, line, std::string("expected a non-negative integer ") + what + " id, got '" + tok + "'");
  if (v > kMaxId)
    throw InputError(path, line, std::string(what) + " id " + tok + " exceeds the supported maximum 2^40-1");
  return v;
}

// A header line is recognised explicitly: its first two fields are words (letters and '_', e.g.
// "user item", "user_id,item_id,rating"), never a number or an id like "u17".
bool is_header(const char* b, const char* e) {
  int fields = 0;
  bool words = true;
  for_each_token(b, e, [&](const char* tb, const char* te) {
    words = words && std::all_of(tb, te, [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; });
    return ++fields < 2;
  });
  return words && fields >= 1;
}

// With remapped ids any token may be an id ("alice bob" is data), so a header must name its
// columns: the first field starts with "user" (or is "u", "uid"), the second with "item" (or is
// "i", "iid"), case-insensitive.
bool is_named_header(const char* b, const char* e) {
  std::vector<std::string> f;
  for_each_token(b, e, [&](const char* tb, const char* te) {
    std::string t(tb, te);
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    f.push_back(t);
    return f.size() < 2;
  });
  if (f.size() < 2) return false;
  const bool u = f[0].rfind("user", 0) == 0 || f[0] == "u" || f[0] == "uid";
  const bool i = f[1].rfind("item", 0) == 0 || f[1] == "i" || f[1] == "iid";
  return u && i;
}

// A UTF-8 byte-order mark (files exported on Windows) is skipped.
size_t bom_length(const std::string& data) { return data.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0; }

struct LineRange {
  const char* begin;
  const char* end;
  int64_t number;  // 1-based
};

// Calls f(LineRange) for each non-blank line of [p, end); the first line is number first_number.
template <typename F>
void for_each_line(const char* p, const char* end, int64_t first_number, F&& f) {
  int64_t number = first_number - 1;
  while (p < end) {
    const char* nl = static_cast<const char*>(memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* le = nl ? nl : end;
    ++number;
    bool blank = std::all_of(p, le, [](char c) { return is_sep(c) && c != ','; });
    if (!blank) f(LineRange{p, le, number});
    p = nl ? nl + 1 : end;
  }
}

template <typename F>
void for_each_line(const std::string& data, F&& f) {
  for_each_line(data.data() + bom_length(data), data.data() + data.size(), 1, std::forward<F>(f));
}

}  // namespace

// Adjacency if there are no commas/tabs, some line does not have exactly two fields, and the
// first column never repeats (one line per user). Otherwise an edge list (possibly with extra
// columns). A file in which every line has two fields reads the same either way.
FormatEvidence format_evidence(const char* begin, const char* end, bool file_start) {
  FormatEvidence ev;
  ev.comma_or_tab = std::find_if(begin, end, [](char c) { return c == ',' || c == '\t'; }) != end;
  if (ev.comma_or_tab) return ev;
  std::unordered_set<std::string> firsts;
  bool first_line = file_start;
  for_each_line(begin, end, 1, [&](const LineRange& l) {
    std::string first;
    int64_t n = for_each_token(l.begin, l.end, [&](const char* b, const char* e) {
      if (first.empty()) first.assign(b, e);
      return true;
    });
    bool header = first_line && is_header(l.begin, l.end);
    first_line = false;
    if (header) return;
    if (n != 2) ev.all_two = false;
    if (ev.first_col_unique && !firsts.insert(first).second) ev.first_col_unique = false;
  });
  return ev;
}

TextFormat format_from_evidence(const FormatEvidence& ev) {
  if (!ev.comma_or_tab && !ev.all_two && ev.first_col_unique) return TextFormat::kAdjacency;
  return TextFormat::kEdges;
}

namespace {

TextFormat detect_format(const std::string& data) {
  const size_t bom = bom_length(data);
  return format_from_evidence(format_evidence(data.data() + bom, data.data() + data.size(), true));
}

void drop_duplicate_lines(EdgeList& el, FileInfo* info) {
  const int64_t n = el.size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return el.user[a] != el.user[b] ? el.user[a] < el.user[b] : el.item[a] < el.item[b];
  });
  std::vector<char> keep(static_cast<size_t>(n), 1);
  for (int64_t k = 1; k < n; ++k) {
    int64_t a = order[k - 1], b = order[k];
    if (el.user[a] == el.user[b] && el.item[a] == el.item[b]) keep[b] = 0;
  }
  EdgeList out;
  for (int64_t k = 0; k < n; ++k)
    if (keep[k]) out.push(el.user[k], el.item[k]);
  if (info) info->duplicates_dropped = n - out.size();
  el = std::move(out);
}

}  // namespace

int64_t IdMaps::user(const std::string& token) {
  auto [it, fresh] = user_index.emplace(token, static_cast<int64_t>(users.size()));
  if (fresh) users.push_back(token);
  return it->second;
}

int64_t IdMaps::item(const std::string& token) {
  auto [it, fresh] = item_index.emplace(token, static_cast<int64_t>(items.size()));
  if (fresh) items.push_back(token);
  return it->second;
}

EdgeList parse_interactions(const char* begin, const char* end, const TextSlice& where, TextFormat format,
                            const ReadOptions& opts, FileInfo* info, IdMaps* maps) {
  TKG_CHECK(!opts.remap_ids || maps, "remapped ids need an IdMaps");
  TKG_CHECK(format != TextFormat::kAuto, "parse_interactions needs a resolved format");
  const std::string& path = where.path;
  // An id token: parsed as a dense integer, or looked up in the maps (remap_ids).
  auto user_id = [&](const char* b, const char* e, int64_t line) {
    return opts.remap_ids ? maps->user(std::string(b, e)) : parse_id(b, e, path, line, "user");
  };
  auto item_id = [&](const char* b, const char* e, int64_t line) {
    return opts.remap_ids ? maps->item(std::string(b, e)) : parse_id(b, e, path, line, "item");
  };
  auto too_many = [&](int64_t at_line) {
    throw InputError(path, at_line, "more than " + std::to_string(opts.max_lines) + " lines: " + opts.max_lines_reason);
  };
  FileInfo fi;
  fi.path = path;
  fi.format = format;
  EdgeList el;
  bool first_line = where.file_start;
  int64_t n_lines = 0;
  const char* counted = begin;  // bytes before this point are counted in progress::add
  for_each_line(begin, end, where.first_line, [&](const LineRange& l) {
    if ((++n_lines & 0xFFFFF) == 0) progress::add(l.begin - counted), counted = l.begin;  // every 1 Mi lines
    if (opts.max_lines > 0 && n_lines > opts.max_lines) too_many(l.number);
    bool header = first_line && (opts.remap_ids ? is_named_header(l.begin, l.end) : is_header(l.begin, l.end));
    first_line = false;
    if (header) {  // optional header line
      fi.header = true;
      return;
    }
    if (format == TextFormat::kEdges) {
      int64_t vals[2];
      int64_t k = 0;
      for_each_token(l.begin, l.end, [&](const char* b, const char* e) {
        vals[k] = k == 0 ? user_id(b, e, l.number) : item_id(b, e, l.number);
        return ++k < 2;  // extra columns are ignored
      });
      if (k < 2) throw InputError(path, l.number, "expected 'user item', found a single field");
      el.push(vals[0], vals[1]);
      if (vals[0] > fi.max_user) fi.max_user = vals[0], fi.max_user_line = l.number;
      if (vals[1] > fi.max_item) fi.max_item = vals[1], fi.max_item_line = l.number;
    } else {
      int64_t user = -1;
      int64_t items = 0;
      for_each_token(l.begin, l.end, [&](const char* b, const char* e) {
        if (user < 0) {
          user = user_id(b, e, l.number);
          if (user > fi.max_user) fi.max_user = user, fi.max_user_line = l.number;
        } else {
          const int64_t item = item_id(b, e, l.number);
          el.push(user, item);
          if (item > fi.max_item) fi.max_item = item, fi.max_item_line = l.number;
          ++items;
        }
        return true;
      });
      if (items == 0) {
        if (opts.require_items)
          throw InputError(path, l.number, "user " + std::to_string(user) +
                                               " has no items (expected 'user item1 item2 ...')");
        ++fi.users_without_items;
      }
    }
  });
  progress::add(end - counted);
  fi.lines = el.size();
  if (info) *info = fi;
  return el;
}

EdgeList read_interactions(const std::string& path, const ReadOptions& opts, FileInfo* info, IdMaps* maps) {
  if (opts.max_lines > 0) {
    const int64_t est = estimate_lines(path);
    if (est > opts.max_lines + opts.max_lines / 10)  // 10 % margin for the estimate
      throw InputError(path, 0, "about " + std::to_string(est) + " lines (estimated from its first MiB): " +
                                    opts.max_lines_reason);
  }
  std::string data = read_file(path);
  const TextFormat format = opts.format == TextFormat::kAuto ? detect_format(data) : opts.format;
  FileInfo fi;
  EdgeList el = parse_interactions(data.data() + bom_length(data), data.data() + data.size(), TextSlice{path, 1, true},
                                   format, opts, &fi, maps);
  fi.bytes = data.size();
  fi.crc32 = crc32_bytes(data.data(), data.size());
  if (el.size() == 0) throw InputError(path, 0, "no interactions found (empty file?)");
  if (opts.drop_duplicates) drop_duplicate_lines(el, &fi);
  fi.lines = el.size();
  if (info) *info = fi;
  return el;
}

int64_t estimate_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, "cannot open file");
  in.seekg(0, std::ios::end);
  const int64_t size = static_cast<int64_t>(in.tellg());
  in.seekg(0);
  std::string head(static_cast<size_t>(std::min<int64_t>(size, 1 << 20)), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const int64_t nl = std::count(head.begin(), head.end(), '\n');
  if (static_cast<int64_t>(head.size()) == size) return nl + (size > 0 && head.back() != '\n');
  return nl == 0 ? 1 : static_cast<int64_t>(static_cast<double>(size) * static_cast<double>(nl) / static_cast<double>(head.size()));
}

void write_edge_list(const std::string& path, const EdgeList& edges) {
  std::string out;
  out.reserve(static_cast<size_t>(edges.size()) * 16);
  char buf[48];
  for (int64_t k = 0; k < edges.size(); ++k) {
    char* p = std::to_chars(buf, buf + 20, edges.user[k]).ptr;
    *p++ = ' ';
    p = std::to_chars(p, p + 20, edges.item[k]).ptr;
    *p++ = '\n';
    out.append(buf, p);
    if ((k & 0xFFFFF) == 0xFFFFF) progress::add(0x100000);
  }
  write_file_atomic(path, out);
}

}  // namespace tkg
