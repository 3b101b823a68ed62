// Which users an evaluation scores (DESIGN §4 "Evaluation"): the owned users with at least one
// item in the split, or — for graphs too large to rank every user — a fixed seeded sample of N of
// them. The sample takes the N eligible users with the smallest keys splitmix64(seed, user id):
// the same users at any P and every epoch. No torch here.
#pragma once

#include <cstdint>
#include <vector>

#include "shard/shard.hpp"

namespace tkg {

class Communicator;

struct EvalUsers {
  std::vector<int64_t> local;  // ascending local indices of the owned users to score
  int64_t global = 0;          // users scored over all ranks
  int64_t eligible = 0;        // users with targets over all ranks
};

// Collective (an all-reduce, plus a 64-step bisection of the key threshold when sampling).
// sample = 0: every eligible user.
EvalUsers select_eval_users(const Shard& shard, const OwnedUserItems& split, int64_t sample, uint64_t seed,
                            Communicator& comm);

}  // namespace tkg
