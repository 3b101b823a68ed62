// Global node id -> local index on a shard (owned 0..n_own-1, halo n_own..), or -1 when the node
// is neither owned nor halo. Memory O(owned + halo); lookups are binary searches.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "shard/shard.hpp"

namespace tkg {

class LocalIndex {
 public:
  explicit LocalIndex(const Shard& shard);
  int64_t operator()(int64_t node) const;
  // Local index of an owned node, or -1.
  int64_t owned(int64_t node) const;

 private:
  const std::vector<int64_t>* owned_;
  int64_t n_own_;
  std::vector<std::pair<int64_t, int64_t>> halo_;  // (global id, local index), ascending id
};

}  // namespace tkg
