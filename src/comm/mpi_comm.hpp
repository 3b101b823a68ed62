// MPI backend of the Communicator (host buffers), and the MPI process lifecycle.
// mpi.h stays out of this header.
//
// Every call is checked; a failed call throws CommError naming the rank, the MPI call and MPI's
// own error string. Collectives are posted non-blocking and waited on with a deadline: a peer
// that never arrives (dead or diverged) ends the job with a message instead of a silent hang.
#pragma once

#include <memory>
#include <string>

#include "comm/communicator.hpp"

namespace tkg {

// Initialises MPI (MPI_THREAD_SERIALIZED) on construction, finalises on destruction (bounded: a
// barrier with a deadline first, MPI_Abort past it; never throws).
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int world_rank() const { return rank_; }
  int world_size() const { return size_; }
  // The thread support MPI provided: SERIALIZED is what GPU training needs (MPI calls from the
  // autograd engine's device thread); CPU training makes every call on the main thread.
  bool serialized() const;
  std::string thread_level_name() const;
  // MPI_Get_library_version, first line (e.g. "Open MPI v4.1.4, package: ...").
  std::string library_version() const;
  // Bound on the wait for the other ranks at finalisation (default 600 s; tkg-train: train.comm_timeout).
  void set_finalize_timeout(double s) { finalize_timeout_s_ = s; }

 private:
  int rank_ = 0, size_ = 1;
  double finalize_timeout_s_ = 600;
  int thread_level_ = 0;
};

// A communicator over a duplicate of MPI_COMM_WORLD. timeout_s bounds every wait.
std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s = 600.0);

// Ends every rank of the job: prints `message` (prefixed with the rank) and calls MPI_Abort.
[[noreturn]] void mpi_abort_job(const std::string& message, int code);

// Largest message (bytes) one MPI call moves; larger transfers are split. Exposed for tests.
void set_mpi_max_message_bytes(int64_t bytes);

}  // namespace tkg
