#include "common/cpu_threads.hpp"

#include <gtest/gtest.h>

#include <sched.h>

#include <cstdlib>

#include "comm/communicator.hpp"

namespace {

// Sets (or, with nullptr, unsets) an environment variable for the scope, restoring it after.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~EnvVar() {
    if (had_) setenv(name_, old_.c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

}  // namespace

TEST(CpuThreads, ConfiguredThenOmpThenSlurmThenMask) {
  EnvVar omp("OMP_NUM_THREADS", "3"), slurm("SLURM_CPUS_PER_TASK", "5");
  EXPECT_EQ(tkg::choose_threads(7, 1).threads, 7);
  EXPECT_EQ(tkg::choose_threads(7, 1).source, "train.threads");
  EXPECT_EQ(tkg::choose_threads(0, 1).threads, 3);
  EXPECT_EQ(tkg::choose_threads(0, 1).source, "OMP_NUM_THREADS");
  {
    EnvVar no_omp("OMP_NUM_THREADS", nullptr);
    EXPECT_EQ(tkg::choose_threads(0, 1).threads, 5);
    EXPECT_EQ(tkg::choose_threads(0, 1).source, "SLURM_CPUS_PER_TASK");
    EnvVar no_slurm("SLURM_CPUS_PER_TASK", nullptr);
    tkg::ThreadChoice c = tkg::choose_threads(0, 2);
    if (tkg::affinity_cpus() < tkg::node_cpus()) {
      EXPECT_EQ(c.threads, tkg::affinity_cpus());
      EXPECT_EQ(c.source, "affinity mask");
    } else {
      EXPECT_EQ(c.threads, std::max(1, tkg::node_cpus() / 2));
      EXPECT_EQ(c.source, "node cores / local ranks");
    }
  }
  EnvVar bad("OMP_NUM_THREADS", "4x");  // not a count: ignored
  EXPECT_EQ(tkg::choose_threads(0, 1).source, "SLURM_CPUS_PER_TASK");
}

// The mask the process is bound to decides, as a launcher's binding would: bound to one CPU, the
// count is 1 and a rank without an explicit choice takes 1 thread from the mask; the old mask is
// restored after.
TEST(CpuThreads, AffinityMaskIsReadAndChosen) {
  cpu_set_t old;
  CPU_ZERO(&old);
  ASSERT_EQ(sched_getaffinity(0, sizeof old, &old), 0);
  EXPECT_EQ(tkg::affinity_cpus(), CPU_COUNT(&old));
  EXPECT_LE(tkg::affinity_cpus(), tkg::node_cpus());
  int first = 0;
  while (!CPU_ISSET(first, &old)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const int bound = tkg::affinity_cpus();
  EnvVar omp("OMP_NUM_THREADS", nullptr), slurm("SLURM_CPUS_PER_TASK", nullptr);
  const tkg::ThreadChoice c = tkg::choose_threads(0, 1);
  ASSERT_EQ(sched_setaffinity(0, sizeof old, &old), 0);
  EXPECT_EQ(bound, 1);
  if (tkg::node_cpus() > 1) {
    EXPECT_EQ(c.threads, 1);
    EXPECT_EQ(c.source, "affinity mask");
  }
  EXPECT_EQ(tkg::affinity_cpus(), CPU_COUNT(&old));
}

TEST(LocalRank, LauncherVariableBeatsInheritedSlurmLocalId) {
  EnvVar tkg_lr("TKG_LOCAL_RANK", nullptr), mpich("MPI_LOCALRANKID", nullptr);
  EnvVar slurm("SLURM_LOCALID", "0"), ompi("OMPI_COMM_WORLD_LOCAL_RANK", "3");
  EXPECT_EQ(tkg::local_rank_from_env(9), 3);  // mpirun inside an allocation
  {
    EnvVar no_ompi("OMPI_COMM_WORLD_LOCAL_RANK", nullptr);
    EXPECT_EQ(tkg::local_rank_from_env(9), 0);  // srun: SLURM_LOCALID is the launcher's own
    EnvVar no_slurm("SLURM_LOCALID", nullptr);
    EXPECT_EQ(tkg::local_rank_from_env(9), 9);  // nothing set: the shared-memory split
  }
  EnvVar explicit_lr("TKG_LOCAL_RANK", "2");
  EXPECT_EQ(tkg::local_rank_from_env(9), 2);
}
