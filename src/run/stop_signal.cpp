#include "run/stop_signal.hpp"

#include <csignal>
#include <cstdlib>

namespace tkg {

namespace {
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }
}  // namespace

void install_stop_signals() {
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stop_signal);
}

bool stop_signal_received(int rank, int64_t epoch) {
  if (const char* e = std::getenv("TKG_SIGNAL_AT_EPOCH"); e && rank == 0 && std::atoll(e) == epoch) std::raise(SIGUSR1);
  return g_stop_signal != 0;
}

}  // namespace tkg
