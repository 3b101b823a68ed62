#include "common/cpu_threads.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace tkg {

namespace {

// A positive integer from the environment, else 0.
int env_count(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return end && *end == '\0' && n > 0 && n < (1 << 20) ? static_cast<int>(n) : 0;
}

}  // namespace

int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

int node_cpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

ThreadChoice choose_threads(int configured, int local_ranks) {
  if (configured > 0) return {configured, "train.threads"};
  if (int n = env_count("OMP_NUM_THREADS")) return {n, "OMP_NUM_THREADS"};
  if (int n = env_count("SLURM_CPUS_PER_TASK")) return {n, "SLURM_CPUS_PER_TASK"};
  const int node = node_cpus(), mask = affinity_cpus();
  if (mask > 0 && mask < node) return {mask, "affinity mask"};
  return {std::max(1, node / std::max(1, local_ranks)), "node cores / local ranks"};
}

}  // namespace tkg
