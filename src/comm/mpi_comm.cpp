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
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
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
  std::fprintf(stderr, "[rank %d] %s\n", rank, message.c_str());
  std::fflush(stderr);
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
    TKG_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    TKG_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
    TKG_MPI_CHECK(MPI_Comm_size(comm_, &size_));
    MPI_Comm local;
    TKG_MPI_CHECK(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
    TKG_MPI_CHECK(MPI_Comm_rank(local, &local_rank_));
    TKG_MPI_CHECK(MPI_Comm_size(local, &local_size_));
    MPI_Comm_free(&local);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }

  void all_to_all_v(const void* send, const std::vector<int64_t>& sc, void* recv, const std::vector<int64_t>& rc,
                    DType t) override {
    CollectiveTimer timer(stats_);
    Requests q = post_all_to_all_v(send, sc, recv, rc, t);
    wait_all(q.reqs, "all_to_all_v (MPI_Isend/MPI_Irecv)", &q.peers);
  }

  std::unique_ptr<PendingExchange> start_all_to_all_v(const void* send, const std::vector<int64_t>& sc, void* recv,
                                                      const std::vector<int64_t>& rc, DType t) override {
    Requests q;
    {
      CollectiveTimer timer(stats_);
      q = post_all_to_all_v(send, sc, recv, rc, t);
    }
    return std::make_unique<Pending>(*this, std::move(q));
  }

  void all_gather_v(const void* send, int64_t count, void* recv, const std::vector<int64_t>& rc, DType t) override {
    require_idle();
    TKG_CHECK(static_cast<int>(rc.size()) == size_ && rc[rank_] == count, "all_gather_v counts");
    // An all-gather is an all-to-all-v in which every peer receives the same block.
    std::vector<int64_t> sc(size_, count);
    const size_t es = dtype_size(t);
    CollectiveTimer timer(stats_);
    std::vector<int64_t> roff(size_ + 1, 0);
    for (int p = 0; p < size_; ++p) roff[p + 1] = roff[p] + rc[p];
    std::vector<MPI_Request> reqs;
    std::vector<int> peers;
    char* r = static_cast<char*>(recv);
    for (int p = 0; p < size_; ++p)
      if (p != rank_) post_chunks(r + roff[p] * es, rc[p] * static_cast<int64_t>(es), p, false, reqs, peers);
    for (int p = 0; p < size_; ++p)
      if (p != rank_) {
        post_chunks(static_cast<char*>(const_cast<void*>(send)), count * static_cast<int64_t>(es), p, true, reqs, peers);
        count_sent(static_cast<uint64_t>(count) * es);
      }
    if (count) std::memmove(r + roff[rank_] * es, send, static_cast<size_t>(count) * es);
    wait_all(reqs, "all_gather_v (MPI_Isend/MPI_Irecv)", &peers);
  }

  void all_reduce_sum(double* data, int64_t n) override { reduce(data, n, MPI_DOUBLE, MPI_SUM, "MPI_Iallreduce(sum, double)"); }
  void all_reduce_sum(int64_t* data, int64_t n) override { reduce(data, n, MPI_INT64_T, MPI_SUM, "MPI_Iallreduce(sum, int64)"); }
  void all_reduce_max(double* data, int64_t n) override { reduce(data, n, MPI_DOUBLE, MPI_MAX, "MPI_Iallreduce(max, double)"); }

  void broadcast(void* data, int64_t bytes, int root) override {
    require_idle();
    CollectiveTimer timer(stats_);
    char* p = static_cast<char*>(data);
    for (int64_t off = 0; off < bytes || (off == 0 && bytes == 0); off += g_max_message_bytes) {
      int n = static_cast<int>(std::min(g_max_message_bytes, bytes - off));
      MPI_Request req;
      TKG_MPI_CHECK(MPI_Ibcast(p + off, n, MPI_BYTE, root, comm_, &req));
      std::vector<MPI_Request> reqs{req};
      wait_all(reqs, "MPI_Ibcast");
      if (bytes == 0) break;
    }
  }

  void barrier() override {
    require_idle();
    CollectiveTimer timer(stats_);
    MPI_Request req;
    TKG_MPI_CHECK(MPI_Ibarrier(comm_, &req));
    std::vector<MPI_Request> reqs{req};
    wait_all(reqs, "MPI_Ibarrier");
  }

 private:
  struct Requests {
    std::vector<MPI_Request> reqs;
    std::vector<int> peers;  // of each request (a timeout names the ranks still missing)
  };

  // An all-to-all-v in flight: its requests, tested or waited for by the owner.
  class Pending : public PendingExchange {
   public:
    Pending(MpiCommunicator& c, Requests q) : c_(c), q_(std::move(q)) { ++c_.pending_; }
    ~Pending() override {
      if (!done_) wait();
    }
    bool test() override {
      if (done_) return true;
      CollectiveTimer timer(c_.stats_);
      int flag = 0;
      if (!q_.reqs.empty()) TKG_MPI_CHECK(MPI_Testall(static_cast<int>(q_.reqs.size()), q_.reqs.data(), &flag, MPI_STATUSES_IGNORE));
      if (flag || q_.reqs.empty()) finish();
      return done_;
    }
    void wait() override {
      if (done_) return;
      CollectiveTimer timer(c_.stats_);
      c_.wait_all(q_.reqs, "all_to_all_v (started; MPI_Isend/MPI_Irecv)", &q_.peers);
      finish();
    }

   private:
    void finish() {
      done_ = true;
      --c_.pending_;
    }
    MpiCommunicator& c_;
    Requests q_;
    bool done_ = false;
  };

  // Posts the receives and sends of an all-to-all-v and copies the self block; counts the bytes.
  Requests post_all_to_all_v(const void* send, const std::vector<int64_t>& sc, void* recv, const std::vector<int64_t>& rc,
                             DType t) {
    TKG_CHECK(pending_ == 0, "a collective was called while a started all_to_all_v is still in flight");
    TKG_CHECK(static_cast<int>(sc.size()) == size_ && static_cast<int>(rc.size()) == size_, "count vectors need P entries");
    const size_t es = dtype_size(t);
    std::vector<int64_t> soff(size_ + 1, 0), roff(size_ + 1, 0);
    for (int p = 0; p < size_; ++p) soff[p + 1] = soff[p] + sc[p], roff[p + 1] = roff[p] + rc[p];
    Requests q;
    const char* s = static_cast<const char*>(send);
    char* r = static_cast<char*>(recv);
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      post_chunks(r + roff[p] * es, rc[p] * static_cast<int64_t>(es), p, /*is_send=*/false, q.reqs, q.peers);
    }
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      post_chunks(const_cast<char*>(s) + soff[p] * es, sc[p] * static_cast<int64_t>(es), p, /*is_send=*/true, q.reqs, q.peers);
      count_sent(static_cast<uint64_t>(sc[p]) * es);
    }
    TKG_CHECK(sc[rank_] == rc[rank_], "self block: send " << sc[rank_] << " != recv " << rc[rank_]);
    if (sc[rank_]) std::memmove(r + roff[rank_] * es, s + soff[rank_] * es, static_cast<size_t>(sc[rank_]) * es);
    return q;
  }

  // Posts a transfer of `bytes` to/from `peer` as messages of at most g_max_message_bytes.
  // A zero-byte transfer posts nothing (both sides agree on the count, so both skip it).
  void post_chunks(char* buf, int64_t bytes, int peer, bool is_send, std::vector<MPI_Request>& reqs,
                   std::vector<int>& peers) {
    for (int64_t off = 0; off < bytes; off += g_max_message_bytes) {
      int n = static_cast<int>(std::min(g_max_message_bytes, bytes - off));
      MPI_Request req;
      if (is_send)
        TKG_MPI_CHECK(MPI_Isend(buf + off, n, MPI_BYTE, peer, /*tag=*/7, comm_, &req));
      else
        TKG_MPI_CHECK(MPI_Irecv(buf + off, n, MPI_BYTE, peer, /*tag=*/7, comm_, &req));
      reqs.push_back(req);
      peers.push_back(peer);
    }
  }

  void require_idle() const {
    TKG_CHECK(pending_ == 0, "a collective was called while a started all_to_all_v is still in flight");
  }

  template <typename T>
  void reduce(T* data, int64_t n, MPI_Datatype type, MPI_Op op, const char* what) {
    require_idle();
    CollectiveTimer timer(stats_);
    const int64_t chunk = g_max_message_bytes / static_cast<int64_t>(sizeof(T));
    for (int64_t off = 0; off < n || (n == 0 && off == 0); off += std::max<int64_t>(chunk, 1)) {
      int cnt = static_cast<int>(std::min(chunk, n - off));
      MPI_Request req;
      TKG_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, data + off, cnt, type, op, comm_, &req));
      std::vector<MPI_Request> reqs{req};
      wait_all(reqs, what);
      if (n == 0) break;
    }
  }

  // Waits for every request, polling; past the deadline the job is aborted with a message that
  // names the peers still missing (peers[k]: the peer of reqs[k], when point-to-point).
  void wait_all(std::vector<MPI_Request>& reqs, const char* what, const std::vector<int>* peers = nullptr) {
    if (reqs.empty()) return;
    auto start = std::chrono::steady_clock::now();
    int spins = 0;
    for (;;) {
      int done = 0;
      TKG_MPI_CHECK(MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE));
      if (done) return;
      if (++spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
      if (spins % 4096 == 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s_) {
        std::string missing;
        if (peers) {
          std::vector<int> late;
          for (size_t k = 0; k < reqs.size(); ++k) {
            int flag = 1;
            if (reqs[k] != MPI_REQUEST_NULL) MPI_Test(&reqs[k], &flag, MPI_STATUS_IGNORE);
            if (!flag && std::find(late.begin(), late.end(), (*peers)[k]) == late.end()) late.push_back((*peers)[k]);
          }
          std::sort(late.begin(), late.end());
          for (int p : late) missing += (missing.empty() ? "" : ", ") + std::to_string(p);
          if (!missing.empty()) missing = "; no answer from rank " + missing + " (lost, stalled, or in another collective)";
        } else {
          missing = "; some rank did not join (lost, stalled, or in another collective)";
        }
        fail_job(rank_, "timeout: " + std::string(what) + " did not complete within " + std::to_string(timeout_s_) + " s" +
                            missing + "; aborting the job");
      }
    }
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int pending_ = 0;  // started exchanges not yet finished (no other collective may start meanwhile)
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  double timeout_s_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s) {
  return std::make_unique<MpiCommunicator>(timeout_s);
}

}  // namespace tkg
