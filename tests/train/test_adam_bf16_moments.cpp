#include "train/adam_bf16_moments.hpp"

#include <ATen/ATen.h>
#include <c10/util/BFloat16.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "model/optimizer_state.hpp"

namespace {

// Runs `steps` optimizer steps on a copy of p0 with the same gradients for every optimizer.
template <typename Make>
at::Tensor run(const at::Tensor& p0, int steps, Make make, torch::optim::Optimizer** keep = nullptr,
               std::unique_ptr<torch::optim::Optimizer>* hold = nullptr) {
  at::Tensor p = p0.clone().set_requires_grad(true);
  std::unique_ptr<torch::optim::Optimizer> opt = make(p);
  at::manual_seed(7);
  for (int s = 0; s < steps; ++s) {
    p.mutable_grad() = at::randn(p.sizes());
    opt->step();
  }
  if (hold) *hold = std::move(opt);
  return p.detach();
}

}  // namespace

// With float32 moments the loop computes LibTorch's AdamW and Adam (to float rounding).
TEST(AdamBf16Moments, Float32MomentsFollowLibTorch) {
  at::manual_seed(1);
  const at::Tensor p0 = at::randn({300, 16});
  for (bool adamw : {true, false}) {
    auto torch_opt = [&](at::Tensor& p) -> std::unique_ptr<torch::optim::Optimizer> {
      if (adamw) return std::make_unique<torch::optim::AdamW>(std::vector<at::Tensor>{p}, torch::optim::AdamWOptions(0.05).weight_decay(0.1));
      return std::make_unique<torch::optim::Adam>(std::vector<at::Tensor>{p}, torch::optim::AdamOptions(0.05).weight_decay(0.1));
    };
    auto ours = [&](at::Tensor& p) -> std::unique_ptr<torch::optim::Optimizer> {
      if (adamw)
        return std::make_unique<tkg::AdamBf16Moments<torch::optim::AdamW>>(
            std::vector<at::Tensor>{p}, torch::optim::AdamWOptions(0.05).weight_decay(0.1), std::vector<at::Tensor>{});
      return std::make_unique<tkg::AdamBf16Moments<torch::optim::Adam>>(
          std::vector<at::Tensor>{p}, torch::optim::AdamOptions(0.05).weight_decay(0.1), std::vector<at::Tensor>{});
    };
    const at::Tensor a = run(p0, 30, torch_opt), b = run(p0, 30, ours);
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-5) << adamw;
    EXPECT_GT((a - p0).abs().max().item<double>(), 0.5) << adamw;  // it moved
  }
}

// With bfloat16 moments: the stored moments are the float32 update rounded to nearest even (the
// first step: (1 - β1)·g and (1 - β2)·g²), the optimizer state reads as bfloat16, and 30 steps
// stay close to the float32 trajectory.
TEST(AdamBf16Moments, Bf16MomentsAreTheUpdateRounded) {
  at::manual_seed(2);
  const at::Tensor p0 = at::randn({300, 16});
  std::unique_ptr<torch::optim::Optimizer> opt;
  auto bf16 = [](at::Tensor& p) -> std::unique_ptr<torch::optim::Optimizer> {
    return std::make_unique<tkg::AdamBf16Moments<torch::optim::AdamW>>(
        std::vector<at::Tensor>{p}, torch::optim::AdamWOptions(0.05).weight_decay(0.1), std::vector<at::Tensor>{p});
  };
  at::Tensor p = p0.clone().set_requires_grad(true);
  opt = bf16(p);
  at::manual_seed(7);
  const at::Tensor g = at::randn(p.sizes());
  p.mutable_grad() = g.clone();
  opt->step();
  const tkg::AdamMoments m = tkg::get_adam_state(*opt, p);
  ASSERT_EQ(m.exp_avg.scalar_type(), at::kBFloat16);
  EXPECT_EQ(m.step, 1);
  const float* gp = g.data_ptr<float>();
  const c10::BFloat16 *mp = m.exp_avg.data_ptr<c10::BFloat16>(), *vp = m.exp_avg_sq.data_ptr<c10::BFloat16>();
  for (int64_t i = 0; i < g.numel(); ++i) {
    ASSERT_EQ(static_cast<float>(mp[i]), static_cast<float>(c10::BFloat16((1.0f - 0.9f) * gp[i]))) << i;
    ASSERT_EQ(static_cast<float>(vp[i]), static_cast<float>(c10::BFloat16((1.0f - 0.999f) * gp[i] * gp[i]))) << i;
  }
  auto fp32 = [](at::Tensor& q) -> std::unique_ptr<torch::optim::Optimizer> {
    return std::make_unique<torch::optim::AdamW>(std::vector<at::Tensor>{q}, torch::optim::AdamWOptions(0.05).weight_decay(0.1));
  };
  const at::Tensor a = run(p0, 30, fp32), b = run(p0, 30, bf16);
  const double moved = (a - p0).abs().mean().item<double>(), diff = (a - b).abs().mean().item<double>();
  EXPECT_LT(diff, 0.02 * moved);
  EXPECT_GT(diff, 0.0);  // rounded: not the same bits
}

// Float32 moments from a checkpoint (set_adam_state) are taken into bfloat16 at the next step.
TEST(AdamBf16Moments, Float32StateIsTakenIn) {
  at::manual_seed(3);
  at::Tensor p = at::randn({40, 8}).set_requires_grad(true);
  tkg::AdamBf16Moments<torch::optim::AdamW> opt({p}, torch::optim::AdamWOptions(0.01), {p});
  tkg::set_adam_state(opt, p, tkg::AdamMoments{5, at::full({40, 8}, 0.5f), at::full({40, 8}, 0.25f)});
  p.mutable_grad() = at::zeros({40, 8});
  opt.step();
  const tkg::AdamMoments m = tkg::get_adam_state(opt, p);
  EXPECT_EQ(m.step, 6);
  EXPECT_EQ(m.exp_avg.scalar_type(), at::kBFloat16);
  EXPECT_NEAR(m.exp_avg.to(at::kFloat).mean().item<double>(), 0.45, 2e-3);
  EXPECT_NEAR(m.exp_avg_sq.to(at::kFloat).mean().item<double>(), 0.25 * 0.999, 2e-3);
}
