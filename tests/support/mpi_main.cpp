// GoogleTest main for multi-rank tests: initialises MPI, silences the output of ranks other than
// 0, combines failures across ranks so every rank exits with the same status (77 when every
// test was skipped everywhere: CTest shows it as skipped).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (rank != 0) delete listeners.Release(listeners.default_result_printer());
  int local_fail = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int failed_ranks = 0;
  MPI_Allreduce(&local_fail, &failed_ranks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (local_fail && rank != 0) std::fprintf(stderr, "rank %d had failures\n", rank);
  if (rank == 0) std::printf("%d of %d ranks failed\n", failed_ranks, size);
  // Every test skipped on every rank (e.g. GPU tests on a CPU machine): CTest's SKIP_RETURN_CODE.
  const ::testing::UnitTest& u = *::testing::UnitTest::GetInstance();
  int all_skipped = u.test_to_run_count() > 0 && u.skipped_test_count() == u.test_to_run_count() ? 1 : 0, every = 0;
  MPI_Allreduce(&all_skipped, &every, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Finalize();
  if (failed_ranks) return 1;
  return every ? 77 : 0;
}
