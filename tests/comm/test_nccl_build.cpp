// The NCCL/CUDA translation unit links and its library answers; no GPU is needed for these calls.
#include <gtest/gtest.h>

#include "comm/nccl_comm.hpp"

TEST(NcclBuild, LibraryVersionIsAtLeast2_9) {
  int v = tkg::nccl_version_code();
  EXPECT_GE(v, 20900);
  std::string s = tkg::nccl_version_string();
  EXPECT_EQ(s.substr(0, 2), "2.");
}

TEST(NcclBuild, DeviceCountDoesNotThrowWithoutGpu) {
  int n = tkg::cuda_device_count();
  EXPECT_GE(n, 0);
}
