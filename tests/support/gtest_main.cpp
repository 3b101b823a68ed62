// GoogleTest main for single-process tests: exits with kSkipExitCode (77, CTest's SKIP_RETURN_CODE)
// when every test that ran was skipped, so a GPU test on a CPU machine shows as skipped, not passed.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  const ::testing::UnitTest& u = *::testing::UnitTest::GetInstance();
  if (rc == 0 && u.test_to_run_count() > 0 && u.skipped_test_count() == u.test_to_run_count()) return 77;
  return rc;
}
