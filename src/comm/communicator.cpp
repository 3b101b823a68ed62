#include "comm/communicator.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace tkg {

namespace {
JobAbortHandler g_abort_handler = nullptr;
}  // namespace

void set_job_abort_handler(JobAbortHandler handler) { g_abort_handler = handler; }

void fail_job(int rank, const std::string& message) {
  if (g_abort_handler) g_abort_handler(message, kExitCommFailure);  // prints "[rank R] message", aborts all ranks
  std::fprintf(stderr, "[rank %d] %s\n", rank, message.c_str());
  std::fflush(stderr);
  std::exit(kExitCommFailure);
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kFloat64: return 8;
    case DType::kInt64: return 8;
    case DType::kUInt8: return 1;
    case DType::kUInt16: return 2;
  }
  return 0;
}

namespace {
}  // namespace

Communicator::CollectiveTimer::CollectiveTimer(CommStats& s) : stats_(s), start_(now_s()) {}
Communicator::CollectiveTimer::~CollectiveTimer() {
  stats_.seconds += now_s() - start_;
  ++stats_.calls;
}

std::vector<int64_t> Communicator::all_gather_one(int64_t v) {
  std::vector<int64_t> out(static_cast<size_t>(size()));
  std::vector<int64_t> counts(static_cast<size_t>(size()), 1);
  all_gather_v(&v, 1, out.data(), counts, DType::kInt64);
  return out;
}

namespace {

class CompletedExchange : public PendingExchange {
 public:
  bool test() override { return true; }
  void wait() override {}
};

}  // namespace

std::unique_ptr<PendingExchange> Communicator::start_all_to_all_v(const void* send, const std::vector<int64_t>& send_counts,
                                                                  void* recv, const std::vector<int64_t>& recv_counts,
                                                                  DType type) {
  all_to_all_v(send, send_counts, recv, recv_counts, type);
  return std::make_unique<CompletedExchange>();
}

namespace {

class SelfCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "self"; }
  void all_to_all_v(const void* send, const std::vector<int64_t>& sc, void* recv, const std::vector<int64_t>& rc,
                    DType t) override {
    TKG_CHECK(sc.size() == 1 && rc.size() == 1 && sc[0] == rc[0], "self all_to_all_v counts");
    if (sc[0] && send != recv) std::memcpy(recv, send, static_cast<size_t>(sc[0]) * dtype_size(t));
    ++stats_.calls;
  }
  void all_gather_v(const void* send, int64_t count, void* recv, const std::vector<int64_t>& rc, DType t) override {
    TKG_CHECK(rc.size() == 1 && rc[0] == count, "self all_gather_v counts");
    if (count && send != recv) std::memcpy(recv, send, static_cast<size_t>(count) * dtype_size(t));
    ++stats_.calls;
  }
  void all_reduce_sum(double*, int64_t) override { ++stats_.calls; }
  void all_reduce_sum(int64_t*, int64_t) override { ++stats_.calls; }
  void all_reduce_max(double*, int64_t) override { ++stats_.calls; }
  void broadcast(void*, int64_t, int root) override { TKG_CHECK(root == 0, "root out of range"); }
  void barrier() override {}
};

}  // namespace

std::unique_ptr<Communicator> make_self_communicator() { return std::make_unique<SelfCommunicator>(); }

int local_rank_from_env(int fallback) {
  // The launcher that started this process first: under mpirun inside a Slurm allocation every
  // rank inherits the batch step's SLURM_LOCALID (0), so it must not win over Open MPI's or
  // MPICH's own local rank. TKG_LOCAL_RANK (launch/bind-device.sh, same order) overrides all.
  for (const char* v : {"TKG_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* s = std::getenv(v)) return std::atoi(s);
  return fallback;
}

}  // namespace tkg
