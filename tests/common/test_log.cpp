// Log lines carry the rank and the level, and reach stderr at once.
#include "common/log.hpp"

#include <gtest/gtest.h>

TEST(Log, LinesCarryRankAndLevel) {
  ::testing::internal::CaptureStderr();
  tkg::log::warn("before the rank is known");
  tkg::log::set_rank(3);
  tkg::log::error("timeout: something");
  tkg::log::info("hello");
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("[rank ?] [warning] before the rank is known\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[rank 3] [error] timeout: something\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[rank 3] [info] hello\n"), std::string::npos) << out;
  EXPECT_EQ(tkg::log::rank(), 3);
}
