// Monotonic wall-clock seconds for timings and progress (std::chrono::steady_clock).
#pragma once

#include <chrono>

namespace tkg {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace tkg
