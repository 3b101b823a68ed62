// The NCCL/CUDA translation unit links and its library answers; no GPU is needed for these calls.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "comm/comm_error.hpp"
#include "comm/nccl_comm.hpp"

TEST(NcclBuild, LibraryVersionIsAtLeast2_9) {
  int v = tkg::nccl_version_code();
  EXPECT_GE(v, 20900);
  std::string s = tkg::nccl_version_string();
  EXPECT_EQ(s.substr(0, 2), "2.");
}

// Each check that depends on the CUDA runtime's view of the machine runs in a fresh child
// process (a death test re-executed in "threadsafe" style), with CUDA_VISIBLE_DEVICES hidden before
// the runtime starts there: the result does not depend on test order or on this machine's GPUs.
class NcclBuildChild : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(NcclBuildChild, DeviceCountIsZeroWithNoVisibleGpu) {
  EXPECT_EXIT(
      {
        ::setenv("CUDA_VISIBLE_DEVICES", "", 1);
        std::exit(tkg::cuda_device_count() == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

#include "comm/nccl_communicator.hpp"

TEST_F(NcclBuildChild, CommunicatorNeedsAGpuAndSaysSo) {
  EXPECT_EXIT(
      {
        ::setenv("CUDA_VISIBLE_DEVICES", "", 1);
        auto control = tkg::make_self_communicator();
        try {
          tkg::make_nccl_communicator(*control);
        } catch (const tkg::CommError& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::exit(std::string(e.what()).find("needs a GPU") != std::string::npos ? 0 : 2);
        }
        std::exit(3);  // no error without a GPU
      },
      ::testing::ExitedWithCode(0), "needs a GPU");
}
