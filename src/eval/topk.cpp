#include "eval/topk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tkg {

namespace {

// "a ranks below b": lower score, or equal score and larger id.
inline bool worse(float sa, int64_t ia, float sb, int64_t ib) { return sa < sb || (sa == sb && ia > ib); }

}  // namespace

TopKAccumulator::TopKAccumulator(int64_t n_users, int k)
    : n_users_(n_users),
      k_(k),
      score_(static_cast<size_t>(n_users * k)),
      item_(static_cast<size_t>(n_users * k)),
      size_(static_cast<size_t>(n_users), 0) {}

void TopKAccumulator::offer(int64_t user_begin, int64_t n_rows, const float* scores, const int64_t* item_ids,
                            int64_t n_items) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < n_rows; ++r) {
    const int64_t u = user_begin + r;
    float* hs = score_.data() + u * k_;
    int64_t* hi = item_.data() + u * k_;
    int& n = size_[u];
    const float* row = scores + r * n_items;
    for (int64_t c = 0; c < n_items; ++c) {
      const float s = row[c];
      if (s == neg_inf || std::isnan(s)) continue;
      const int64_t id = item_ids[c];
      if (n == k_ && !worse(hs[0], hi[0], s, id)) continue;  // not better than the current worst
      // Binary min-heap keyed by worse(): root = worst kept entry.
      int64_t pos;
      if (n < k_) {
        pos = n++;
        while (pos > 0) {  // sift up
          int64_t parent = (pos - 1) / 2;
          if (!worse(s, id, hs[parent], hi[parent])) break;
          hs[pos] = hs[parent], hi[pos] = hi[parent];
          pos = parent;
        }
      } else {
        pos = 0;
        for (;;) {  // sift down from the root
          int64_t child = 2 * pos + 1;
          if (child >= n) break;
          if (child + 1 < n && worse(hs[child + 1], hi[child + 1], hs[child], hi[child])) ++child;
          if (!worse(hs[child], hi[child], s, id)) break;
          hs[pos] = hs[child], hi[pos] = hi[child];
          pos = child;
        }
      }
      hs[pos] = s, hi[pos] = id;
    }
  }
}

std::vector<int64_t> TopKAccumulator::ranked(int64_t user) const {
  const int n = size_[user];
  std::vector<std::pair<float, int64_t>> v;
  for (int j = 0; j < n; ++j) v.emplace_back(score_[user * k_ + j], item_[user * k_ + j]);
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return worse(b.first, b.second, a.first, a.second); });
  std::vector<int64_t> out;
  for (auto& p : v) out.push_back(p.second);
  return out;
}

}  // namespace tkg
