#include "train/optimizer.hpp"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "train/adam_bf16_moments.hpp"

namespace tkg {

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "adamw") return OptimizerKind::kAdamW;
  if (name == "adam") return OptimizerKind::kAdam;
  throw InputError("train.optimizer", 0, "unknown optimizer '" + name + "' (expected adamw or adam)");
}

const char* optimizer_name(OptimizerKind k) { return k == OptimizerKind::kAdam ? "adam" : "adamw"; }

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<at::Tensor>& params, OptimizerKind kind,
                                                        double lr, double weight_decay, bool bf16_first) {
  if (bf16_first) {
    if (kind == OptimizerKind::kAdam)
      return std::make_unique<AdamBf16Moments<torch::optim::Adam>>(
          params, torch::optim::AdamOptions(lr).weight_decay(weight_decay), std::vector<at::Tensor>{params.at(0)});
    return std::make_unique<AdamBf16Moments<torch::optim::AdamW>>(
        params, torch::optim::AdamWOptions(lr).weight_decay(weight_decay), std::vector<at::Tensor>{params.at(0)});
  }
  if (kind == OptimizerKind::kAdam)
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(lr).weight_decay(weight_decay));
  return std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(lr).weight_decay(weight_decay));
}

double scheduled_lr(double lr, int64_t epoch, int64_t epochs, const std::string& schedule, int64_t warmup) {
  double f = 1.0;
  if (warmup > 0 && epoch < warmup) f *= static_cast<double>(epoch + 1) / static_cast<double>(warmup);
  if (schedule == "cosine" && epochs > 0)
    f *= 0.5 * (1.0 + std::cos(M_PI * static_cast<double>(std::min(epoch, epochs)) / static_cast<double>(epochs)));
  return lr * f;
}

double optimizer_lr(torch::optim::Optimizer& opt) {
  auto& o = opt.param_groups().at(0).options();
  if (auto* w = dynamic_cast<torch::optim::AdamWOptions*>(&o)) return w->lr();
  if (auto* a = dynamic_cast<torch::optim::AdamOptions*>(&o)) return a->lr();
  throw InternalError("optimizer_lr: not an Adam or AdamW optimizer");
}

void set_optimizer_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) {
    auto& o = g.options();
    if (auto* w = dynamic_cast<torch::optim::AdamWOptions*>(&o))
      w->lr(lr);
    else if (auto* a = dynamic_cast<torch::optim::AdamOptions*>(&o))
      a->lr(lr);
    else
      throw InternalError("set_optimizer_lr: not an Adam or AdamW optimizer");
  }
}

}  // namespace tkg
