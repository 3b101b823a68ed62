#include "run/progress.hpp"

#include <chrono>
#include <cstdio>

#include "common/clock.hpp"

namespace tkg {

std::string fmt_duration(double s) {
  char buf[32];
  if (!(s >= 0)) s = 0;
  if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  return buf;
}

Progress::Progress(bool enabled, bool tty, double every_s) : enabled_(enabled), tty_(tty), every_s_(every_s) {}

bool Progress::due() {
  const double t = now_s();
  if (t - last_ < every_s_) return false;
  last_ = t;
  return true;
}

void Progress::break_line() {
  if (open_line_) std::printf("\n");
  open_line_ = false;
  std::fflush(stdout);
}

void Progress::epoch(int64_t epoch, int64_t epochs, double loss, double per, bool force) {
  if (!enabled_) return;
  if (tty_) {
    std::printf("\r\033[Kepoch %lld/%lld  loss %.5f  %.3f s/epoch  ETA %s", static_cast<long long>(epoch),
                static_cast<long long>(epochs), loss, per, fmt_duration(per * static_cast<double>(epochs - epoch)).c_str());
    open_line_ = true;
    if (force) break_line();
    std::fflush(stdout);
    return;
  }
  if (!due() && !force && epoch != 1) return;
  if (force) last_ = now_s();
  std::printf("epoch %lld/%lld  loss %.5f  %.3f s/epoch  ETA %s\n", static_cast<long long>(epoch),
              static_cast<long long>(epochs), loss, per, fmt_duration(per * static_cast<double>(epochs - epoch)).c_str());
  std::fflush(stdout);
}

void Progress::step(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double elapsed, double per) {
  if (!enabled_ || step == steps || !due()) return;
  const double epoch_eta = elapsed / static_cast<double>(step) * static_cast<double>(steps - step);
  // Before the first epoch ends, the epoch time is projected from its steps.
  const double per_epoch = per > 0 ? per : elapsed / static_cast<double>(step) * static_cast<double>(steps);
  if (tty_) std::printf("\r\033[K");
  std::printf("epoch %lld/%lld  step %lld/%lld  %.1f s in  epoch ETA %s  run ETA %s%s", static_cast<long long>(epoch),
              static_cast<long long>(epochs), static_cast<long long>(step), static_cast<long long>(steps), elapsed,
              fmt_duration(epoch_eta).c_str(), fmt_duration(epoch_eta + per_epoch * static_cast<double>(epochs - epoch)).c_str(),
              tty_ ? "" : "\n");
  open_line_ = tty_;
  std::fflush(stdout);
}

void Progress::evaluation(const std::string& split, double f, double elapsed) {
  if (!enabled_ || f >= 1 || f <= 0 || !due()) return;
  if (tty_) std::printf("\r\033[K");
  // Below 1 % done (the first blocks include the setup) a rate says nothing: no ETA yet.
  if (f < 0.01)
    std::printf("  evaluating %s: %.1f %% after %s%s", split.c_str(), 100 * f, fmt_duration(elapsed).c_str(), tty_ ? "" : "\n");
  else
    std::printf("  evaluating %s: %.0f %% after %s, ETA %s%s", split.c_str(), 100 * f, fmt_duration(elapsed).c_str(),
                fmt_duration(elapsed / f * (1 - f)).c_str(), tty_ ? "" : "\n");
  open_line_ = tty_;
  std::fflush(stdout);
}

}  // namespace tkg
