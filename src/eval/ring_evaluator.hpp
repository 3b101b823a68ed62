// Full-ranking evaluation across ranks (DESIGN §4 "Evaluation (MPI)"): each rank scores its
// selected owned users against every item. Item blocks (the owners' final rows) travel around a
// ring in P − 1 steps (or, with fewer bytes for a sampled evaluation, the users' rows travel and
// their partial lists return: RingEvalOptions::ring); each rank keeps a running top-K per user
// with train items masked; metric sums are all-reduced. Memory per rank: its owned rows, the
// block in hand and the one arriving, and one score block bounded in bytes (not in users).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/metrics.hpp"
#include "eval/topk.hpp"
#include "shard/shard.hpp"

namespace tkg {

class Communicator;

struct RingEvalOptions {
  std::vector<int> ks{1, 3, 5, 10, 20};
  int64_t block_bytes = int64_t{64} << 20;  // bound on one [users × items] float32 score block
  // What travels around the ring: "items" (every rank's item rows visit every rank), "users" (the
  // scored users' rows and train items visit, partial top-K lists return to their owners: fewer
  // bytes when the users scored are fewer than the items, as with eval.users), or "auto" (the
  // one that moves fewer bytes). Same lists and metrics either way.
  std::string ring = "auto";
};

// final_owned: [n_own, w] float32 (any device; users first, then items, as the shard's owned
// list). users: ascending local indices of the owned users to score. keep (optional): running
// top-K lists, one row per entry of `users`. progress(f) is called after every score block with
// the fraction f of this rank's work done. Users without targets in `target` are scored only when
// `keep` asks for their lists; they never enter the metrics. Collective.
MetricSums ring_evaluate(const Shard& shard, const at::Tensor& final_owned, const OwnedUserItems& target,
                         const std::vector<int64_t>& users, const RingEvalOptions& options, Communicator& comm,
                         Communicator& tensor_comm, TopKAccumulator* keep = nullptr,
                         const std::function<void(double)>& progress = {});

// Measured speed of this rank's scoring (user-item pairs per second: matrix product, masking and
// top-K) on `device` at width `dim`, from a short probe (~0.1 s). For time estimates.
double probe_score_rate(int64_t dim, const at::Device& device, int k);

}  // namespace tkg
