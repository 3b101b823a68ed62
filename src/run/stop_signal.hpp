// SIGTERM / SIGUSR1 (what Slurm sends before preemption or the time limit) ask for a checkpoint
// and a clean stop at the end of the current epoch. No torch here.
#pragma once

#include <cstdint>

namespace tkg {

void install_stop_signals();
// Whether a stop signal has arrived at this process. TKG_SIGNAL_AT_EPOCH=E raises SIGUSR1 on rank
// 0 after epoch E (for the tests).
bool stop_signal_received(int rank, int64_t epoch);

}  // namespace tkg
