// Decisions that end or branch the run's loop, made on rank 0 and broadcast (DESIGN §4
// "Collective participation by construction"): every rank then takes the same branch, so
// ranks never part ways over their own floating-point sums or clocks.
#pragma once

#include <cstdint>

namespace tkg {

class Communicator;

struct EpochDecision {
  bool diverged = false;        // the loss is not finite: stop with an error
  bool improved = false;        // the validation metric beat the best so far: keep this model
  bool early_stop = false;      // no improvement for `patience` epochs
  bool checkpoint = false;      // write a resumable checkpoint now
  bool stop_signal = false;     // SIGTERM / SIGUSR1 reached some rank: checkpoint and exit
};

// Rank 0's `d` on every rank (one broadcast; every rank calls it).
EpochDecision broadcast_decision(Communicator& comm, const EpochDecision& d);

}  // namespace tkg
