// The optimizer of the table and β (train.optimizer): AdamW with decoupled weight decay (the
// TopKGAT paper's protocol) or Adam with the weight decay added to the gradient as L2 (LightGCN's
// protocol uses Adam with weight_decay 0 and the λ term of the loss, train.reg). Both keep the same
// state (step, first and second moments), so checkpoints read either way (optimizer_state.hpp).
// No torch in this header beyond a forward declaration.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace torch::optim {
class Optimizer;
}

namespace tkg {

enum class OptimizerKind { kAdamW, kAdam };
OptimizerKind parse_optimizer(const std::string& name);  // adamw | adam (InputError otherwise)
const char* optimizer_name(OptimizerKind k);

// bf16_first: the first parameter's (the table's) moments in bfloat16 (train.moments = bf16).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<at::Tensor>& params, OptimizerKind kind,
                                                        double lr, double weight_decay, bool bf16_first = false);

// The learning rate of epoch `epoch` for base rate `lr` (TrainOptions::lr_schedule, lr_warmup).
double scheduled_lr(double lr, int64_t epoch, int64_t epochs, const std::string& schedule, int64_t warmup);

// The learning rate of the optimizer's (single) parameter group, and setting it (schedules).
double optimizer_lr(torch::optim::Optimizer& opt);
void set_optimizer_lr(torch::optim::Optimizer& opt, double lr);

}  // namespace tkg
