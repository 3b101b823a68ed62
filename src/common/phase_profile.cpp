#include "common/phase_profile.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "common/clock.hpp"

namespace tkg::profile {

namespace {

struct Table {
  std::mutex mu;
  std::vector<Entry> e;
  bool on = [] {
    const char* v = std::getenv("TKG_PROFILE");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
};

Table& table() {
  static Table t;
  return t;
}

}  // namespace

bool enabled() { return table().on; }
void set_enabled(bool on) { table().on = on; }

std::vector<Entry> entries() {
  std::lock_guard<std::mutex> g(table().mu);
  return table().e;
}

void reset() {
  std::lock_guard<std::mutex> g(table().mu);
  table().e.clear();
}

std::string report(double per, const char* unit) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %10s %12s %8s\n", "phase", "total s", (std::string("s/") + unit).c_str(), "calls");
  out += line;
  for (const Entry& x : entries()) {
    std::snprintf(line, sizeof line, "%-28s %10.3f %12.5f %8lld\n", x.name, x.seconds, per > 0 ? x.seconds / per : 0.0,
                  static_cast<long long>(x.calls));
    out += line;
  }
  return out;
}

Scope::Scope(const char* name) {
  Table& t = table();
  if (!t.on) return;
  std::lock_guard<std::mutex> g(t.mu);
  for (size_t k = 0; k < t.e.size(); ++k)
    if (t.e[k].name == name || std::strcmp(t.e[k].name, name) == 0) {
      slot_ = static_cast<int>(k);
      break;
    }
  if (slot_ < 0) {
    t.e.push_back(Entry{name, 0.0, 0});
    slot_ = static_cast<int>(t.e.size()) - 1;
  }
  t0_ = now_s();
}

Scope::~Scope() {
  if (slot_ < 0) return;
  const double dt = now_s() - t0_;
  Table& t = table();
  std::lock_guard<std::mutex> g(t.mu);
  t.e[slot_].seconds += dt;
  t.e[slot_].calls += 1;
}

}  // namespace tkg::profile
