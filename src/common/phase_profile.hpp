// Where the time of a run goes, by named phase (TKG_PROFILE=1 in the environment, or
// train.profile = true): scoped timers add wall seconds and call counts to a process-wide table,
// printed at the end of the run. Off, a scope costs one branch. Phases nest (a parent's time
// includes its children's); names are string literals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tkg::profile {

bool enabled();
void set_enabled(bool on);

struct Entry {
  const char* name;
  double seconds;
  int64_t calls;
};
std::vector<Entry> entries();  // in order of first use
void reset();
// One line per phase: name, total seconds, seconds per `per` units (e.g. epochs), calls.
std::string report(double per, const char* unit);

class Scope {
 public:
  explicit Scope(const char* name);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  int slot_ = -1;
  double t0_ = 0;
};

}  // namespace tkg::profile
