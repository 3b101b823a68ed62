#include "comm/mpi_comm.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "comm/comm_error.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace tkg {

namespace {

int64_t g_max_message_bytes = int64_t{1} << 30;  // < INT_MAX: MPI counts are int

std::string mpi_error_string(int code) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) return "unknown MPI error " + std::to_string(code);
  return std::string(buf, static_cast<size_t>(len));
}

int world_rank_or_minus1() {
  int init = 0, rank = -1;
  MPI_Initialized(&init);
  if (init) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

}  // namespace

#define TKG_MPI_CHECK(call)                                                                               \
  do {                                                                                                    \
    int tkg_rc_ = (call);                                                                                 \
    if (tkg_rc_ != MPI_SUCCESS)                                                                           \
      throw CommError("rank " + std::to_string(world_rank_or_minus1()) + ": " #call " failed: " +        \
                      mpi_error_string(tkg_rc_));                                                         \
  } while (0)

MpiSession::MpiSession(int* argc, char*** argv) {
  // MPI calls come from one thread at a time, but not always the main one: on a GPU the autograd
  // engine runs the backward exchanges on its device thread. Hence SERIALIZED.
  int provided = 0;
  TKG_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided));
  thread_level_ = provided;
  set_job_abort_handler([](const std::string& message, int code) { mpi_abort_job(message, code); });
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  TKG_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  TKG_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  log::set_rank(rank_);
}

MpiSession::~MpiSession() {
  // Bounded and never throwing: every rank first meets in a barrier with a deadline; a rank that
  // never arrives (dead or stuck) would make MPI_Finalize wait forever, so the job is aborted.
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  MPI_Request req;
  if (MPI_Ibarrier(MPI_COMM_WORLD, &req) == MPI_SUCCESS) {
    const auto start = std::chrono::steady_clock::now();
    for (int spins = 0;; ++spins) {
      int done = 0;
      if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
      if (done) break;
      if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(200));
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > finalize_timeout_s_) {
        log::error("timeout: MPI_Finalize's barrier did not complete within " + std::to_string(finalize_timeout_s_) +
                   " s (a rank did not finish); aborting the job");
        MPI_Abort(MPI_COMM_WORLD, kExitCommFailure);
      }
    }
  }
  MPI_Finalize();
}

std::string MpiSession::library_version() const {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  if (MPI_Get_library_version(buf, &len) != MPI_SUCCESS) return "unknown";
  std::string v(buf, static_cast<size_t>(len));
  return v.substr(0, v.find_first_of("\n,"));
}

bool MpiSession::serialized() const { return thread_level_ >= MPI_THREAD_SERIALIZED; }

std::string MpiSession::thread_level_name() const {
  switch (thread_level_) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
    default: return "level " + std::to_string(thread_level_);
  }
}

void mpi_abort_job(const std::string& message, int code) {
  int rank = world_rank_or_minus1();
  if (log::rank() < 0) log::set_rank(rank);
  log::error(message);
  int init = 0;
  MPI_Initialized(&init);
  if (init) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

void set_mpi_max_message_bytes(int64_t bytes) { g_max_message_bytes = std::max<int64_t>(1, bytes); }

namespace {

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_s) : timeout_s_(timeout_s) {
    // Creation is bounded too: the duplicate and the node split are non-blocking calls waited on
    // with the deadline (a rank that never arrives ends the job instead of hanging it here).
    MPI_Request req;
    TKG_MPI_CHECK(MPI_Comm_idup(MPI_COMM_WORLD, &comm_, &req));
    std::vector<MPI_Request> reqs{req};
    wait_raw(reqs, "MPI_Comm_idup (creating the communicator)");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    TKG_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
    TKG_MPI_CHECK(MPI_Comm_size(comm_, &size_));
    int* ub = nullptr;
    int flag = 0;
    TKG_MPI_CHECK(MPI_Comm_get_attr(comm_, MPI_TAG_UB, &ub, &flag));
    const int64_t tag_ub = flag && ub ? *ub : 32767;  // the standard's minimum
    seq_mod_ = (tag_ub + 1) >> kKindBits;
    // Ranks on this node: processor names all-gathered (MPI_COMM_TYPE_SHARED has no non-blocking split).
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    int len = 0;
    TKG_MPI_CHECK(MPI_Get_processor_name(name, &len));
    std::vector<char> all(static_cast<size_t>(size_) * MPI_MAX_PROCESSOR_NAME);
    TKG_MPI_CHECK(MPI_Iallgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
                                 comm_, &req));
    reqs = {req};
    wait_raw(reqs, "MPI_Iallgather (ranks per node)");
    local_rank_ = local_size_ = 0;
    for (int p = 0; p < size_; ++p) {
      if (std::strncmp(all.data() + static_cast<size_t>(p) * MPI_MAX_PROCESSOR_NAME, name, MPI_MAX_PROCESSOR_NAME) != 0) continue;
      if (p < rank_) ++local_rank_;
      ++local_size_;
    }
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);  // local: marks it for freeing, never throws
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }

  void all_to_all_v(const void* send, const std::vector<int64_t>& sc, void* recv, const std::vector<int64_t>& rc,
                    DType t) override {
    require_idle();
    check_counts(sc, rc, "all_to_all_v");
    const Call call{Collective::kAllToAllV, enter(Collective::kAllToAllV, t, &sc, &rc, 0)};
    CollectiveTimer timer(stats_);
    Requests q = post_all_to_all_v(send, sc, recv, rc, t, call);
    wait_all(q, call, "MPI_Isend/MPI_Irecv");
  }

  std::unique_ptr<PendingExchange> start_all_to_all_v(const void* send, const std::vector<int64_t>& sc, void* recv,
                                                      const std::vector<int64_t>& rc, DType t) override {
    require_idle();
    check_counts(sc, rc, "all_to_all_v (started)");
    const Call call{Collective::kAllToAllVStarted, enter(Collective::kAllToAllVStarted, t, &sc, &rc, 0)};
    Requests q;
    {
      CollectiveTimer timer(stats_);
      q = post_all_to_all_v(send, sc, recv, rc, t, call);
    }
    return std::make_unique<Pending>(*this, std::move(q), call);
  }

  void all_gather_v(const void* send, int64_t count, void* recv, const std::vector<int64_t>& rc, DType t) override {
    require_idle();
    TKG_CHECK(static_cast<int>(rc.size()) == size_ && rc[rank_] == count, "all_gather_v counts: " << rc.size()
              << " entries for " << size_ << " ranks, own block " << count);
    for (int64_t c : rc) TKG_CHECK(c >= 0, "all_gather_v: negative count " << c);
    const Call call{Collective::kAllGatherV, enter(Collective::kAllGatherV, t, nullptr, &rc, count)};
    // An all-gather is an all-to-all-v in which every peer receives the same block.
    const size_t es = dtype_size(t);
    CollectiveTimer timer(stats_);
    std::vector<int64_t> roff(size_ + 1, 0);
    for (int p = 0; p < size_; ++p) roff[p + 1] = roff[p] + rc[p];
    Requests q;
    char* r = static_cast<char*>(recv);
    for (int p = 0; p < size_; ++p)
      if (p != rank_) post_chunks(r + roff[p] * es, rc[p] * static_cast<int64_t>(es), p, false, call, q);
    for (int p = 0; p < size_; ++p)
      if (p != rank_) {
        post_chunks(static_cast<char*>(const_cast<void*>(send)), count * static_cast<int64_t>(es), p, true, call, q);
        count_sent(static_cast<uint64_t>(count) * es);
      }
    if (count) std::memmove(r + roff[rank_] * es, send, static_cast<size_t>(count) * es);
    wait_all(q, call, "MPI_Isend/MPI_Irecv");
  }

  void all_reduce_sum(double* data, int64_t n) override {
    reduce(data, n, MPI_DOUBLE, MPI_SUM, Collective::kAllReduceSum, DType::kFloat64, "MPI_Iallreduce(sum, double)");
  }
  void all_reduce_sum(int64_t* data, int64_t n) override {
    reduce(data, n, MPI_INT64_T, MPI_SUM, Collective::kAllReduceSum, DType::kInt64, "MPI_Iallreduce(sum, int64)");
  }
  void all_reduce_max(double* data, int64_t n) override {
    reduce(data, n, MPI_DOUBLE, MPI_MAX, Collective::kAllReduceMax, DType::kFloat64, "MPI_Iallreduce(max, double)");
  }

  void broadcast(void* data, int64_t bytes, int root) override {
    require_idle();
    TKG_CHECK(root >= 0 && root < size_ && bytes >= 0, "broadcast: root " << root << ", " << bytes << " bytes");
    const Call call{Collective::kBroadcast, enter(Collective::kBroadcast, DType::kUInt8, nullptr, nullptr, bytes, root)};
    CollectiveTimer timer(stats_);
    char* p = static_cast<char*>(data);
    for (int64_t off = 0; off < bytes || (off == 0 && bytes == 0); off += g_max_message_bytes) {
      int n = static_cast<int>(std::min(g_max_message_bytes, bytes - off));
      MPI_Request req;
      TKG_MPI_CHECK(MPI_Ibcast(p + off, n, MPI_BYTE, root, comm_, &req));
      Requests q;
      q.reqs = {req};
      wait_all(q, call, "MPI_Ibcast");
      if (bytes == 0) break;
    }
  }

  void barrier() override {
    require_idle();
    const Call call{Collective::kBarrier, enter(Collective::kBarrier, DType::kUInt8, nullptr, nullptr, 0)};
    CollectiveTimer timer(stats_);
    MPI_Request req;
    TKG_MPI_CHECK(MPI_Ibarrier(comm_, &req));
    Requests q;
    q.reqs = {req};
    wait_all(q, call, "MPI_Ibarrier");
  }

 protected:
  void gather_fingerprints(const void* mine, int64_t bytes, void* all) override {
    TKG_CHECK(bytes < INT_MAX, "fingerprint of " << bytes << " bytes");
    MPI_Request req;
    TKG_MPI_CHECK(MPI_Iallgather(mine, static_cast<int>(bytes), MPI_BYTE, all, static_cast<int>(bytes), MPI_BYTE, comm_, &req));
    std::vector<MPI_Request> reqs{req};
    wait_raw(reqs, "MPI_Iallgather (TKG_DEBUG_COLLECTIVES fingerprint)");
  }

 private:
  // Tags: the collective's kind in the low bits, its sequence number (mod seq_mod_) above, so a
  // message can only complete the receive of the same collective, and a stray one names its own.
  static constexpr int kKindBits = 3;
  struct Call {
    Collective kind;
    uint64_t seq;
  };
  int tag_of(const Call& c) const {
    return static_cast<int>(((c.seq % static_cast<uint64_t>(seq_mod_)) << kKindBits) | (static_cast<int>(c.kind) & 7));
  }
  // What a received tag says the sender was in: "all_to_all_v #12" (sequence modulo the tag range).
  std::string tag_text(int tag) const {
    const int kind = tag & 7;
    const int64_t seq = tag >> kKindBits;
    const char* name = kind >= 1 && kind <= 7 ? collective_name(static_cast<Collective>(kind)) : "an unknown collective";
    return std::string(name) + " #" + std::to_string(seq);  // exact below seq_mod_ (2^28 with Open MPI)
  }

  struct Requests {
    std::vector<MPI_Request> reqs;
    std::vector<int> peers;      // of each request (a timeout names the ranks still missing); -1 for collectives
    std::vector<int64_t> bytes;  // bytes each receive expects; -1 for sends and collectives
  };

  // An all-to-all-v in flight: its requests, tested or waited for by the owner.
  class Pending : public PendingExchange {
   public:
    Pending(MpiCommunicator& c, Requests q, Call call) : c_(c), q_(std::move(q)), call_(call) { ++c_.pending_; }
    ~Pending() override {
      // A started exchange is always completed so every rank's calls pair up; a failure here ends
      // the job (a destructor never throws).
      if (done_) return;
      try {
        wait();
      } catch (const std::exception& e) {
        fail_job(c_.rank_, std::string(e.what()) + " (while completing a started exchange)");
      }
    }
    bool test() override {
      if (done_) return true;
      CollectiveTimer timer(c_.stats_);
      int flag = 0;
      if (!q_.reqs.empty()) {
        std::vector<MPI_Status> st(q_.reqs.size());
        const int rc = MPI_Testall(static_cast<int>(q_.reqs.size()), q_.reqs.data(), &flag, st.data());
        if (rc != MPI_SUCCESS || flag) c_.check_statuses(rc, st, q_, call_, "MPI_Testall");
      }
      if (flag || q_.reqs.empty()) finish();
      return done_;
    }
    void wait() override {
      if (done_) return;
      CollectiveTimer timer(c_.stats_);
      c_.wait_all(q_, call_, "MPI_Isend/MPI_Irecv (started)", /*check_stale=*/false);
      finish();
    }

   private:
    void finish() {
      done_ = true;
      --c_.pending_;
      c_.check_stale(call_);
    }
    MpiCommunicator& c_;
    Requests q_;
    Call call_;
    bool done_ = false;
  };

  void check_counts(const std::vector<int64_t>& sc, const std::vector<int64_t>& rc, const char* what) const {
    TKG_CHECK(static_cast<int>(sc.size()) == size_ && static_cast<int>(rc.size()) == size_,
              what << ": count vectors need " << size_ << " entries, got " << sc.size() << " and " << rc.size());
    for (int p = 0; p < size_; ++p)
      TKG_CHECK(sc[p] >= 0 && rc[p] >= 0, what << ": negative count for rank " << p << " (send " << sc[p] << ", recv " << rc[p] << ")");
    TKG_CHECK(sc[rank_] == rc[rank_], what << ": self block: send " << sc[rank_] << " != recv " << rc[rank_]);
  }

  // Posts the receives and sends of an all-to-all-v and copies the self block; counts the bytes.
  Requests post_all_to_all_v(const void* send, const std::vector<int64_t>& sc, void* recv, const std::vector<int64_t>& rc,
                             DType t, const Call& call) {
    const size_t es = dtype_size(t);
    std::vector<int64_t> soff(size_ + 1, 0), roff(size_ + 1, 0);
    for (int p = 0; p < size_; ++p) soff[p + 1] = soff[p] + sc[p], roff[p + 1] = roff[p] + rc[p];
    Requests q;
    const char* s = static_cast<const char*>(send);
    char* r = static_cast<char*>(recv);
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      post_chunks(r + roff[p] * es, rc[p] * static_cast<int64_t>(es), p, /*is_send=*/false, call, q);
    }
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      post_chunks(const_cast<char*>(s) + soff[p] * es, sc[p] * static_cast<int64_t>(es), p, /*is_send=*/true, call, q);
      count_sent(static_cast<uint64_t>(sc[p]) * es);
    }
    if (sc[rank_]) std::memmove(r + roff[rank_] * es, s + soff[rank_] * es, static_cast<size_t>(sc[rank_]) * es);
    return q;
  }

  // Posts a transfer of `bytes` to/from `peer` as messages of at most g_max_message_bytes, tagged
  // with the collective. A zero-byte transfer posts nothing (both sides agree on the count, so
  // both skip it; if they do not, the stray message is found by check_stale).
  void post_chunks(char* buf, int64_t bytes, int peer, bool is_send, const Call& call, Requests& q) {
    const int tag = tag_of(call);
    for (int64_t off = 0; off < bytes; off += g_max_message_bytes) {
      int n = static_cast<int>(std::min(g_max_message_bytes, bytes - off));
      MPI_Request req;
      if (is_send)
        TKG_MPI_CHECK(MPI_Isend(buf + off, n, MPI_BYTE, peer, tag, comm_, &req));
      else
        TKG_MPI_CHECK(MPI_Irecv(buf + off, n, MPI_BYTE, peer, tag, comm_, &req));
      q.reqs.push_back(req);
      q.peers.push_back(peer);
      q.bytes.push_back(is_send ? -1 : n);
    }
  }

  void require_idle() const {
    TKG_CHECK(pending_ == 0, "a collective was called while a started all_to_all_v is still in flight");
  }

  template <typename T>
  void reduce(T* data, int64_t n, MPI_Datatype type, MPI_Op op, Collective kind, DType dt, const char* what) {
    require_idle();
    TKG_CHECK(n >= 0, what << ": negative count " << n);
    const Call call{kind, enter(kind, dt, nullptr, nullptr, n)};
    CollectiveTimer timer(stats_);
    const int64_t chunk = g_max_message_bytes / static_cast<int64_t>(sizeof(T));
    for (int64_t off = 0; off < n || (n == 0 && off == 0); off += std::max<int64_t>(chunk, 1)) {
      int cnt = static_cast<int>(std::min(chunk, n - off));
      MPI_Request req;
      TKG_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data + off, cnt, type, op, comm_, &req));
      Requests q;
      q.reqs = {req};
      wait_all(q, call, what);
      if (n == 0) break;
    }
  }

  // After a rank finished collective `call`, no message of a collective numbered up to it may be
  // left unreceived: one is a collective its sender made and this rank did not (or with other
  // counts). It is received (so it does not meet a later receive) and the job ends naming both.
  void check_stale(const Call& call) {
    int flag = 0;
    MPI_Status st;
    TKG_MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, &st));
    if (!flag) return;  // the usual case: nothing waiting
    // Something is waiting: a message of a later collective from a peer already there is fine.
    // The first waiting message of each peer is its oldest one, so a stale one is found per peer.
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      TKG_MPI_CHECK(MPI_Iprobe(p, MPI_ANY_TAG, comm_, &flag, &st));
      if (!flag) continue;
      const int64_t mine = static_cast<int64_t>(call.seq % static_cast<uint64_t>(seq_mod_)), theirs = st.MPI_TAG >> kKindBits;
      const int64_t ahead = ((theirs - mine) % seq_mod_ + seq_mod_) % seq_mod_;  // how far the sender is ahead
      if (ahead != 0 && ahead < seq_mod_ / 2) continue;
      int count = 0;
      MPI_Get_count(&st, MPI_BYTE, &count);
      // Received, so that it cannot complete a later receive of the same tag.
      MPI_Message msg;
      int got = 0;
      MPI_Improbe(p, st.MPI_TAG, comm_, &got, &msg, MPI_STATUS_IGNORE);
      if (got) {
        std::vector<char> sink(static_cast<size_t>(std::max(count, 0)) + 1);
        MPI_Mrecv(sink.data(), count, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
      }
      throw CommError("rank " + std::to_string(rank_) + ": a message of " + std::to_string(count) + " bytes from rank " +
                      std::to_string(p) + " for its " + tag_text(st.MPI_TAG) + " arrived after this rank finished " +
                      describe(call.kind, call.seq) + " without expecting it: the ranks' collectives are out of order (a "
                      "rank skipped a collective, or the ranks disagree on its counts); run with TKG_DEBUG_COLLECTIVES=1 "
                      "to find the call");
    }
  }

  // Raises the error of a failed or mis-sized receive (statuses of a completed wait).
  void check_statuses(int rc, const std::vector<MPI_Status>& st, const Requests& q, const Call& call, const char* what) {
    for (size_t k = 0; k < q.reqs.size() && k < st.size(); ++k) {
      if (k >= q.bytes.size() || q.bytes[k] < 0) continue;
      const int err = rc == MPI_ERR_IN_STATUS ? st[k].MPI_ERROR : MPI_SUCCESS;
      int got = 0;
      if (err == MPI_SUCCESS) MPI_Get_count(&st[k], MPI_BYTE, &got);
      if (err == MPI_SUCCESS && got == q.bytes[k]) continue;
      const std::string from = "rank " + std::to_string(q.peers[k]);
      throw CommError("rank " + std::to_string(rank_) + ": " + describe(call.kind, call.seq) + ": the message from " + from +
                      (err == MPI_SUCCESS ? " has " + std::to_string(got) + " bytes"
                                          : " failed (" + mpi_error_string(err) + ")") +
                      " where " + std::to_string(q.bytes[k]) + " bytes were expected; " + from + " sent it in its " +
                      tag_text(st[k].MPI_TAG) + ": the ranks disagree on the counts of this collective");
    }
    if (rc != MPI_SUCCESS)
      throw CommError("rank " + std::to_string(rank_) + ": " + describe(call.kind, call.seq) + ": " + what + " failed: " +
                      mpi_error_string(rc));
  }

  // Waits for every request of collective `call`, polling; checks what arrived; past the deadline
  // the job is aborted with a message naming the collective and the peers still missing (and
  // what they are in, when a message of theirs is waiting here).
  void wait_all(Requests& q, const Call& call, const char* what, bool check_stale_after = true) {
    if (!q.reqs.empty()) {
      std::vector<MPI_Status> st(q.reqs.size());
      auto start = std::chrono::steady_clock::now();
      int spins = 0;
      for (;;) {
        int done = 0;
        const int rc = MPI_Testall(static_cast<int>(q.reqs.size()), q.reqs.data(), &done, st.data());
        if (rc != MPI_SUCCESS || done) {
          check_statuses(rc, st, q, call, what);
          break;
        }
        if (++spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
        if (spins % 4096 == 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s_)
          fail_job(rank_, "timeout: " + describe(call.kind, call.seq) + " (" + what + ") did not complete within " +
                              std::to_string(timeout_s_) + " s" + missing_peers(q) + "; aborting the job");
      }
    }
    if (check_stale_after) check_stale(call);
  }

  // "; no answer from rank 2 (it is in all_reduce_sum #40)": the peers whose requests are open.
  std::string missing_peers(Requests& q) {
    std::vector<int> late;
    bool collective = false;
    for (size_t k = 0; k < q.reqs.size(); ++k) {
      int flag = 1;
      if (q.reqs[k] != MPI_REQUEST_NULL) MPI_Test(&q.reqs[k], &flag, MPI_STATUS_IGNORE);
      if (flag) continue;
      if (k >= q.peers.size() || q.peers[k] < 0) {
        collective = true;
        continue;
      }
      if (std::find(late.begin(), late.end(), q.peers[k]) == late.end()) late.push_back(q.peers[k]);
    }
    if (collective || late.empty()) return "; some rank did not join (lost, stalled, or in another collective)";
    std::sort(late.begin(), late.end());
    std::string out;
    for (int p : late) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(p, MPI_ANY_TAG, comm_, &flag, &st);
      out += (out.empty() ? "" : ", ") + std::to_string(p) + (flag ? " (a message of its " + tag_text(st.MPI_TAG) + " waits here)" : "");
    }
    return "; no answer from rank " + out + " (lost, stalled, or in another collective)";
  }

  // A bounded wait on requests outside the numbered collectives (creation, fingerprints).
  void wait_raw(std::vector<MPI_Request>& reqs, const char* what) {
    auto start = std::chrono::steady_clock::now();
    int spins = 0;
    for (;;) {
      int done = 0;
      TKG_MPI_CHECK(MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE));
      if (done) return;
      if (++spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
      if (spins % 4096 == 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s_)
        fail_job(world_rank_or_minus1(), "timeout: " + std::string(what) + " did not complete within " +
                                             std::to_string(timeout_s_) + " s; some rank did not join; aborting the job");
    }
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int pending_ = 0;  // started exchanges not yet finished (no other collective may start meanwhile)
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  int64_t seq_mod_ = 4096;  // sequence numbers wrap at this (tags <= MPI_TAG_UB)
  double timeout_s_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s) {
  return std::make_unique<MpiCommunicator>(timeout_s);
}

}  // namespace tkg
