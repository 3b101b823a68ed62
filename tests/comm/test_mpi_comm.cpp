// Communicator (MPI backend) under mpirun with 2, 3, 4 ranks.
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <thread>

#include "comm/comm_error.hpp"
#include "common/error.hpp"

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
  const uint64_t calls = c.stats().calls, seq = c.sequence();
  c.barrier();
  EXPECT_EQ(c.stats().calls, calls + 1);
  EXPECT_EQ(c.sequence(), seq + 1);  // every collective is numbered, alike on every rank
  std::vector<int64_t> seqs = c.all_gather_one(static_cast<int64_t>(c.sequence()));
  for (int p = 0; p < P; ++p) EXPECT_EQ(seqs[p], seqs[0]) << "rank " << p;
}

// A fresh communicator for the failure tests: what they leave behind does not reach the others.
std::unique_ptr<tkg::Communicator> fresh(double timeout_s = 60) { return tkg::make_mpi_communicator(timeout_s); }

// Rank 0 sends rank 1 rows in a collective that rank 1 skips: the stray message is found when
// rank 1 finishes its next collective, and the error names both collectives.
TEST(MpiComm, SkippedCollectiveIsAnErrorNamingBoth) {
  auto c = fresh();
  const int P = c->size(), me = c->rank();
  if (P < 2) GTEST_SKIP() << "needs 2 ranks";
  std::vector<int64_t> sc(P, 0), rc(P, 0);
  std::vector<double> send(3, 1.5);
  if (me == 0) {
    sc[1] = 3;
    tkg::CollectiveSite site(*c, "test.fetch_backward");
    c->all_to_all_v(send.data(), sc, nullptr, rc, DType::kFloat64);
  }
  std::string msg;
  for (int k = 0; k < 3; ++k) {  // the error comes after a collective completes: every rank still joins each
    try {
      tkg::CollectiveSite site(*c, "test.loss_value");
      c->barrier();
    } catch (const tkg::CommError& e) {
      if (msg.empty()) msg = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (me == 1) {
    EXPECT_NE(msg.find("from rank 0 for its all_to_all_v #1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("finished barrier #1 from 'test.loss_value'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("out of order"), std::string::npos) << msg;
  } else {
    EXPECT_EQ(msg, "");
  }
}

// Counts that disagree: rank 1 expects fewer elements than rank 0 sends (truncation), then more
// (short message). Both are errors naming the collective and the peer, not a hang or garbage.
TEST(MpiComm, DisagreeingCountsAreAnError) {
  auto c = fresh();
  const int P = c->size(), me = c->rank();
  if (P < 2) GTEST_SKIP() << "needs 2 ranks";
  for (int64_t expect : {3, 7}) {
    std::vector<int64_t> sc(P, 0), rc(P, 0);
    if (me == 0) sc[1] = 5;
    if (me == 1) rc[0] = expect;
    std::vector<double> send(5, 2.0), recv(static_cast<size_t>(expect), 0.0);
    std::string msg;
    try {
      c->all_to_all_v(send.data(), sc, recv.data(), rc, DType::kFloat64);
    } catch (const tkg::CommError& e) {
      msg = e.what();
    }
    if (me == 1) {
      EXPECT_NE(msg.find("rank 1: all_to_all_v #"), std::string::npos) << msg;
      EXPECT_NE(msg.find("the message from rank 0"), std::string::npos) << msg;
      EXPECT_NE(msg.find("disagree on the counts"), std::string::npos) << msg;
      if (expect == 7) EXPECT_NE(msg.find("has 40 bytes where 56 bytes were expected"), std::string::npos) << msg;
    } else {
      EXPECT_EQ(msg, "");
    }
    c->barrier();
  }
}

// TKG_DEBUG_COLLECTIVES: a fingerprint is compared before each collective; a mismatch stops every
// rank alike, naming each rank's collective, counts and call site. Nothing moves before the check.
TEST(MpiComm, DebugFingerprintNamesTheMismatch) {
  auto c = fresh();
  c->set_debug_collectives(true);
  const int P = c->size(), me = c->rank();
  // Agreeing calls pass the check.
  c->barrier();
  EXPECT_EQ(c->all_reduce_sum(int64_t{1}), P);
  if (P < 2) GTEST_SKIP() << "a mismatch needs 2 ranks";
  // Rank 0 reduces while the others are at a barrier (an injected skip).
  std::string msg;
  try {
    if (me == 0) {
      tkg::CollectiveSite site(*c, "trainer.loss_value");
      double v = 1;
      c->all_reduce_sum(&v, 1);
    } else {
      tkg::CollectiveSite site(*c, "run.barrier");
      c->barrier();
    }
  } catch (const tkg::CommError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("TKG_DEBUG_COLLECTIVES: collective mismatch (different collectives)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rank 0 calls all_reduce_sum #3 (float64, n = 1) from 'trainer.loss_value'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rank 1 calls barrier #3 (uint8) from 'run.barrier'"), std::string::npos) << msg;
  // All-to-all-v counts that do not pair up: rank 0 sends 2 to rank 1, which expects none.
  std::vector<int64_t> sc(P, 0), rc(P, 0);
  if (me == 0) sc[1] = 2;
  std::vector<double> send(2, 0.0);
  msg.clear();
  try {
    tkg::CollectiveSite site(*c, "negative_fetch.backward");
    c->all_to_all_v(send.data(), sc, nullptr, rc, DType::kFloat64);
  } catch (const tkg::CommError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("rank 0 sends 2 elements to rank 1, which expects 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("from 'negative_fetch.backward'"), std::string::npos) << msg;
  c->set_debug_collectives(false);
  c->barrier();  // the communicator still works: nothing was posted before the check
}

// A started all-to-all-v: test() until done, wait(), the destructor completing an unfinished one,
// and another collective refused while one is in flight.
TEST(MpiComm, StartedExchange) {
  auto c = fresh();
  const int P = c->size(), me = c->rank();
  std::vector<int64_t> sc(P, 4), rc(P, 4);
  std::vector<double> send(static_cast<size_t>(4 * P)), recv(static_cast<size_t>(4 * P), -1);
  for (int p = 0; p < P; ++p)
    for (int k = 0; k < 4; ++k) send[4 * p + k] = value(me, p, k);
  auto check = [&] {
    for (int p = 0; p < P; ++p)
      for (int k = 0; k < 4; ++k) ASSERT_EQ(recv[4 * p + k], value(p, me, k)) << "from " << p;
  };
  {
    auto x = c->start_all_to_all_v(send.data(), sc, recv.data(), rc, DType::kFloat64);
    EXPECT_THROW(c->barrier(), tkg::InternalError);  // refused while in flight
    while (!x->test()) {
    }
    EXPECT_TRUE(x->test());
    x->wait();  // idempotent once done
    check();
  }
  c->barrier();  // allowed again
  std::fill(recv.begin(), recv.end(), -1);
  {
    auto x = c->start_all_to_all_v(send.data(), sc, recv.data(), rc, DType::kFloat64);
    x->wait();
    check();
  }
  std::fill(recv.begin(), recv.end(), -1);
  { auto x = c->start_all_to_all_v(send.data(), sc, recv.data(), rc, DType::kFloat64); }  // the destructor waits
  check();
  c->barrier();
}

// A peer that never joins: the wait ends at the deadline and the job-failure handler gets a
// message naming the collective and the missing rank (here it throws instead of aborting).
[[noreturn]] void throw_instead_of_abort(const std::string& message, int code) {
  throw std::runtime_error("handler(" + std::to_string(code) + "): " + message);
}

TEST(MpiComm, TimeoutNamesTheCollectiveAndTheMissingRank) {
  auto c = fresh(/*timeout_s=*/0.5);
  const int P = c->size(), me = c->rank();
  if (P < 2) GTEST_SKIP() << "needs 2 ranks";
  tkg::JobAbortHandler old = tkg::set_job_abort_handler(throw_instead_of_abort);
  std::string msg;
  // Rank 1 waits for a message from rank 0 that rank 0 sends only after rank 1's deadline.
  std::vector<int64_t> sc(P, 0), rc(P, 0);
  if (me == 0) sc[1] = 1;
  if (me == 1) rc[0] = 1;
  static std::vector<int64_t> box(1, 42), got(1, -1);  // outlive the abandoned receive
  if (me == 1) {
    try {
      tkg::CollectiveSite site(*c, "test.halo");
      c->all_to_all_v(box.data(), sc, got.data(), rc, DType::kInt64);
    } catch (const std::runtime_error& e) {
      msg = e.what();
    }
  }
  tkg::set_job_abort_handler(old);
  world().barrier();  // rank 1 has timed out
  if (me == 0) c->all_to_all_v(box.data(), sc, got.data(), rc, DType::kInt64);  // completes the abandoned receive
  if (me == 1) {
    EXPECT_NE(msg.find("handler(4): timeout: all_to_all_v #1 from 'test.halo'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no answer from rank 0"), std::string::npos) << msg;
  }
  world().barrier();
}
