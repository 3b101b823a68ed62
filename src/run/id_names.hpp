// Original ids of remapped nodes (data.remap_ids), held across the ranks: each rank reads one byte
// range of an id map (user_ids.txt / item_ids.txt: line k is the original id of dense id k) and
// answers for the lines that start in it, so no rank reads or holds the whole map. No torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tkg {

class Communicator;

class DistributedNames {
 public:
  // Collective. path: an id map; an empty path means "no map": the name of id k is k itself,
  // and the ids are split into P equal ranges.
  DistributedNames(const std::string& path, int64_t n_ids, Communicator& comm);
  // The rank holding id k (ids are held in ascending ranges, rank by rank).
  int holder(int64_t id) const;
  // Collective: the names of `ids` (any order, repeats allowed), in that order.
  std::vector<std::string> lookup(const std::vector<int64_t>& ids);
  int64_t first_id() const { return first_[rank_]; }  // this rank's range [first_id, end_id)
  int64_t end_id() const { return first_[rank_ + 1]; }
  // Name of an id of this rank's range.
  std::string local_name(int64_t id) const;

 private:
  Communicator& comm_;
  int rank_ = 0;
  bool mapped_ = false;
  std::vector<int64_t> first_;      // [P + 1] first id of each rank's range
  std::vector<std::string> names_;  // this rank's names (mapped)
};

}  // namespace tkg
