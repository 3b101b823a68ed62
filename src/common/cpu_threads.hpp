// How many intra-op threads a rank uses by default, and why. A rank must not take the whole node
// when it was given a share of it: a 1-CPU-per-task job on a 64-core node would otherwise run 64
// threads per rank, and the P = 1 baseline of a strong-scaling study would use the whole node.
#pragma once

#include <string>

namespace tkg {

struct ThreadChoice {
  int threads = 1;
  std::string source;  // train.threads | OMP_NUM_THREADS | SLURM_CPUS_PER_TASK | affinity mask | node cores / local ranks
};

// In order: `configured` (train.threads) if > 0; OMP_NUM_THREADS (exported by launch/tkg-run and
// the sbatch scripts); SLURM_CPUS_PER_TASK; the CPUs of this process's affinity mask when it is
// bound to part of the node; else the node's CPUs divided among the `local_ranks` on it.
ThreadChoice choose_threads(int configured, int local_ranks);

// CPUs in this process's affinity mask (0 if it cannot be read) and the node's online CPUs.
int affinity_cpus();
int node_cpus();

}  // namespace tkg
