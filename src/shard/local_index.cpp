#include "shard/local_index.hpp"

#include <algorithm>
#include <numeric>

namespace tkg {

SortedIds::SortedIds(const std::vector<int64_t>* ids) : ids_(ids) {
  const int64_t n = static_cast<int64_t>(ids->size());
  if (n == 0) return;
  lo_ = ids->front();
  hi_ = ids->back();
  const int64_t span = hi_ - lo_ + 1;
  stride_ = std::max<int64_t>(1, (span + n - 1) / n);
  const int64_t buckets = (span + stride_ - 1) / stride_;
  guide_.assign(static_cast<size_t>(buckets + 1), n);
  for (int64_t b = 0, p = 0; b < buckets; ++b) {
    const int64_t first = lo_ + b * stride_;
    while (p < n && (*ids)[p] < first) ++p;
    guide_[b] = p;
  }
}

int64_t SortedIds::find(int64_t id) const {
  if (id < lo_ || id > hi_) return -1;
  const int64_t b = (id - lo_) / stride_;
  const auto first = ids_->begin() + guide_[b], last = ids_->begin() + guide_[b + 1];
  auto it = std::lower_bound(first, last, id);
  return it != last && *it == id ? static_cast<int64_t>(it - ids_->begin()) : -1;
}

LocalIndex::LocalIndex(const Shard& shard) : n_own_(shard.n_own()), owned_(&shard.owned) {
  const int64_t nh = shard.n_halo();
  std::vector<int64_t> order(static_cast<size_t>(nh));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return shard.halo[a] < shard.halo[b]; });
  halo_ids_.resize(static_cast<size_t>(nh));
  halo_local_.resize(static_cast<size_t>(nh));
  for (int64_t k = 0; k < nh; ++k) halo_ids_[k] = shard.halo[order[k]], halo_local_[k] = n_own_ + order[k];
  halo_ = SortedIds(&halo_ids_);
}

int64_t LocalIndex::owned(int64_t node) const { return owned_.find(node); }

int64_t LocalIndex::operator()(int64_t node) const {
  const int64_t o = owned_.find(node);
  if (o >= 0) return o;
  const int64_t h = halo_.find(node);
  return h >= 0 ? halo_local_[h] : -1;
}

}  // namespace tkg
