#include "comm/communicator.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "comm/collective_check.hpp"
#include "comm/comm_error.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace tkg {

namespace {
JobAbortHandler g_abort_handler = nullptr;
}  // namespace

JobAbortHandler set_job_abort_handler(JobAbortHandler handler) {
  JobAbortHandler old = g_abort_handler;
  g_abort_handler = handler;
  return old;
}

void fail_job(int rank, const std::string& message) {
  if (g_abort_handler) g_abort_handler(message, kExitCommFailure);  // prints "[rank R] message", aborts all ranks
  if (log::rank() < 0) log::set_rank(rank);
  log::error(message);
  std::exit(kExitCommFailure);
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kInt64: return "int64";
    case DType::kUInt8: return "uint8";
    case DType::kUInt16: return "16-bit";
  }
  return "?";
}

const char* collective_name(Collective c) {
  switch (c) {
    case Collective::kAllToAllV: return "all_to_all_v";
    case Collective::kAllToAllVStarted: return "all_to_all_v (started)";
    case Collective::kAllGatherV: return "all_gather_v";
    case Collective::kAllReduceSum: return "all_reduce_sum";
    case Collective::kAllReduceMax: return "all_reduce_max";
    case Collective::kBroadcast: return "broadcast";
    case Collective::kBarrier: return "barrier";
  }
  return "unknown collective";
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

Communicator::Communicator() {
  const char* e = std::getenv("TKG_DEBUG_COLLECTIVES");
  debug_ = e && *e && std::strcmp(e, "0") != 0;
}

std::string Communicator::set_site(std::string site) {
  std::swap(site, site_);
  return site;
}

std::string Communicator::describe(Collective kind, uint64_t seq) const {
  return std::string(collective_name(kind)) + " #" + std::to_string(seq) + " from '" +
         (site_.empty() ? "(no site)" : site_) + "'";
}

uint64_t Communicator::enter(Collective kind, DType type, const std::vector<int64_t>* send_counts,
                             const std::vector<int64_t>* recv_counts, int64_t n, int root) {
  const uint64_t seq = ++seq_;
  if (!debug_) return seq;
  const int P = size();
  CollectiveCall c;
  c.kind = kind;
  c.type = type;
  c.seq = seq;
  c.n = n;
  c.root = root;
  c.site = site_;
  if (send_counts) c.send = *send_counts;
  if (recv_counts) c.recv = *recv_counts;
  const int64_t fb = fingerprint_bytes(P);
  std::vector<uint8_t> mine = encode_fingerprint(c, P), all(static_cast<size_t>(fb * P));
  gather_fingerprints(mine.data(), fb, all.data());
  std::vector<CollectiveCall> calls;
  for (int p = 0; p < P; ++p) calls.push_back(decode_fingerprint(all.data() + p * fb, P));
  const std::string bad = compare_fingerprints(calls);
  // Every rank saw the same fingerprints, so every rank throws here alike.
  if (!bad.empty()) throw CommError("TKG_DEBUG_COLLECTIVES: " + bad);
  return seq;
}

void Communicator::gather_fingerprints(const void* mine, int64_t bytes, void* all) {
  TKG_CHECK(size() == 1, "gather_fingerprints: a backend with peers must implement it");
  std::memcpy(all, mine, static_cast<size_t>(bytes));
}

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
    enter(Collective::kAllToAllV, t, &sc, &rc, 0);
    TKG_CHECK(sc.size() == 1 && rc.size() == 1 && sc[0] == rc[0] && sc[0] >= 0, "self all_to_all_v counts");
    if (sc[0] && send != recv) std::memcpy(recv, send, static_cast<size_t>(sc[0]) * dtype_size(t));
    ++stats_.calls;
  }
  void all_gather_v(const void* send, int64_t count, void* recv, const std::vector<int64_t>& rc, DType t) override {
    enter(Collective::kAllGatherV, t, nullptr, &rc, count);
    TKG_CHECK(rc.size() == 1 && rc[0] == count && count >= 0, "self all_gather_v counts");
    if (count && send != recv) std::memcpy(recv, send, static_cast<size_t>(count) * dtype_size(t));
    ++stats_.calls;
  }
  void all_reduce_sum(double*, int64_t n) override {
    enter(Collective::kAllReduceSum, DType::kFloat64, nullptr, nullptr, n);
    ++stats_.calls;
  }
  void all_reduce_sum(int64_t*, int64_t n) override {
    enter(Collective::kAllReduceSum, DType::kInt64, nullptr, nullptr, n);
    ++stats_.calls;
  }
  void all_reduce_max(double*, int64_t n) override {
    enter(Collective::kAllReduceMax, DType::kFloat64, nullptr, nullptr, n);
    ++stats_.calls;
  }
  void broadcast(void*, int64_t bytes, int root) override {
    enter(Collective::kBroadcast, DType::kUInt8, nullptr, nullptr, bytes, root);
    TKG_CHECK(root == 0, "root out of range");
  }
  void barrier() override { enter(Collective::kBarrier, DType::kUInt8, nullptr, nullptr, 0); }
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
