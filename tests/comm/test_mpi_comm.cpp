// Communicator (MPI backend) under mpirun with 2, 3, 4 ranks.
#include <gtest/gtest.h>

#include <numeric>

#include "../support/mpi_fixture.hpp"

using tkg::DType;
using tkg::testing::world;

namespace {

// Element sent from rank s to rank r, k-th of that message.
double value(int s, int r, int64_t k) { return s * 1e6 + r * 1e3 + static_cast<double>(k % 997); }

void check_all_to_all(const std::function<int64_t(int, int)>& count) {
  auto& c = world();
  const int P = c.size(), me = c.rank();
  std::vector<int64_t> sc(P), rc(P);
  for (int p = 0; p < P; ++p) sc[p] = count(me, p), rc[p] = count(p, me);
  std::vector<double> send, recv(static_cast<size_t>(std::accumulate(rc.begin(), rc.end(), int64_t{0})), -1);
  for (int p = 0; p < P; ++p)
    for (int64_t k = 0; k < sc[p]; ++k) send.push_back(value(me, p, k));
  c.all_to_all_v(send.data(), sc, recv.data(), rc, DType::kFloat64);
  int64_t o = 0;
  for (int p = 0; p < P; ++p)
    for (int64_t k = 0; k < rc[p]; ++k, ++o) ASSERT_EQ(recv[o], value(p, me, k)) << "from " << p << " k " << k;
}

}  // namespace

TEST(MpiComm, AllToAllVUnevenCounts) {
  check_all_to_all([](int s, int r) { return static_cast<int64_t>(1 + 3 * s + 7 * r); });
}

TEST(MpiComm, AllToAllVWithEmptyPeers) {
  // Only even ranks send, and nothing to rank 1; zero-count calls still complete.
  check_all_to_all([](int s, int r) { return (s % 2 == 0 && r != 1) ? int64_t{5} : int64_t{0}; });
  check_all_to_all([](int, int) { return int64_t{0}; });
}

TEST(MpiComm, LargeCountsAreChunked) {
  tkg::set_mpi_max_message_bytes(4096);  // forces ~200 chunks per peer below
  check_all_to_all([](int s, int r) { return static_cast<int64_t>(100000 + s - r); });
  tkg::set_mpi_max_message_bytes(int64_t{1} << 30);
}

TEST(MpiComm, AllGatherVAndReductions) {
  auto& c = world();
  const int P = c.size(), me = c.rank();
  std::vector<int64_t> counts(P);
  for (int p = 0; p < P; ++p) counts[p] = p;  // rank 0 contributes nothing
  std::vector<int64_t> mine(me, me), all(static_cast<size_t>(P * (P - 1) / 2), -1);
  c.all_gather_v(mine.data(), me, all.data(), counts, DType::kInt64);
  int64_t o = 0;
  for (int p = 0; p < P; ++p)
    for (int k = 0; k < p; ++k) EXPECT_EQ(all[o++], p);
  EXPECT_EQ(c.all_reduce_sum(static_cast<int64_t>(me + 1)), static_cast<int64_t>(P * (P + 1) / 2));
  EXPECT_DOUBLE_EQ(c.all_reduce_max(static_cast<double>(me)), static_cast<double>(P - 1));
  std::vector<int64_t> g = c.all_gather_one(10 * me);
  for (int p = 0; p < P; ++p) EXPECT_EQ(g[p], 10 * p);
  char buf[6] = "00000";
  if (me == P - 1) std::snprintf(buf, sizeof buf, "hello");
  c.broadcast(buf, 5, P - 1);
  EXPECT_EQ(std::string(buf, 5), "hello");
  c.barrier();
  EXPECT_GT(c.stats().calls, 0u);
}
