#include "common/memory.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "common/log.hpp"

namespace tkg {

namespace {

// "Key:   12345 kB" from /proc/meminfo, in bytes; -1 if absent.
int64_t meminfo(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size() + 1, key + ":") != 0) continue;
    std::istringstream s(line.substr(key.size() + 1));
    int64_t kb = -1;
    s >> kb;
    return kb < 0 ? -1 : kb * 1024;
  }
  return -1;
}

// A number from a one-line file ("max" and unreadable files give -1).
int64_t read_number(const std::string& path) {
  std::ifstream in(path);
  std::string v;
  if (!(in >> v) || v == "max") return -1;
  try {
    return std::stoll(v);
  } catch (const std::exception&) {
    return -1;
  }
}

// Bytes the cgroup still allows, or -1 when it sets no limit (v2 first, then v1).
int64_t cgroup_headroom() {
  for (auto [limit, usage] : {std::pair<const char*, const char*>{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
                              {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const int64_t l = read_number(limit), u = read_number(usage);
    if (l > 0 && l < (int64_t{1} << 60) && u >= 0) return std::max<int64_t>(0, l - u);
  }
  return -1;
}

}  // namespace

int64_t current_rss_bytes() {
  std::ifstream in("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return -1;
  return resident * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
}

int64_t peak_rss_bytes() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;  // Linux: KiB
}

int64_t available_memory_bytes() {
  int64_t avail = meminfo("MemAvailable");
  if (const char* v = std::getenv("TKG_MEMORY_AVAILABLE_MB")) {
    try {
      avail = static_cast<int64_t>(std::stod(v) * 1048576.0);
    } catch (const std::exception&) {
    }
  }
  const int64_t cg = cgroup_headroom();
  if (cg >= 0) avail = avail < 0 ? cg : std::min(avail, cg);
  if (avail < 0) return -1;
  return avail + std::max<int64_t>(0, current_rss_bytes());
}

int64_t total_memory_bytes() { return meminfo("MemTotal"); }

void tune_allocator() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_")) return;
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

void memory_mark(const char* where) {
  static const bool on = [] {
    const char* v = std::getenv("TKG_MEMORY_TRACE");
    return v && *v && std::string(v) != "0";
  }();
  if (!on) return;
  char line[160];
  std::snprintf(line, sizeof line, "memory at %s: rss %.0f MiB, peak %.0f MiB", where, current_rss_bytes() / 1048576.0,
                peak_rss_bytes() / 1048576.0);
  log::info(line);
}

}  // namespace tkg
