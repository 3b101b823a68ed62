// Progress lines for the long phases of the offline tools (tkg-gen, tkg-partition) on inputs of
// 100M lines and more: a line when a phase starts, then every few seconds one with the share done
// and the time left at the rate so far (or, for a phase that cannot count its work, such as METIS,
// the elapsed time against an estimate from this machine's measured rate, labelled as one), and a
// line when it ends. The work of the phase now running is counted with progress::add from the
// loops that do it (an atomic counter; no locks in the loops). No torch here.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace tkg {

namespace progress {
// Adds n units of work to the phase now running (no effect when none is).
void add(int64_t n);
}  // namespace progress

class PhaseProgress {
 public:
  // total: units of work (0: unknown, then estimate_s, if > 0, is shown as the estimate).
  // on = false: silent (quiet tools, tests).
  PhaseProgress(std::string tool, std::string phase, int64_t total, double estimate_s, bool on, double every_s = 10);
  ~PhaseProgress();
  PhaseProgress(const PhaseProgress&) = delete;
  PhaseProgress& operator=(const PhaseProgress&) = delete;

 private:
  void report(double elapsed, bool last) const;
  std::string tool_, phase_;
  int64_t total_;
  double estimate_s_, every_s_, start_;
  bool on_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread ticker_;
};

}  // namespace tkg
