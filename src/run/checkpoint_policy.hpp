// When resumable checkpoints are written (docs/checkpoints.md): every `output.checkpoint_every`
// epochs, or at evaluations at most once per `output.checkpoint_interval` seconds (the slowest
// rank's clock), at the end of the run and on a stop signal; at most once per epoch. Writing is
// run/resume.hpp's. No torch here.
#pragma once

#include <cstdint>
#include <string>

#include "run/resume.hpp"
#include "run/run.hpp"

namespace tkg {

class Communicator;
class Trainer;
struct Shard;

class CheckpointPolicy {
 public:
  CheckpointPolicy(const RunOptions& o, const Shard& shard, Trainer& trainer, Communicator& comm);
  // Rank 0's proposal for `epoch`: slowest_elapsed is the slowest rank's seconds since the last one.
  bool due(int64_t epoch, bool evaluated, double slowest_elapsed) const;
  double elapsed() const;  // this rank's seconds since the last checkpoint (or the start)
  // Collective: writes the checkpoint of `loop.epoch` unless it exists already or checkpoints are off.
  void write(const LoopState& loop);
  const std::string& root() const { return root_; }
  double seconds() const { return seconds_; }  // spent writing (all checkpoints)
  int64_t written() const { return written_; }

 private:
  const RunOptions& o_;
  const Shard& shard_;
  Trainer& trainer_;
  Communicator& comm_;
  std::string root_;
  int64_t saved_epoch_ = -1;
  double last_t_;
  double seconds_ = 0;
  int64_t written_ = 0;
};

}  // namespace tkg
