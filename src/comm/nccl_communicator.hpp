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

// Collective (over `control`): true on every rank iff every rank sees a GPU and no two ranks
// would use the same one (NCCL refuses a GPU shared by two ranks). The GPU of a rank is
// local_rank mod visible GPUs; GPUs are told apart by host name and PCI bus id, so it also holds
// when CUDA_VISIBLE_DEVICES shows each rank only its own GPU (launch/bind-device.sh).
bool each_rank_has_own_gpu(Communicator& control);

// Throws CommError when no GPU is visible.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& control, double timeout_s = 600.0);

}  // namespace tkg
