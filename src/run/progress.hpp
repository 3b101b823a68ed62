// Progress lines of a run (rank 0 only): epochs with s/epoch and ETA, steps of long epochs, and
// long evaluations with their estimated time, so a user is never left without output for long.
// On a terminal (P = 1) the epoch line is rewritten in place; under mpirun/srun (ranks get a pty
// or a pipe) plain lines are printed, at most one every `every_s` seconds, plus at every
// evaluation. No torch here.
#pragma once

#include <cstdint>
#include <string>

namespace tkg {

std::string fmt_duration(double seconds);  // "42s", "3m05s", "2h10m"

class Progress {
 public:
  Progress(bool enabled, bool tty, double every_s);
  // After an epoch: `s_per_epoch` so far; force: print regardless of the interval (evaluation epochs).
  void epoch(int64_t epoch, int64_t epochs, double loss, double s_per_epoch, bool force);
  // After a step of a mini-batch epoch (epoch_elapsed: seconds since the epoch started).
  void step(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double epoch_elapsed, double s_per_epoch);
  // During an evaluation: fraction of the work done, seconds since it started.
  void evaluation(const std::string& split, double fraction, double elapsed);
  // Ends a rewritten terminal line before other output.
  void break_line();

 private:
  bool due();  // the interval has passed since the last line (and resets it)
  bool enabled_, tty_;
  double every_s_;
  double last_ = -1e30;
  bool open_line_ = false;
};

}  // namespace tkg
