#include "common/phase_progress.hpp"

#include <exception>

#include <chrono>
#include <cstdio>

#include "common/clock.hpp"

namespace tkg {

namespace {
std::atomic<int64_t> g_done{0};
std::atomic<bool> g_active{false};

std::string duration(double s) {
  char b[32];
  if (s < 90) std::snprintf(b, sizeof b, "%.0f s", s);
  else if (s < 5400) std::snprintf(b, sizeof b, "%.1f min", s / 60);
  else std::snprintf(b, sizeof b, "%.1f h", s / 3600);
  return b;
}
}  // namespace

namespace progress {
void add(int64_t n) {
  if (g_active.load(std::memory_order_relaxed)) g_done.fetch_add(n, std::memory_order_relaxed);
}
}  // namespace progress

PhaseProgress::PhaseProgress(std::string tool, std::string phase, int64_t total, double estimate_s, bool on, double every_s)
    : tool_(std::move(tool)), phase_(std::move(phase)), total_(total), estimate_s_(estimate_s), every_s_(every_s),
      start_(now_s()), on_(on) {
  g_done.store(0);
  g_active.store(true);
  if (!on_) return;
  if (estimate_s_ >= 5 && total_ <= 0)
    std::printf("%s: %s (estimate from this machine's rate: about %s)\n", tool_.c_str(), phase_.c_str(), duration(estimate_s_).c_str());
  else
    std::printf("%s: %s\n", tool_.c_str(), phase_.c_str());
  std::fflush(stdout);
  ticker_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::duration<double>(every_s_), [this] { return stop_; })) report(now_s() - start_, false);
  });
}

PhaseProgress::~PhaseProgress() {
  if (ticker_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    ticker_.join();
  }
  g_active.store(false);
  if (on_ && std::uncaught_exceptions() > 0) {  // the phase failed: its error follows, not "done"
    std::printf("%s: %s stopped after %s\n", tool_.c_str(), phase_.c_str(), duration(now_s() - start_).c_str());
    std::fflush(stdout);
  } else if (on_) {
    report(now_s() - start_, true);
  }
}

void PhaseProgress::report(double elapsed, bool last) const {
  if (last) {
    std::printf("%s: %s done in %s\n", tool_.c_str(), phase_.c_str(), duration(elapsed).c_str());
  } else if (total_ > 0) {
    const double f = static_cast<double>(g_done.load()) / static_cast<double>(total_);
    if (f > 0.01)
      std::printf("%s: %s: %.0f %% after %s, about %s left\n", tool_.c_str(), phase_.c_str(), 100 * f, duration(elapsed).c_str(),
                  duration(elapsed * (1 - f) / f).c_str());
    else
      std::printf("%s: %s: %.0f %% after %s\n", tool_.c_str(), phase_.c_str(), 100 * f, duration(elapsed).c_str());
  } else if (estimate_s_ > 0) {
    std::printf("%s: %s: %s of an estimated %s\n", tool_.c_str(), phase_.c_str(), duration(elapsed).c_str(), duration(estimate_s_).c_str());
  } else {
    std::printf("%s: %s: %s\n", tool_.c_str(), phase_.c_str(), duration(elapsed).c_str());
  }
  std::fflush(stdout);
}

}  // namespace tkg
