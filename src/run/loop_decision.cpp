#include "run/loop_decision.hpp"

#include <cstring>

#include "comm/communicator.hpp"

namespace tkg {

EpochDecision broadcast_decision(Communicator& comm, const EpochDecision& d) {
  uint8_t b[5] = {d.diverged, d.improved, d.early_stop, d.checkpoint, d.stop_signal};
  CollectiveSite site(comm, "run.decision");
  comm.broadcast(b, sizeof b, 0);
  EpochDecision out;
  out.diverged = b[0], out.improved = b[1], out.early_stop = b[2], out.checkpoint = b[3], out.stop_signal = b[4];
  return out;
}

}  // namespace tkg
