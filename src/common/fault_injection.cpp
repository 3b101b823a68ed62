#include "common/fault_injection.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "common/log.hpp"

namespace tkg {

namespace {

struct Spec {
  bool active = false;
  std::string action, where;
  int rank = -1;
  bool fired = false;
};

Spec& spec() {
  static Spec s = [] {
    Spec r;
    const char* e = std::getenv("TKG_FAULT_INJECT");
    if (!e || !*e) return r;
    std::string v(e);
    const auto colon = v.rfind(':');
    if (colon == std::string::npos) return r;
    std::string head = v.substr(0, colon);
    r.rank = std::atoi(v.c_str() + colon + 1);
    const auto at = head.find('@');
    r.action = head.substr(0, at);
    r.where = at == std::string::npos ? "start" : head.substr(at + 1);
    r.active = true;
    return r;
  }();
  return s;
}

}  // namespace

void fault_point(const char* where, int rank) {
  Spec& s = spec();
  if (!s.active || s.fired || s.rank != rank || s.where != where) return;
  s.fired = true;
  log::warn("TKG_FAULT_INJECT: " + s.action + " at " + where);
  std::fflush(stderr);
  if (s.action == "die") ::kill(::getpid(), SIGKILL);
  if (s.action == "stall") std::this_thread::sleep_for(std::chrono::hours(1));
  if (s.action == "fail") throw InternalError(std::string("injected failure at ") + where + " (TKG_FAULT_INJECT)");
}

}  // namespace tkg
