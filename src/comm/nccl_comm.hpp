// RAII NCCL communicator (no torch, no MPI in this header: the unique id arrives as bytes,
// broadcast over MPI by the caller). Not copyable; destroyed (or aborted on error) exactly once.
//
// Contract (as for every collective of this project): all ranks call the same operations in the
// same order, including calls that move zero rows.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace tkg {

// Version of the NCCL library this process loaded, e.g. "2.28.3".
std::string nccl_version_string();
int nccl_version_code();  // as ncclGetVersion: major*10000 + minor*100 + patch

constexpr size_t kNcclUniqueIdBytes = 128;  // NCCL_UNIQUE_ID_BYTES
using NcclUniqueIdBytes = std::array<char, kNcclUniqueIdBytes>;

// Creates a fresh id; call on rank 0 only, then broadcast the bytes.
NcclUniqueIdBytes nccl_make_unique_id();

// Number of CUDA devices visible (0 when there is no driver or no GPU; never throws).
int cuda_device_count();

class NcclComm {
 public:
  // Selects `device`, joins the communicator of `nranks` ranks identified by `id`. The
  // communicator is non-blocking (ncclConfig_t::blocking = 0): initialisation and every later
  // call return at once, and wait_ready() bounds the wait, so a peer that never joins ends the
  // job with CommError after `timeout_s` instead of a hang.
  NcclComm(const NcclUniqueIdBytes& id, int nranks, int rank, int device, double timeout_s);
  // Finalizes (bounded by timeout_s; aborts on timeout or error) and destroys; never throws.
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  // Polls ncclCommGetAsyncError until the communicator has left ncclInProgress (initialisation
  // done, or the last group of a non-blocking communicator enqueued); aborts it and throws
  // CommError if an asynchronous error appears or `timeout_s` passes. `what` names the call.
  void wait_ready(double timeout_s, const char* what = "ncclCommInitRankConfig");
  // Throws CommError (after aborting) if NCCL reports an asynchronous error; returns otherwise.
  void check_async();
  // Aborts the communicator (pending operations fail on all ranks); idempotent.
  void abort();

  int rank() const { return rank_; }
  int size() const { return nranks_; }
  int device() const { return device_; }
  void* raw() const { return comm_; }  // ncclComm_t

 private:
  void* comm_ = nullptr;
  int nranks_ = 0, rank_ = 0, device_ = 0;
  double timeout_s_ = 600;  // bounds initialisation, every wait and the teardown
  bool aborted_ = false;
};

}  // namespace tkg
