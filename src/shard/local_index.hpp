// Global node id -> local index on a shard (owned 0..n_own-1, halo n_own..), or -1 when the node
// is neither owned nor halo. Memory O(owned + halo). Lookups go through a guide table (one entry
// per id, bucketing the sorted ids by value), so a lookup touches a bucket of about one id instead
// of a binary search over the whole shard.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "shard/shard.hpp"

namespace tkg {

// Position of an id in an ascending array of distinct ids, or -1.
class SortedIds {
 public:
  SortedIds() = default;
  explicit SortedIds(const std::vector<int64_t>* ids);
  int64_t find(int64_t id) const;

 private:
  const std::vector<int64_t>* ids_ = nullptr;
  int64_t lo_ = 0, hi_ = -1, stride_ = 1;
  std::vector<int64_t> guide_;  // [buckets + 1] first position of each bucket's ids
};

class LocalIndex {
 public:
  explicit LocalIndex(const Shard& shard);
  LocalIndex(const LocalIndex&) = delete;  // halo_ points into halo_ids_
  LocalIndex& operator=(const LocalIndex&) = delete;
  int64_t operator()(int64_t node) const;
  // Local index of an owned node, or -1.
  int64_t owned(int64_t node) const;

 private:
  int64_t n_own_;
  SortedIds owned_;
  std::vector<int64_t> halo_ids_;    // ascending global ids of the halo nodes
  std::vector<int64_t> halo_local_;  // their local indices
  SortedIds halo_;
};

}  // namespace tkg
