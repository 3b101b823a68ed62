// Adam / AdamW whose first and second moments of the embedding table are stored as bfloat16
// (train.moments = bf16): 4 bytes per table value instead of 8. Each step reads the moments into
// float32, updates them and the parameter in float32 with AdamW's (or Adam's) formulas, and stores
// the moments rounded to nearest even. Not bit-identical to LibTorch's optimizers (its vector
// kernels round in other places); its quality cost is measured in docs/memory.md. The other
// parameters (β) keep float32 moments, updated by the same loop. CPU models only.
// No torch in this header beyond the optimizer's base class.
#pragma once

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <vector>

namespace tkg {

// One in-place Adam(W) update of n values: param, grad float32; exp_avg, exp_avg_sq float32 or
// bfloat16 (S); step is the step being taken (1 for the first).
template <typename S>
void adam_update(float* param, const float* grad, S* exp_avg, S* exp_avg_sq, int64_t n, int64_t step, double lr,
                 double beta1, double beta2, double eps, double weight_decay, bool decoupled);

// Base: torch::optim::AdamW (decoupled weight decay) or torch::optim::Adam (L2 added to the
// gradient). low_precision: the parameters whose moments are bfloat16 (the table).
template <typename Base>
class AdamBf16Moments : public Base {
 public:
  using Options = std::conditional_t<std::is_same_v<Base, torch::optim::AdamW>, torch::optim::AdamWOptions,
                                     torch::optim::AdamOptions>;
  AdamBf16Moments(const std::vector<at::Tensor>& params, Options options, std::vector<at::Tensor> low_precision);
  at::Tensor step(torch::optim::Optimizer::LossClosure closure = nullptr) override;

 private:
  std::vector<at::Tensor> low_precision_;
};

}  // namespace tkg
