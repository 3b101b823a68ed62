// The train lines of a rank: one per (owned user, train item) line of the train split, in file
// order within a user (DESIGN §2: duplicate lines count). The loss is a sum over lines; the
// negative sampler and the mini-batch schedule address lines by (user id, position), never by
// rank, so both are the same at any P.
#pragma once

#include <cstdint>
#include <vector>

#include "shard/local_index.hpp"
#include "shard/shard.hpp"

namespace tkg {

// 8 bytes per line plus 4 per distinct (user, item) pair: 32-bit fields, each bound checked when
// built (local indices below 2^31, item ids below 2^31). Lines are in the shard's train order, so
// a user's lines are contiguous and a line's position in its user's list is k − first[user].
struct TrainLines {
  std::vector<int32_t> user;        // [n] local user index (0..n_own_users)
  std::vector<int64_t> first;       // [n_own_users + 1] first line of each user
  std::vector<int32_t> item_local;  // [n] local node index of the item (owned or halo)
  std::vector<std::vector<int32_t>> user_items;  // [n_own_users] sorted distinct train items (global item ids)
  std::vector<int64_t> user_id;     // [n_own_users] global user id

  int64_t size() const { return static_cast<int64_t>(user.size()); }
  // Position of line k within its user's train list.
  int64_t pos(int64_t k) const { return k - first[static_cast<size_t>(user[k])]; }
  // Is (local user u, item j) a train pair?
  bool is_train_pair(int64_t u, int64_t j) const;
};

// Throws InputError when a count does not fit the 32-bit fields.
TrainLines build_train_lines(const Shard& shard, const LocalIndex& local);

// Bytes build_train_lines holds for `lines` lines, `pairs` distinct pairs and `users` owned users.
int64_t train_lines_bytes(int64_t lines, int64_t pairs, int64_t users);

// Mini-batch schedule: the lines of each of `n_steps` steps of `epoch`. A line's step depends only
// on (seed, epoch, user id, position).
std::vector<std::vector<int64_t>> batch_schedule(const TrainLines& lines, uint64_t seed, int64_t epoch, int64_t n_steps);

// LightGCN's sampling (train.sampling = users): a step draws (user, positive) samples with every
// user that has train lines equally likely, not every line. Each owned user with lines draws its
// count of samples in the step from a Poisson law of mean `mean` (samples per step / users with
// lines, summed over ranks) with its own generator (seed, epoch, step, user id) — a Poissonized
// form of LightGCN's "users = randint(n_users, N)", the same at any P, costing O(owned users) per
// step, never O(all samples) — and each sample's positive is uniform among the user's lines.
// Samples of a user are numbered 0, 1, ... (`salt`: their negatives' own draws, so a line drawn
// twice gets two negatives).
struct SampledLines {
  std::vector<int64_t> lines;  // line indices (a line may repeat)
  std::vector<int64_t> salt;   // [lines] the sample's number within its user's samples of the step
};
SampledLines user_uniform_batch(const TrainLines& lines, uint64_t seed, int64_t epoch, int64_t step, double mean);

// Seed of one line's draws at (epoch, step): depends on the run seed, epoch, step, user id and
// the line's position in the user's train list, never on the partition.
uint64_t line_seed(uint64_t seed, int64_t epoch, int64_t step, int64_t user, int64_t pos);

}  // namespace tkg
