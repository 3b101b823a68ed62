// One shard's training step without its communication, run for real on this process: the
// negative sampling and fetch plan, L TopKGAT layers forward, the BPR + λ loss, the backward pass
// and the AdamW step, with the halo and fetched rows stood in by tensors of the right shape (no
// peer is needed). What a projection of the distributed step takes from each rank (tkg-project):
// its compute time by phase, and the volumes its collectives move.
#pragma once

#include <cstdint>
#include <vector>

#include "shard/shard.hpp"
#include "train/options.hpp"

namespace tkg {

struct ShardProbe {
  int32_t rank = 0, parts = 1;
  int64_t n_own = 0, n_halo = 0, nnz = 0, lines = 0;
  int64_t nnz_halo = 0;            // edges whose column is a halo node (what waits for the exchange)
  int64_t send_rows = 0;           // rows this rank sends per halo exchange (all peers)
  int64_t recv_rows = 0;           // rows it receives (its halo)
  int send_peers = 0, recv_peers = 0;  // peers with rows to send / receive
  int64_t fetched = 0;             // distinct remote negatives of one full-batch step
  // Seconds of one step (best of the repetitions).
  double sample_s = 0, plan_s = 0, forward_s = 0, loss_s = 0, backward_s = 0, optimizer_s = 0, total_s = 0;
};

// Runs `reps` steps (after one warm-up) of the shard's full-batch step with the model options
// (layers, dim, attention) and the train options (seed, λ); returns the fastest.
ShardProbe probe_shard(const Shard& shard, const ModelOptions& model, const TrainOptions& train, int reps);

}  // namespace tkg
