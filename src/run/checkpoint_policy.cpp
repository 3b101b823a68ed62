#include "run/checkpoint_policy.hpp"

#include "common/clock.hpp"

namespace tkg {

CheckpointPolicy::CheckpointPolicy(const RunOptions& o, const Shard& shard, Trainer& trainer, Communicator& comm)
    : o_(o), shard_(shard), trainer_(trainer), comm_(comm), root_(o.out_dir + "/checkpoints"), last_t_(now_s()) {}

bool CheckpointPolicy::due(int64_t epoch, bool evaluated, double slowest_elapsed) const {
  if (o_.checkpoint_every > 0) return epoch % o_.checkpoint_every == 0;
  // At most one per interval: a checkpoint costs about as much as a few short epochs.
  return evaluated && slowest_elapsed >= o_.checkpoint_interval_s;
}

double CheckpointPolicy::elapsed() const { return now_s() - last_t_; }

void CheckpointPolicy::write(const LoopState& loop) {
  if (!o_.save_checkpoint || saved_epoch_ == loop.epoch) return;
  const double t0 = now_s();
  save_resumable(shard_, trainer_, o_.model, o_.train, loop, root_, o_.checkpoint_keep, comm_);
  saved_epoch_ = loop.epoch;
  last_t_ = now_s();
  seconds_ += last_t_ - t0;
  ++written_;
}

}  // namespace tkg
