#include "comm/nccl_communicator.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>
#include <cstdlib>
#include <thread>

#include "comm/cuda_check.hpp"
#include "comm/nccl_comm.hpp"
#include "common/error.hpp"

namespace tkg {

namespace {

int64_t g_max_chunk_elems = int64_t{1} << 30;  // split messages above 2^30 elements (set_nccl_max_chunk_elems)

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::kFloat32: return ncclFloat32;
    case DType::kFloat64: return ncclFloat64;
    case DType::kInt64: return ncclInt64;
    case DType::kUInt8: return ncclUint8;
    case DType::kUInt16: return ncclFloat16;  // 16-bit payloads move as raw halves (no arithmetic)
  }
  return ncclUint8;
}

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(Communicator& control, double timeout_s) : control_(control), timeout_s_(timeout_s) {
    const int n_dev = cuda_device_count();
    if (n_dev == 0) throw CommError("rank " + std::to_string(control.rank()) + ": NCCL backend needs a GPU, none visible");
    device_ = local_rank_from_env(control.local_rank()) % n_dev;
    NcclUniqueIdBytes id{};
    if (control.rank() == 0) id = nccl_make_unique_id();
    control.broadcast(id.data(), static_cast<int64_t>(id.size()), 0);
    comm_ = std::make_unique<NcclComm>(id, control.size(), control.rank(), device_, timeout_s);
    // A blocking stream: it orders itself after work queued on the legacy default stream (where
    // LibTorch runs its kernels unless told otherwise), and later default-stream work after it.
    TKG_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamDefault));
  }
  ~NcclCommunicator() override {
    if (stream_) cudaStreamDestroy(stream_);
  }

  int rank() const override { return control_.rank(); }
  int size() const override { return control_.size(); }
  int local_rank() const override { return control_.local_rank(); }
  int local_size() const override { return control_.local_size(); }
  int device() const override { return device_; }
  std::string backend() const override { return "nccl"; }

  void all_to_all_v(const void* send, const std::vector<int64_t>& sc, void* recv, const std::vector<int64_t>& rc,
                    DType t) override {
    check_counts(sc, rc, send, recv, "all_to_all_v");
    const uint64_t seq = enter(Collective::kAllToAllV, t, &sc, &rc, 0);
    const size_t es = dtype_size(t);
    CollectiveTimer timer(stats_);
    ncclComm_t c = static_cast<ncclComm_t>(comm_->raw());
    TKG_NCCL_CHECK(ncclGroupStart());
    int64_t so = 0, ro = 0;
    for (int p = 0; p < size(); ++p) {
      send_chunks(static_cast<const char*>(send) + so * es, sc[p], t, p, c);
      recv_chunks(static_cast<char*>(recv) + ro * es, rc[p], t, p, c);
      if (p != rank()) count_sent(static_cast<uint64_t>(sc[p]) * es);
      so += sc[p], ro += rc[p];
    }
    TKG_NCCL_CHECK(ncclGroupEnd());
    wait(describe(Collective::kAllToAllV, seq) + " (ncclSend/ncclRecv)");
  }

  void all_gather_v(const void* send, int64_t count, void* recv, const std::vector<int64_t>& rc, DType t) override {
    TKG_CHECK(static_cast<int>(rc.size()) == size() && rc[rank()] == count, "NCCL all_gather_v counts: " << rc.size()
              << " entries for " << size() << " ranks, own block " << count);
    for (int64_t c : rc) TKG_CHECK(c >= 0, "NCCL all_gather_v: negative count " << c);
    const uint64_t seq = enter(Collective::kAllGatherV, t, nullptr, &rc, count);
    const size_t es = dtype_size(t);
    CollectiveTimer timer(stats_);
    ncclComm_t c = static_cast<ncclComm_t>(comm_->raw());
    TKG_NCCL_CHECK(ncclGroupStart());
    int64_t ro = 0;
    for (int p = 0; p < size(); ++p) {
      send_chunks(static_cast<const char*>(send), count, t, p, c);
      recv_chunks(static_cast<char*>(recv) + ro * es, rc[p], t, p, c);
      if (p != rank()) count_sent(static_cast<uint64_t>(count) * es);
      ro += rc[p];
    }
    TKG_NCCL_CHECK(ncclGroupEnd());
    wait(describe(Collective::kAllGatherV, seq) + " (ncclSend/ncclRecv)");
  }

  void all_reduce_sum(double* data, int64_t n) override {
    reduce(data, n, ncclFloat64, ncclSum, Collective::kAllReduceSum, DType::kFloat64, "ncclAllReduce(sum)");
  }
  void all_reduce_sum(int64_t* data, int64_t n) override {
    reduce(data, n, ncclInt64, ncclSum, Collective::kAllReduceSum, DType::kInt64, "ncclAllReduce(sum)");
  }
  void all_reduce_max(double* data, int64_t n) override {
    reduce(data, n, ncclFloat64, ncclMax, Collective::kAllReduceMax, DType::kFloat64, "ncclAllReduce(max)");
  }

  void broadcast(void* data, int64_t bytes, int root) override {
    TKG_CHECK(root >= 0 && root < size() && bytes >= 0, "NCCL broadcast: root " << root << ", " << bytes << " bytes");
    const uint64_t seq = enter(Collective::kBroadcast, DType::kUInt8, nullptr, nullptr, bytes, root);
    CollectiveTimer timer(stats_);
    // One group for all chunks: a non-blocking communicator allows one call in progress at a time.
    TKG_NCCL_CHECK(ncclGroupStart());
    for (int64_t off = 0; off < bytes; off += g_max_chunk_elems) {
      size_t n = static_cast<size_t>(std::min<int64_t>(bytes - off, g_max_chunk_elems));
      TKG_NCCL_CHECK(ncclBroadcast(static_cast<char*>(data) + off, static_cast<char*>(data) + off, n, ncclUint8, root,
                                   static_cast<ncclComm_t>(comm_->raw()), stream_));
    }
    TKG_NCCL_CHECK(ncclGroupEnd());
    wait(describe(Collective::kBroadcast, seq) + " (ncclBroadcast)");
  }

  void barrier() override {
    enter(Collective::kBarrier, DType::kUInt8, nullptr, nullptr, 0);
    control_.barrier();
  }

 protected:
  // Fingerprints travel over the MPI control plane (host memory).
  void gather_fingerprints(const void* mine, int64_t bytes, void* all) override {
    CollectiveSite site(control_, "nccl fingerprint: " + this->site());
    control_.all_gather_v(mine, bytes, all, std::vector<int64_t>(static_cast<size_t>(size()), bytes), DType::kUInt8);
  }

 private:
  // The count vectors of an all-to-all-v: P entries, none negative, the self block consistent,
  // buffers present where counts are not zero (a bad plan is an error, not a device overrun).
  void check_counts(const std::vector<int64_t>& sc, const std::vector<int64_t>& rc, const void* send, const void* recv,
                    const char* what) const {
    const int P = size(), me = rank();
    TKG_CHECK(static_cast<int>(sc.size()) == P && static_cast<int>(rc.size()) == P,
              "NCCL " << what << ": count vectors need " << P << " entries, got " << sc.size() << " and " << rc.size());
    int64_t ts = 0, tr = 0;
    for (int p = 0; p < P; ++p) {
      TKG_CHECK(sc[p] >= 0 && rc[p] >= 0, "NCCL " << what << ": negative count for rank " << p);
      ts += sc[p], tr += rc[p];
    }
    TKG_CHECK(sc[me] == rc[me], "NCCL " << what << ": self block: send " << sc[me] << " != recv " << rc[me]);
    TKG_CHECK((ts == 0 || send) && (tr == 0 || recv), "NCCL " << what << ": null buffer for " << ts << " / " << tr << " elements");
  }

  void send_chunks(const char* buf, int64_t count, DType t, int peer, ncclComm_t c) {
    for (int64_t off = 0; off < count; off += g_max_chunk_elems) {
      size_t n = static_cast<size_t>(std::min<int64_t>(count - off, g_max_chunk_elems));
      TKG_NCCL_CHECK(ncclSend(buf + off * static_cast<int64_t>(dtype_size(t)), n, nccl_type(t), peer, c, stream_));
    }
  }
  void recv_chunks(char* buf, int64_t count, DType t, int peer, ncclComm_t c) {
    for (int64_t off = 0; off < count; off += g_max_chunk_elems) {
      size_t n = static_cast<size_t>(std::min<int64_t>(count - off, g_max_chunk_elems));
      TKG_NCCL_CHECK(ncclRecv(buf + off * static_cast<int64_t>(dtype_size(t)), n, nccl_type(t), peer, c, stream_));
    }
  }
  template <typename T>
  void reduce(T* data, int64_t n, ncclDataType_t type, ncclRedOp_t op, Collective kind, DType dt, const char* what) {
    TKG_CHECK(n >= 0, what << ": negative count " << n);
    const uint64_t seq = enter(kind, dt, nullptr, nullptr, n);
    CollectiveTimer timer(stats_);
    TKG_NCCL_CHECK(ncclGroupStart());
    for (int64_t off = 0; off < n; off += g_max_chunk_elems) {
      size_t cnt = static_cast<size_t>(std::min<int64_t>(n - off, g_max_chunk_elems));
      TKG_NCCL_CHECK(ncclAllReduce(data + off, data + off, cnt, type, op, static_cast<ncclComm_t>(comm_->raw()), stream_));
    }
    TKG_NCCL_CHECK(ncclGroupEnd());
    wait(describe(kind, seq) + " (" + what + ")");
  }
  // Bounded wait: the non-blocking communicator leaves ncclInProgress (the group is enqueued),
  // then the stream completes; NCCL's asynchronous error state is polled all along.
  // A timeout or an NCCL error ends the job as the MPI backend does (fail_job: exit code 4 on
  // every rank, the message naming this rank and the call).
  void wait(const std::string& what_s) {
    const char* what = what_s.c_str();
    auto start = std::chrono::steady_clock::now();
    try {
      comm_->wait_ready(timeout_s_, what);
      for (;;) {
        cudaError_t q = cudaStreamQuery(stream_);
        if (q == cudaSuccess) return;
        if (q != cudaErrorNotReady) TKG_CUDA_CHECK(q);
        comm_->check_async();  // throws (after aborting) on an asynchronous NCCL error
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s_) {
          comm_->abort();
          fail_job(rank(), "timeout: " + std::string(what) + " did not complete within " + std::to_string(timeout_s_) +
                               " s; NCCL communicator aborted; aborting the job");
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    } catch (const CommError& e) {
      comm_->abort();
      fail_job(rank(), std::string(e.what()) + "; aborting the job");
    }
  }

  Communicator& control_;
  double timeout_s_;
  int device_ = 0;
  std::unique_ptr<NcclComm> comm_;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

void set_nccl_max_chunk_elems(int64_t elems) {
  if (elems < 1) throw CommError("set_nccl_max_chunk_elems: need at least 1 element, got " + std::to_string(elems));
  g_max_chunk_elems = elems;
}

bool each_rank_has_own_gpu(Communicator& control) {
  constexpr int64_t kKey = 160;  // host name (<= 64) + '/' + PCI bus id (<= 16), zero padded
  std::array<char, kKey> key{};
  const int n = cuda_device_count();
  if (n > 0) {
    char bus[32] = {0};
    const int device = local_rank_from_env(control.local_rank()) % n;
    if (cudaDeviceGetPCIBusId(bus, sizeof(bus) - 1, device) != cudaSuccess) {
      (void)cudaGetLastError();
    } else {
      char host[72] = {0};
      gethostname(host, sizeof(host) - 1);
      std::snprintf(key.data(), key.size(), "%s/%s", host, bus);
    }
  }
  const int P = control.size();
  std::vector<char> all(static_cast<size_t>(P * kKey));
  control.all_gather_v(key.data(), kKey, all.data(), std::vector<int64_t>(P, kKey), DType::kUInt8);
  std::set<std::string> seen;
  for (int p = 0; p < P; ++p) {
    std::string k(all.data() + p * kKey, strnlen(all.data() + p * kKey, kKey));
    if (k.empty() || !seen.insert(k).second) return false;
  }
  return true;
}

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& control, double timeout_s) {
  return std::make_unique<NcclCommunicator>(control, timeout_s);
}

}  // namespace tkg
