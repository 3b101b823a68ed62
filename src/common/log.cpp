#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

namespace tkg::log {

namespace {

int g_rank = -1;

spdlog::logger& logger() {
  // stderr, unbuffered, no colour codes (ranks' output is often a file or a pty of mpirun).
  static std::shared_ptr<spdlog::logger> l = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto lg = std::make_shared<spdlog::logger>("tkg", sink);
    lg->set_level(spdlog::level::info);
    lg->flush_on(spdlog::level::info);
    return lg;
  }();
  return *l;
}

void set_pattern() {
  logger().set_pattern(g_rank >= 0 ? "[rank " + std::to_string(g_rank) + "] [%l] %v" : std::string("[rank ?] [%l] %v"));
}

std::once_flag g_once;

spdlog::logger& ready() {
  std::call_once(g_once, set_pattern);
  return logger();
}

}  // namespace

void set_rank(int r) {
  g_rank = r;
  ready();        // the logger exists (and has its first pattern)
  set_pattern();  // now with the rank
}

int rank() { return g_rank; }

void info(const std::string& m) { ready().info(m); }
void warn(const std::string& m) { ready().warn(m); }
void error(const std::string& m) { ready().error(m); }

}  // namespace tkg::log
