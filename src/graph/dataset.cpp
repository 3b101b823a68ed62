#include "graph/dataset.hpp"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "common/error.hpp"
#include "common/rng.hpp"

namespace tkg {

void check_dense_ids(const std::vector<FileInfo>& files, int64_t lines) {
  // Tables are sized by the largest id: refuse ids far beyond the data before allocating them.
  const int64_t limit = std::max(kDenseIdFloor, kDenseIdFactor * lines);
  for (const FileInfo& f : files) {
    for (int kind = 0; kind < 2; ++kind) {
      const int64_t id = kind == 0 ? f.max_user : f.max_item;
      if (id < limit) continue;
      throw InputError(f.path, kind == 0 ? f.max_user_line : f.max_item_line,
                       std::string(kind == 0 ? "user" : "item") + " id " + std::to_string(id) +
                           " is far beyond the " + std::to_string(lines) +
                           " interactions (ids index tables sized by the largest id; at most " + std::to_string(limit - 1) +
                           " here): renumber the ids densely from 0 (string or sparse ids need remapping)");
    }
  }
}

void finalize_dataset(Dataset& ds) {
  int64_t max_u = -1, max_i = -1, lines = 0;
  for (const EdgeList* el : {&ds.train, &ds.valid, &ds.test}) {
    for (int64_t u : el->user) max_u = std::max(max_u, u);
    for (int64_t i : el->item) max_i = std::max(max_i, i);
    lines += el->size();
  }
  check_dense_ids(ds.files, lines);
  ds.n_users = max_u + 1;
  ds.n_items = max_i + 1;
  std::vector<char> seen_u(static_cast<size_t>(ds.n_users), 0), seen_i(static_cast<size_t>(ds.n_items), 0);
  for (int64_t k = 0; k < ds.train.size(); ++k) {
    seen_u[ds.train.user[k]] = 1;
    seen_i[ds.train.item[k]] = 1;
  }
  std::vector<char> cu(static_cast<size_t>(ds.n_users), 0), ci(static_cast<size_t>(ds.n_items), 0);
  ds.eval_users_unseen = ds.eval_items_unseen = 0;
  for (const EdgeList* el : {&ds.valid, &ds.test}) {
    for (int64_t k = 0; k < el->size(); ++k) {
      int64_t u = el->user[k], i = el->item[k];
      if (!seen_u[u] && !cu[u]) cu[u] = 1, ++ds.eval_users_unseen;
      if (!seen_i[i] && !ci[i]) ci[i] = 1, ++ds.eval_items_unseen;
    }
  }
}

Dataset load_dataset(const std::string& dir, const ReadOptions& opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir, 0, "dataset directory does not exist");
  Dataset ds;
  ReadOptions split_opts = opts;
  IdMaps maps;
  auto load = [&](const char* name, EdgeList& el, bool required, bool require_items) {
    std::string path = (fs::path(dir) / name).string();
    if (!required && !fs::exists(path, ec)) return;
    ReadOptions o = split_opts;
    o.require_items = require_items;
    FileInfo fi;
    el = read_interactions(path, o, &fi, &maps);
    fi.split = std::string(name).substr(0, std::string(name).find('.'));
    ds.files.push_back(fi);
  };
  load("train.txt", ds.train, true, true);
  // Every split is read in the train file's format (auto-detection on a short valid or test file
  // could otherwise pick the other format).
  split_opts.format = ds.files.front().format;
  load("valid.txt", ds.valid, false, false);
  load("test.txt", ds.test, true, false);
  ds.user_names = std::move(maps.users);
  ds.item_names = std::move(maps.items);
  finalize_dataset(ds);
  return ds;
}

Dataset load_split_file(const std::string& path, uint64_t seed, const ReadOptions& opts) {
  FileInfo fi;
  IdMaps maps;
  EdgeList all = read_interactions(path, opts, &fi, &maps);
  fi.split = "all";
  const int64_t n = all.size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  shuffle(order, rng);
  const int64_t n_train = n * 7 / 10, n_valid = n / 10;
  std::vector<char> split(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) split[order[k]] = k < n_train ? 0 : (k < n_train + n_valid ? 1 : 2);
  Dataset ds;
  for (int64_t k = 0; k < n; ++k) {
    EdgeList& el = split[k] == 0 ? ds.train : (split[k] == 1 ? ds.valid : ds.test);
    el.push(all.user[k], all.item[k]);
  }
  if (ds.train.size() == 0) throw InputError(path, 0, "too few interactions to split 7:1:2");
  ds.files.push_back(fi);
  ds.user_names = std::move(maps.users);
  ds.item_names = std::move(maps.items);
  finalize_dataset(ds);
  return ds;
}

std::string describe_dataset(const Dataset& ds) {
  std::ostringstream s;
  s << ds.n_users << " users, " << ds.n_items << " items; train " << ds.train.size() << " lines, valid "
    << ds.valid.size() << ", test " << ds.test.size();
  for (const FileInfo& f : ds.files) {
    s << "\n  " << f.split << ": " << f.path << " (" << text_format_name(f.format) << ", " << f.lines << " lines";
    if (f.duplicates_dropped) s << ", " << f.duplicates_dropped << " duplicates dropped";
    if (f.users_without_items) s << ", " << f.users_without_items << " users without items";
    s << ")";
  }
  if (ds.eval_users_unseen || ds.eval_items_unseen)
    s << "\n  note: " << ds.eval_users_unseen << " users and " << ds.eval_items_unseen
      << " items appear in valid/test but not in train";
  return s.str();
}

}  // namespace tkg
