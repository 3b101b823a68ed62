// Which rank owns an item, without any rank holding a table over all items (DESIGN §4 "Cost per
// rank follows the shard"): rank r keeps the owners of the items i with i mod P == r
// (ceil(m / P) entries). A lookup sends the ids to their directory ranks and gets the owners
// back. No torch here.
#pragma once

#include <cstdint>
#include <vector>

#include "shard/shard.hpp"

namespace tkg {

class Communicator;

class ItemDirectory {
 public:
  // Collective: every rank registers its owned items.
  ItemDirectory(const Shard& shard, Communicator& comm);

  // Collective: the owner rank of each item in `items` (global item ids, any order, repeats
  // allowed; may be empty on some ranks).
  std::vector<int32_t> owners(const std::vector<int64_t>& items);

  // Entries held by this rank (for the memory accounting).
  int64_t entries() const { return static_cast<int64_t>(owner_.size()); }

 private:
  Communicator& comm_;
  int64_t n_items_;
  std::vector<int32_t> owner_;  // [ceil((m - rank) / P)] owner of item rank + k·P
};

}  // namespace tkg
