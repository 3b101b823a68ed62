#include "eval/topk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#endif

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

namespace {

// Offers one candidate to a full or filling heap (binary min-heap keyed by worse(): root = worst
// kept entry).
inline void push(float s, int64_t id, float* hs, int64_t* hi, int& n, int k) {
  if (n == k && !worse(hs[0], hi[0], s, id)) return;  // not better than the current worst
  int64_t pos;
  if (n < k) {
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

inline bool usable(float s) { return s != -std::numeric_limits<float>::infinity() && !std::isnan(s); }

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// Once the heap is full, only scores ≥ the worst kept one can enter, and that bound only rises:
// scan eight scores at a time for such candidates and push just those (in order), which keeps
// exactly what pushing every score would keep. Returns the columns done.
__attribute__((target("avx2"))) int64_t offer_full_avx2(const float* row, const int64_t* ids, int64_t c, int64_t n_items,
                                                        float* hs, int64_t* hi, int& n, int k) {
  for (; c + 8 <= n_items; c += 8) {
    const __m256 v = _mm256_loadu_ps(row + c);
    unsigned m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(hs[0]), _CMP_GE_OQ)));
    while (m) {
      const int j = __builtin_ctz(m);
      m &= m - 1;
      push(row[c + j], ids[c + j], hs, hi, n, k);
    }
  }
  return c;
}
const bool kHaveAvx2 = __builtin_cpu_supports("avx2");
#else
int64_t offer_full_avx2(const float*, const int64_t*, int64_t c, int64_t, float*, int64_t*, int&, int) { return c; }
const bool kHaveAvx2 = false;
#endif

}  // namespace

void TopKAccumulator::offer(int64_t user_begin, int64_t n_rows, const float* scores, const int64_t* item_ids,
                            int64_t n_items) {
  if (k_ == 0) return;
  for (int64_t r = 0; r < n_rows; ++r) {
    const int64_t u = user_begin + r;
    float* hs = score_.data() + u * k_;
    int64_t* hi = item_.data() + u * k_;
    int& n = size_[u];
    const float* row = scores + r * n_items;
    int64_t c = 0;
    for (; c < n_items && n < k_; ++c)
      if (usable(row[c])) push(row[c], item_ids[c], hs, hi, n, k_);
    // Full: -inf and NaN never compare ≥ the (finite) worst kept score, so the scan skips them.
    if (kHaveAvx2 && n == k_ && k_ > 0 && usable(hs[0])) c = offer_full_avx2(row, item_ids, c, n_items, hs, hi, n, k_);
    for (; c < n_items; ++c)
      if (usable(row[c])) push(row[c], item_ids[c], hs, hi, n, k_);
  }
}

int TopKAccumulator::entries(int64_t user, float* scores, int64_t* ids) const {
  const int n = size_[user];
  for (int j = 0; j < n; ++j) scores[j] = score_[user * k_ + j], ids[j] = item_[user * k_ + j];
  return n;
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
