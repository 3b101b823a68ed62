#include "shard/local_index.hpp"

#include <algorithm>

namespace tkg {

LocalIndex::LocalIndex(const Shard& shard) : owned_(&shard.owned), n_own_(shard.n_own()) {
  halo_.reserve(shard.halo.size());
  for (int64_t k = 0; k < shard.n_halo(); ++k) halo_.emplace_back(shard.halo[k], n_own_ + k);
  std::sort(halo_.begin(), halo_.end());
}

int64_t LocalIndex::owned(int64_t node) const {
  auto it = std::lower_bound(owned_->begin(), owned_->end(), node);
  return it != owned_->end() && *it == node ? static_cast<int64_t>(it - owned_->begin()) : -1;
}

int64_t LocalIndex::operator()(int64_t node) const {
  const int64_t o = owned(node);
  if (o >= 0) return o;
  auto it = std::lower_bound(halo_.begin(), halo_.end(), std::make_pair(node, int64_t{-1}));
  return it != halo_.end() && it->first == node ? it->second : -1;
}

}  // namespace tkg
