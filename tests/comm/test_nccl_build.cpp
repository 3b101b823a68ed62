// The NCCL/CUDA translation unit links and its library answers; no GPU is needed for these calls.
#include <gtest/gtest.h>

#include <cstdlib>

#include "comm/comm_error.hpp"
#include "comm/nccl_comm.hpp"

TEST(NcclBuild, LibraryVersionIsAtLeast2_9) {
  int v = tkg::nccl_version_code();
  EXPECT_GE(v, 20900);
  std::string s = tkg::nccl_version_string();
  EXPECT_EQ(s.substr(0, 2), "2.");
}

TEST(NcclBuild, DeviceCountIsZeroWithNoVisibleGpu) {
  // Hidden before the CUDA runtime starts (no earlier test touches it): on any machine the count
  // is then 0, not an exception or garbage.
  ::setenv("CUDA_VISIBLE_DEVICES", "", 1);
  EXPECT_EQ(tkg::cuda_device_count(), 0);
}

#include "comm/nccl_communicator.hpp"

TEST(NcclBuild, CommunicatorNeedsAGpuAndSaysSo) {
  if (tkg::cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: covered by the GPU run (docs/gpu.md)";
  auto control = tkg::make_self_communicator();
  try {
    tkg::make_nccl_communicator(*control);
    FAIL() << "expected CommError without a GPU";
  } catch (const tkg::CommError& e) {
    EXPECT_NE(std::string(e.what()).find("needs a GPU"), std::string::npos) << e.what();
  }
}

TEST(NcclBuild, LocalRankFromEnvironment) {
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "3", 1);
  EXPECT_EQ(tkg::local_rank_from_env(0), 3);
  unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
  EXPECT_EQ(tkg::local_rank_from_env(7), 7);
}
