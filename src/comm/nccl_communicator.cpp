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
    wait("all_to_all_v (ncclSend/ncclRecv)");
  }

  void all_gather_v(const void* send, int64_t count, void* recv, const std::vector<int64_t>& rc, DType t) override {
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
    wait("all_gather_v (ncclSend/ncclRecv)");
  }

  void all_reduce_sum(double* data, int64_t n) override { reduce(data, n, ncclFloat64, ncclSum, "ncclAllReduce(sum)"); }
  void all_reduce_sum(int64_t* data, int64_t n) override { reduce(data, n, ncclInt64, ncclSum, "ncclAllReduce(sum)"); }
  void all_reduce_max(double* data, int64_t n) override { reduce(data, n, ncclFloat64, ncclMax, "ncclAllReduce(max)"); }

  void broadcast(void* data, int64_t bytes, int root) override {
    CollectiveTimer timer(stats_);
    // One group for all chunks: a non-blocking communicator allows one call in progress at a time.
    TKG_NCCL_CHECK(ncclGroupStart());
    for (int64_t off = 0; off < bytes; off += g_max_chunk_elems) {
      size_t n = static_cast<size_t>(std::min<int64_t>(bytes - off, g_max_chunk_elems));
      TKG_NCCL_CHECK(ncclBroadcast(static_cast<char*>(data) + off, static_cast<char*>(data) + off, n, ncclUint8, root,
                                   static_cast<ncclComm_t>(comm_->raw()), stream_));
    }
    TKG_NCCL_CHECK(ncclGroupEnd());
    wait("ncclBroadcast");
  }

  void barrier() override { control_.barrier(); }

 private:
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
  void reduce(T* data, int64_t n, ncclDataType_t type, ncclRedOp_t op, const char* what) {
    CollectiveTimer timer(stats_);
    TKG_NCCL_CHECK(ncclGroupStart());
    for (int64_t off = 0; off < n; off += g_max_chunk_elems) {
      size_t cnt = static_cast<size_t>(std::min<int64_t>(n - off, g_max_chunk_elems));
      TKG_NCCL_CHECK(ncclAllReduce(data + off, data + off, cnt, type, op, static_cast<ncclComm_t>(comm_->raw()), stream_));
    }
    TKG_NCCL_CHECK(ncclGroupEnd());
    wait(what);
  }
  // Bounded wait: the non-blocking communicator leaves ncclInProgress (the group is enqueued),
  // then the stream completes; NCCL's asynchronous error state is polled all along.
  // A timeout or an NCCL error ends the job as the MPI backend does (fail_job: exit code 4 on
  // every rank, the message naming this rank and the call).
  void wait(const char* what) {
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
