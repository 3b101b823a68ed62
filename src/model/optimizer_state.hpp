// AdamW state of one parameter tensor: read, written, moved between optimizers, and permuted
// row-wise (GNAQ's DQS). LibTorch keys the state by the parameter's TensorImpl (printed pointer in
// 1.x, the pointer in 2.x); this file hides that.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace torch::optim {
class Optimizer;
}

namespace tkg {

struct AdamMoments {
  int64_t step = 0;     // optimizer steps taken (0: no state yet)
  at::Tensor exp_avg;   // same shape as the parameter
  at::Tensor exp_avg_sq;
};

// The AdamW moments of `param` (step 0 and undefined tensors when it has no state yet).
AdamMoments get_adam_state(torch::optim::Optimizer& opt, const at::Tensor& param);
// Sets them (copies; tensors on the parameter's device). step 0 removes the state.
void set_adam_state(torch::optim::Optimizer& opt, const at::Tensor& param, const AdamMoments& m);

// Sets them to m's tensors themselves (no copy; the caller owns their device and dtype): for an
// optimizer that updates the moments in place (train/adam_bf16_moments.hpp).
void put_adam_state(torch::optim::Optimizer& opt, const at::Tensor& param, const AdamMoments& m);

// Reorders the Adam(W) moments of `param` [n, L] like the parameter: new[i, k] = old[i, perm[i, k]].
//   perm: [n, L] int64. No-op if the optimizer has no state for `param` yet.
void permute_optimizer_rows(torch::optim::Optimizer& opt, const at::Tensor& param, const at::Tensor& perm);

// Moves the optimizer state of `param` from one optimizer to another (both hold `param`).
void move_optimizer_state(torch::optim::Optimizer& from, torch::optim::Optimizer& to, const at::Tensor& param);

}  // namespace tkg
