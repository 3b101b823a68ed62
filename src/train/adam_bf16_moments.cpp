#include "train/adam_bf16_moments.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <cmath>
#include <tuple>

#include "common/error.hpp"
#include "model/optimizer_state.hpp"

namespace tkg {

template <typename S>
void adam_update(float* param, const float* grad, S* exp_avg, S* exp_avg_sq, int64_t n, int64_t step, double lr,
                 double beta1, double beta2, double eps, double weight_decay, bool decoupled) {
  const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(beta1, static_cast<double>(step))));
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(beta2, static_cast<double>(step))));
  const float e = static_cast<float>(eps), decay = static_cast<float>(1.0 - lr * weight_decay);
  const float wd = static_cast<float>(weight_decay);
  at::parallel_for(0, n, 1 << 14, [&](int64_t b, int64_t end) {
    for (int64_t i = b; i < end; ++i) {
      float g = grad[i], p = param[i];
      if (decoupled) p *= decay;
      else g += wd * p;  // Adam: L2 through the gradient
      const float m = b1 * static_cast<float>(exp_avg[i]) + (1.0f - b1) * g;
      const float v = b2 * static_cast<float>(exp_avg_sq[i]) + (1.0f - b2) * g * g;
      exp_avg[i] = static_cast<S>(m);  // bfloat16: rounded to nearest even
      exp_avg_sq[i] = static_cast<S>(v);
      param[i] = p - step_size * m / (std::sqrt(v) * inv_sqrt_bc2 + e);
    }
  });
}

template void adam_update<float>(float*, const float*, float*, float*, int64_t, int64_t, double, double, double, double,
                                 double, bool);
template void adam_update<c10::BFloat16>(float*, const float*, c10::BFloat16*, c10::BFloat16*, int64_t, int64_t, double,
                                         double, double, double, double, bool);

template <typename Base>
AdamBf16Moments<Base>::AdamBf16Moments(const std::vector<at::Tensor>& params, Options options,
                                       std::vector<at::Tensor> low_precision)
    : Base(params, options), low_precision_(std::move(low_precision)) {
  TKG_CHECK(!options.amsgrad(), "train.moments = bf16 has no AMSGrad");
  for (const at::Tensor& p : params)
    if (!p.device().is_cpu())
      throw InputError("train.moments", 0, "bf16 moments are implemented for CPU models only (model.device = cpu)");
}

template <typename Base>
at::Tensor AdamBf16Moments<Base>::step(torch::optim::Optimizer::LossClosure closure) {
  at::NoGradGuard no_grad;
  at::Tensor loss;
  if (closure) {
    at::AutoGradMode enable(true);
    loss = closure();
  }
  constexpr bool decoupled = std::is_same_v<Base, torch::optim::AdamW>;
  for (auto& group : this->param_groups()) {
    const auto& o = static_cast<const Options&>(group.options());
    const auto [beta1, beta2] = o.betas();
    for (at::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      TKG_CHECK(p.scalar_type() == at::kFloat && p.is_contiguous(), "bf16-moment Adam: float32 contiguous parameters");
      bool low = false;
      for (const at::Tensor& q : low_precision_) low = low || q.unsafeGetTensorImpl() == p.unsafeGetTensorImpl();
      const at::ScalarType kind = low ? at::kBFloat16 : at::kFloat;
      AdamMoments m = get_adam_state(*this, p);
      if (m.step == 0) {
        m.exp_avg = at::zeros(p.sizes(), p.options().dtype(kind));
        m.exp_avg_sq = at::zeros(p.sizes(), p.options().dtype(kind));
      } else if (m.exp_avg.scalar_type() != kind || !m.exp_avg.is_contiguous()) {  // e.g. float32 moments from a checkpoint
        m.exp_avg = m.exp_avg.to(kind).contiguous();
        m.exp_avg_sq = m.exp_avg_sq.to(kind).contiguous();
      }
      const at::Tensor g = p.grad().contiguous();
      ++m.step;
      if (low)
        adam_update(p.data_ptr<float>(), g.data_ptr<float>(), m.exp_avg.data_ptr<c10::BFloat16>(),
                    m.exp_avg_sq.data_ptr<c10::BFloat16>(), p.numel(), m.step, o.lr(), beta1, beta2, o.eps(),
                    o.weight_decay(), decoupled);
      else
        adam_update(p.data_ptr<float>(), g.data_ptr<float>(), m.exp_avg.data_ptr<float>(), m.exp_avg_sq.data_ptr<float>(),
                    p.numel(), m.step, o.lr(), beta1, beta2, o.eps(), o.weight_decay(), decoupled);
      put_adam_state(*this, p, m);
    }
  }
  return loss;
}

template class AdamBf16Moments<torch::optim::AdamW>;
template class AdamBf16Moments<torch::optim::Adam>;

}  // namespace tkg
