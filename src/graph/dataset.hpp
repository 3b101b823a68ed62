// A dataset: train/valid/test splits of interactions read from text files (their formats:
// format/interactions_text.hpp), with the checks that run before any table is sized.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/interactions_text.hpp"

namespace tkg {

// Ids index tables sized by the largest id, so an id far beyond the number of interactions (a
// stray 2^31, raw 64-bit ids) would allocate without bound. A dataset is refused before any such
// allocation when n_users or n_items exceeds max(kDenseIdFloor, kDenseIdFactor × interactions).
constexpr int64_t kDenseIdFloor = int64_t{1} << 20;
constexpr int64_t kDenseIdFactor = 16;

struct Dataset {
  int64_t n_users = 0;  // max user id + 1 over all splits (as the official code)
  int64_t n_items = 0;  // max item id + 1 over all splits
  EdgeList train, valid, test;  // valid may be empty
  std::vector<FileInfo> files;
  // Users/items that appear in valid or test but never in train (allowed; logged).
  int64_t eval_users_unseen = 0;
  int64_t eval_items_unseen = 0;
  // With remapped ids: the original token of every dense user / item id (else empty).
  std::vector<std::string> user_names, item_names;
  int64_t n_nodes() const { return n_users + n_items; }
};

// Loads DIR/train.txt and DIR/test.txt, and DIR/valid.txt if present.
Dataset load_dataset(const std::string& dir, const ReadOptions& opts);

// Loads one interaction file and splits its lines 7:1:2 (train:valid:test) at random with `seed`.
Dataset load_split_file(const std::string& path, uint64_t seed, const ReadOptions& opts);

// Refuses (InputError naming the file and line of the largest id) ids far beyond the data: an
// n_users or n_items above max(kDenseIdFloor, kDenseIdFactor × lines), before tables are sized.
void check_dense_ids(const std::vector<FileInfo>& files, int64_t lines);

// Recomputes n_users/n_items and the unseen counts from the splits.
void finalize_dataset(Dataset& ds);

// One line per notable fact about a loaded dataset (sizes, unseen users/items), for logs.
std::string describe_dataset(const Dataset& ds);

}  // namespace tkg
