// The loss of one training step on one rank (DESIGN §2, §3): BPR over the step's lines, the λ
// term on the layer-0 rows the lines touch, and GNAQ's LambdaLoss-style rank term. Divided by
// the lines of the step over all ranks, so the ranks' losses sum to the one-process loss.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace tkg {

struct StepLossInputs {
  // The final rows, as three blocks of one virtual table [owned; halo; fetched] (never built):
  at::Tensor owned;      // [n_own, w] float32
  at::Tensor halo;       // [n_halo, w] float32 (undefined in a world of one)
  at::Tensor fetched;    // [n_fetched, w] float32 (undefined in a world of one)
  at::Tensor x0_owned;   // [n_own, w] float32 layer-0 rows of the owned nodes (the λ term)
  at::Tensor x0_halo;    // [n_halo, w] float32 layer-0 rows of the halo nodes (undefined in a world of one)
  at::Tensor tu, ti, tj;  // [n] int32 (or int64) rows in the virtual table of each line's user, positive and negative
  const std::vector<int64_t>* line_users = nullptr;  // [n] each line's user (lines of a user contiguous)
  at::Tensor owner_counts;  // [n_own] float32: other ranks' lines whose negative is this owned row (or undefined)
  int64_t n_own = 0, n_local = 0, n_fetched = 0;
  double inv_n = 0;      // 1 / lines of the step summed over ranks
  double reg = 0;        // λ
  double rank_loss = 0;  // weight of the rank term (0: off)
  bool fused = true;     // fused BPR kernels (else the ATen composition)
};

// The step's loss on this rank (a scalar tensor, differentiable).
at::Tensor step_loss(const StepLossInputs& in);

}  // namespace tkg
