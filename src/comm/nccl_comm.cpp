#include "comm/nccl_comm.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "comm/cuda_check.hpp"
#include "common/log.hpp"

static_assert(sizeof(ncclUniqueId) == tkg::kNcclUniqueIdBytes, "NCCL_UNIQUE_ID_BYTES changed");

namespace tkg {

int nccl_version_code() {
  int v = 0;
  TKG_NCCL_CHECK(ncclGetVersion(&v));
  return v;
}

std::string nccl_version_string() {
  int v = nccl_version_code();
  // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
  return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." + std::to_string(v % 100);
}

NcclUniqueIdBytes nccl_make_unique_id() {
  ncclUniqueId id;
  TKG_NCCL_CHECK(ncclGetUniqueId(&id));
  NcclUniqueIdBytes out;
  std::memcpy(out.data(), id.internal, kNcclUniqueIdBytes);
  return out;
}

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky error
    return 0;
  }
  return n;
}

NcclComm::NcclComm(const NcclUniqueIdBytes& id, int nranks, int rank, int device, double timeout_s)
    : nranks_(nranks), rank_(rank), device_(device), timeout_s_(timeout_s) {
  TKG_CUDA_CHECK(cudaSetDevice(device));
  ncclUniqueId nid;
  std::memcpy(nid.internal, id.data(), kNcclUniqueIdBytes);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // bounded waits: see wait_ready
  ncclComm_t comm = nullptr;
  TKG_NCCL_CHECK(ncclCommInitRankConfig(&comm, nranks, nid, rank, &config));
  comm_ = comm;
  wait_ready(timeout_s, "ncclCommInitRankConfig");
}

NcclComm::~NcclComm() {
  if (!comm_ || aborted_) return;
  // Bounded teardown that never throws: ncclCommFinalize flushes the communicator's work with its
  // peers (non-blocking here, so it is polled with the deadline); a peer that died makes it time
  // out, and the communicator is aborted instead of destroyed (which could wait forever).
  ncclComm_t c = static_cast<ncclComm_t>(comm_);
  const ncclResult_t fin = ncclCommFinalize(c);
  if (fin != ncclSuccess && fin != ncclInProgress) {
    abort();
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    ncclResult_t state = ncclSuccess;
    if (ncclCommGetAsyncError(c, &state) != ncclSuccess || (state != ncclSuccess && state != ncclInProgress)) {
      abort();
      return;
    }
    if (state == ncclSuccess) break;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s_) {
      log::error("ncclCommFinalize did not finish within " + std::to_string(timeout_s_) + " s; NCCL communicator aborted");
      abort();
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  TKG_NCCL_CHECK_NOTHROW(ncclCommDestroy(c));
}

void NcclComm::abort() {
  if (!comm_ || aborted_) return;
  aborted_ = true;
  TKG_NCCL_CHECK_NOTHROW(ncclCommAbort(static_cast<ncclComm_t>(comm_)));
}

void NcclComm::check_async() {
  ncclResult_t state = ncclSuccess;
  TKG_NCCL_CHECK(ncclCommGetAsyncError(static_cast<ncclComm_t>(comm_), &state));
  if (state != ncclSuccess && state != ncclInProgress) {
    abort();
    throw CommError(std::string("NCCL asynchronous error on rank ") + std::to_string(rank_) + ": " +
                    ncclGetErrorString(state));
  }
}

void NcclComm::wait_ready(double timeout_s, const char* what) {
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    ncclResult_t state = ncclSuccess;
    TKG_NCCL_CHECK(ncclCommGetAsyncError(static_cast<ncclComm_t>(comm_), &state));
    if (state == ncclSuccess) return;
    if (state != ncclInProgress) {
      abort();
      throw CommError(std::string("rank ") + std::to_string(rank_) + ": " + what + ": NCCL asynchronous error: " +
                      ncclGetErrorString(state));
    }
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s) {
      abort();
      throw CommError("rank " + std::to_string(rank_) + ": " + what + " did not finish within " +
                      std::to_string(timeout_s) + " s (a peer died or never joined?); NCCL communicator aborted");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

}  // namespace tkg
