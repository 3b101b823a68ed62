// The rows of a step's negatives, fetched sparsely (DESIGN §4 "Loss across ranks").
//
// A negative that is owned or halo on this rank is read locally. The distinct others are looked up
// in the item directory and fetched from their owners: ids out, final-layer rows back (one
// all-to-all-v each way), and in the backward pass their gradients go back to the owners and are
// summed there (the same exchange reversed). Only final rows travel: the layer-0 L2 term of a
// fetched negative is computed by its owner from the number of lines that drew it. Per-rank cost
// is O(min(m, lines of the step) · d), never O(m · d).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "model/collective_ops.hpp"
#include "shard/local_index.hpp"
#include "train/item_directory.hpp"

namespace tkg {

class Communicator;

struct NegativeRows {
  at::Tensor row;           // [n] int32 (int64 from 2^31 rows on) on the model's device: row of line k's negative in [owned; halo; fetched]
  ExchangePlan fetch;           // owners send final rows to the ranks that asked (Traffic::kNegatives)
  at::Tensor owner_counts;  // [n_own] float32 on the model's device: lines of other ranks whose negative is this owned row
  int64_t n_fetched = 0;    // rows fetched by this rank (distinct remote negatives)
};

class NegativeFetch {
 public:
  // Collective (registers the owned items in the directory).
  NegativeFetch(const Shard& shard, const LocalIndex& local, Communicator& comm);
  // Collective: where each line's negative (global item id) is, and the fetch plan of this step.
  NegativeRows plan(const std::vector<int64_t>& negatives, const at::Device& device);

 private:
  const Shard& shard_;
  const LocalIndex& local_;
  Communicator& comm_;
  ItemDirectory directory_;
};

}  // namespace tkg
