#include "train/train_lines.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.hpp"
#include "common/rng.hpp"

namespace tkg {

bool TrainLines::is_train_pair(int64_t u, int64_t j) const {
  const auto& set = user_items[u];
  return std::binary_search(set.begin(), set.end(), j);
}

int64_t train_lines_bytes(int64_t lines, int64_t pairs, int64_t users) {
  return 8 * lines + 4 * pairs + 16 * users + 40 * users;  // fields, sets, first lines and user ids, one vector (and its heap block) per user
}

TrainLines build_train_lines(const Shard& shard, const LocalIndex& local) {
  TrainLines t;
  const int64_t nu = shard.n_own_users, n = static_cast<int64_t>(shard.train.items.size());
  constexpr int64_t kMax32 = std::numeric_limits<int32_t>::max();
  if (shard.n_local() > kMax32 || shard.n_items > kMax32)
    throw InputError("shard " + std::to_string(shard.rank), 0,
                     std::to_string(shard.n_local()) + " local nodes and " + std::to_string(shard.n_items) +
                         " items: train lines hold 32-bit ids (at most 2^31 - 1 of each); partition into more parts");
  t.user.reserve(n), t.item_local.reserve(n);
  t.first.assign(shard.train.indptr.begin(), shard.train.indptr.begin() + nu + 1);
  t.user_items.resize(static_cast<size_t>(nu));
  t.user_id.assign(shard.owned.begin(), shard.owned.begin() + nu);
  for (int64_t u = 0; u < nu; ++u) {
    auto& set = t.user_items[u];
    for (int64_t k = shard.train.indptr[u]; k < shard.train.indptr[u + 1]; ++k) {
      const int64_t item = shard.train.items[k];
      const int64_t loc = local(shard.n_users + item);
      TKG_CHECK(loc >= 0, "positive item node " << shard.n_users + item << " is neither owned nor halo");
      t.user.push_back(static_cast<int32_t>(u));
      t.item_local.push_back(static_cast<int32_t>(loc));
      set.push_back(static_cast<int32_t>(item));
    }
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
  }
  return t;
}

SampledLines user_uniform_batch(const TrainLines& lines, uint64_t seed, int64_t epoch, int64_t step, double mean) {
  SampledLines out;
  const int64_t nu = static_cast<int64_t>(lines.first.size()) - 1;
  const double p0 = std::exp(-mean);
  for (int64_t u = 0; u < nu; ++u) {
    const int64_t deg = lines.first[u + 1] - lines.first[u];
    if (deg == 0) continue;
    uint64_t h = splitmix64(seed ^ 0x75736572730aULL);
    h = splitmix64(h ^ static_cast<uint64_t>(epoch));
    h = splitmix64(h ^ static_cast<uint64_t>(step));
    Rng rng(splitmix64(h ^ static_cast<uint64_t>(lines.user_id[u])));
    // Poisson(mean) by inversion (the means here are small: batch / users, or lines per user).
    int64_t c = 0;
    double prob = p0, cdf = p0;
    const double r = rng.uniform();
    while (r > cdf && c < 1000000) {
      ++c;
      prob *= mean / static_cast<double>(c);
      cdf += prob;
      if (prob < 1e-300) break;
    }
    for (int64_t k = 0; k < c; ++k) {
      out.lines.push_back(lines.first[u] + static_cast<int64_t>(rng.below(static_cast<uint64_t>(deg))));
      out.salt.push_back(k);
    }
  }
  return out;
}

uint64_t line_seed(uint64_t seed, int64_t epoch, int64_t step, int64_t user, int64_t pos) {
  uint64_t h = splitmix64(seed ^ 0x6e656761746976ULL);
  h = splitmix64(h ^ static_cast<uint64_t>(epoch));
  h = splitmix64(h ^ static_cast<uint64_t>(step));
  h = splitmix64(h ^ static_cast<uint64_t>(user));
  return splitmix64(h ^ static_cast<uint64_t>(pos));
}

std::vector<std::vector<int64_t>> batch_schedule(const TrainLines& lines, uint64_t seed, int64_t epoch, int64_t n_steps) {
  std::vector<std::vector<int64_t>> by_step(static_cast<size_t>(n_steps));
  for (int64_t k = 0; k < lines.size(); ++k) {
    uint64_t h = splitmix64(seed ^ 0x62617463680aULL);
    h = splitmix64(h ^ static_cast<uint64_t>(epoch));
    h = splitmix64(h ^ static_cast<uint64_t>(lines.user_id[lines.user[k]]));
    h = splitmix64(h ^ static_cast<uint64_t>(lines.pos(k)));
    by_step[h % static_cast<uint64_t>(n_steps)].push_back(k);
  }
  return by_step;
}

}  // namespace tkg
