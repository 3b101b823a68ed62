#include "train/negative_sampler.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <unordered_set>

#include "common/error.hpp"
#include "common/rng.hpp"

namespace tkg {

NegativeSampler::NegativeSampler(const TrainLines& lines, int64_t n_items, uint64_t seed, int64_t pool_size,
                                 int64_t per_line)
    : lines_(lines), n_items_(n_items), seed_(seed), pool_size_(pool_size > 0 && pool_size < n_items ? pool_size : 0),
      per_line_(per_line) {
  TKG_CHECK(per_line >= 1, "negatives per line must be >= 1");
}

std::vector<int64_t> NegativeSampler::pool(int64_t epoch, int64_t step) const {
  if (!uses_pool()) return {};
  // Floyd's algorithm: Q distinct draws from [0, m) with Q random numbers and an O(Q) set.
  Rng rng(splitmix64(splitmix64(splitmix64(seed_ ^ 0x706f6f6c0aULL) ^ static_cast<uint64_t>(epoch)) ^
                     static_cast<uint64_t>(step)));
  std::unordered_set<int64_t> chosen;
  chosen.reserve(static_cast<size_t>(pool_size_) * 2);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(pool_size_));
  for (int64_t j = n_items_ - pool_size_; j < n_items_; ++j) {
    const int64_t t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(j + 1)));
    const int64_t pick = chosen.insert(t).second ? t : j;
    if (pick == j) chosen.insert(j);
    out.push_back(pick);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> NegativeSampler::sample(int64_t epoch, int64_t step, const std::vector<int64_t>& lines,
                                             const std::vector<int64_t>* salt) const {
  TKG_CHECK(!salt || salt->size() == lines.size(), "one salt per line");
  return draw(epoch, step, static_cast<int64_t>(lines.size()), &lines, salt);
}

std::vector<int64_t> NegativeSampler::sample_all(int64_t epoch, int64_t step) const {
  return draw(epoch, step, lines_.size(), nullptr);
}

std::vector<int64_t> NegativeSampler::draw(int64_t epoch, int64_t step, int64_t n, const std::vector<int64_t>* lines,
                                           const std::vector<int64_t>* salt) const {
  const int64_t K = per_line_;
  std::vector<int64_t> out(static_cast<size_t>(n * K));
  const std::vector<int64_t> candidates = pool(epoch, step);
  const uint64_t range = static_cast<uint64_t>(uses_pool() ? pool_size_ : n_items_);
  // Each line draws from its own generator: parallel, and the same whatever the thread count.
  at::parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t line = lines ? (*lines)[k] : k;
      const int64_t u = lines_.user[line];
      uint64_t ls = line_seed(seed_, epoch, step, lines_.user_id[u], lines_.pos(line));
      if (salt && (*salt)[k] != 0) ls = splitmix64(ls ^ splitmix64(static_cast<uint64_t>((*salt)[k])));
      Rng rng(ls);
      for (int64_t c = 0; c < K; ++c) {
        int64_t j = 0;
        for (int tries = 0; tries < 1000; ++tries) {  // resample while (u, j) is a train pair
          const int64_t r = static_cast<int64_t>(rng.below(range));
          j = uses_pool() ? candidates[r] : r;
          if (!lines_.is_train_pair(u, j)) break;
        }
        out[k * K + c] = j;
      }
    }
  });
  return out;
}

}  // namespace tkg
