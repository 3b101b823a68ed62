// Running top-K per user over blocks of item scores, ties broken by item id (smaller first), so
// the result does not depend on the order in which item blocks arrive (ring evaluation).
#pragma once

#include <cstdint>
#include <vector>

namespace tkg {

class TopKAccumulator {
 public:
  TopKAccumulator(int64_t n_users, int k);
  // Offers a block of scores: scores[r * n_items + c] is user (user_begin + r) vs item item_ids[c].
  // Entries equal to -inf are masked and never enter the list.
  void offer(int64_t user_begin, int64_t n_rows, const float* scores, const int64_t* item_ids, int64_t n_items);
  // Final list of a user, best first (at most k entries).
  std::vector<int64_t> ranked(int64_t user) const;
  // The kept entries of a user in no particular order: writes up to k scores and ids, returns how
  // many (offering them to another accumulator merges the lists exactly).
  int entries(int64_t user, float* scores, int64_t* ids) const;
  int k() const { return k_; }
  int64_t n_users() const { return n_users_; }

 private:
  int64_t n_users_;
  int k_;
  std::vector<float> score_;   // [n_users * k] per user a min-heap on (score, -id)
  std::vector<int64_t> item_;  // [n_users * k]
  std::vector<int> size_;      // [n_users]
};

}  // namespace tkg
