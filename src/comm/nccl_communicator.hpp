// NCCL backend of the Communicator. Buffers are DEVICE pointers on this rank's GPU (the MPI
// backend takes host pointers). MPI stays the bootstrap and control plane: rank 0 creates the
// ncclUniqueId and broadcasts it over `control`; the GPU is chosen by local rank.
//
// Waits poll cudaStreamQuery and ncclCommGetAsyncError with a deadline; on an asynchronous error
// or a timeout the communicator is aborted and CommError names the rank and the call.
#pragma once

#include <memory>

#include "comm/communicator.hpp"

namespace tkg {

// Largest number of elements in one ncclSend/ncclRecv/ncclAllReduce/ncclBroadcast (default 2^30);
// longer messages are split. Tests lower it to exercise the chunking.
void set_nccl_max_chunk_elems(int64_t elems);

// Throws CommError when no GPU is visible.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& control, double timeout_s = 600.0);

}  // namespace tkg
