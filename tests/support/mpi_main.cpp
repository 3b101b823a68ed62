// GoogleTest main for multi-rank tests: initialises MPI, silences the output of ranks other than
// 0, combines failures across ranks so every rank exits with the same status.
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
  MPI_Finalize();
  return failed_ranks ? 1 : 0;
}
