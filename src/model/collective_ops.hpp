// Differentiable collectives over the Communicator (DESIGN §4 "One layer on rank r"):
// each is a custom autograd Function, so a whole distributed step is one autograd graph.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "comm/communicator.hpp"

namespace tkg {

struct Shard;

// Routing of one exchange of rows, as tensors: a shard's halo exchange (build_halo_plan) or a
// step's fetch of negatives' rows from their owners (train/negative_fetch).
struct ExchangePlan {
  at::Tensor send_index;             // [n_send] int64 on the model's device: rows of the input to send, packed by peer
  std::vector<int64_t> send_rows;    // [P] rows sent to each peer
  std::vector<int64_t> recv_rows;    // [P] rows received from each peer (for the halo: its blocks by owner)
  int64_t n_own = 0, n_recv = 0;      // rows of the input table; rows received (the halo, or the fetched negatives)
  bool packed = false;               // the input already is the send rows in order (send_index = 0..n_own-1): no gather
  Traffic traffic = Traffic::kHalo;  // what its bytes are counted as (negative fetches reuse the plan type)
  std::string name = "halo";         // in error messages and as the collectives' call site
};
// The shard's layer halo plan, validated; send_index on the CPU (.to() a device as needed).
ExchangePlan build_halo_plan(const Shard& shard);

// Checks a plan against the world it runs in, when it is built: P entries per count vector, no
// negative count, nothing to or from this rank itself, send rows = the send index's length
// (packed: = n_own), receive rows = n_recv, every send index within the n_own rows. Throws
// InternalError naming the plan (a bad plan is an error here, not a buffer overrun later).
void validate_plan(const ExchangePlan& plan, int world_size, int rank);

// Element counts of row blocks: rows[p] * width for each p (the counts a collective takes).
std::vector<int64_t> element_counts(const std::vector<int64_t>& rows, int64_t width);

// The memory `comm` moves: CPU (self, MPI) or its CUDA device (NCCL).
at::Device comm_device(const Communicator& comm);

// All-to-all-v of rows (not differentiable): `send` [Σ send_rows, w] (float32, float64, int64,
// uint8, bfloat16 or float16; any device), send_rows[p] rows to peer p; returns [n_recv, w] of
// the same dtype on send's device, recv_rows[p] rows from peer p. When the tensor is not where
// the communicator wants its buffers (a CUDA tensor and MPI, or a CPU tensor and NCCL) it is
// staged there and back (DESIGN §4).
at::Tensor exchange_rows(const at::Tensor& send, const std::vector<int64_t>& send_rows,
                         const std::vector<int64_t>& recv_rows, int64_t n_recv, Communicator& comm);

// Forward: rows of `owned` [n_own, w] (float32, CPU or CUDA) go to the peers whose halo holds them;
// returns the halo rows [n_halo, w]. Backward: halo gradients go back to their owners and are
// summed into the owned rows (index_add over the send list). Called on every rank, every time.
// With bf16 = true, rows and their gradients travel as bfloat16 (half the bytes; values rounded
// to nearest even), for the deeper layers' halos.
at::Tensor halo_exchange(const at::Tensor& owned, const ExchangePlan& plan, Communicator& comm, bool bf16 = false);


}  // namespace tkg
