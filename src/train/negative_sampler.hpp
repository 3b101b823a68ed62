// Negative items of train lines (DESIGN §2, §4 "Loss across ranks").
//
// Exact sampler (pool_size 0): each line draws uniformly over all items from its own generator
// (line_seed: seed, epoch, step, user id, position), resampling while (u, j) is a train pair, as
// the official code does. Pool sampler (0 < pool_size < n_items): a pool of Q distinct items per
// step is drawn from (seed, epoch, step) alone — every rank computes the same pool, whatever P —
// and each line draws from the pool instead. Both give the same draws at any P and thread count.
// K negatives per line (train.negatives): the line's generator draws them in sequence, so the
// first is the one K = 1 draws.
// No torch here.
#pragma once

#include <cstdint>
#include <vector>

#include "train/train_lines.hpp"

namespace tkg {

class NegativeSampler {
 public:
  NegativeSampler(const TrainLines& lines, int64_t n_items, uint64_t seed, int64_t pool_size, int64_t per_line = 1);

  // per_line() negatives (global item ids) per entry of `lines` (indices into the TrainLines) at
  // (epoch, step): entry k's are [k·K, (k+1)·K).
  // salt (optional, one per entry): a further input of each entry's generator, for lines drawn
  // more than once in a step (user_uniform_batch); salt 0 draws what no salt draws.
  std::vector<int64_t> sample(int64_t epoch, int64_t step, const std::vector<int64_t>& lines,
                              const std::vector<int64_t>* salt = nullptr) const;
  // The same for every line in order (lines = 0..n-1), without the list of lines.
  std::vector<int64_t> sample_all(int64_t epoch, int64_t step) const;

  // The shared pool of (epoch, step): Q distinct item ids, ascending (empty for the exact sampler).
  // O(Q) time and memory (Floyd's algorithm), never O(n_items).
  std::vector<int64_t> pool(int64_t epoch, int64_t step) const;

  bool uses_pool() const { return pool_size_ > 0; }
  int64_t pool_size() const { return pool_size_; }
  int64_t per_line() const { return per_line_; }

 private:
  // n negatives, for lines (*lines)[k], or line k when lines is null.
  std::vector<int64_t> draw(int64_t epoch, int64_t step, int64_t n, const std::vector<int64_t>* lines,
                            const std::vector<int64_t>* salt = nullptr) const;
  const TrainLines& lines_;
  int64_t n_items_;
  uint64_t seed_;
  int64_t pool_size_;  // 0: exact sampler
  int64_t per_line_;   // K
};

}  // namespace tkg
