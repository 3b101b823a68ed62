#include "model/optimizer_state.hpp"

#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include <sstream>
#include <type_traits>

#include "common/error.hpp"

namespace tkg {

namespace {

template <typename Key>
Key state_key(const at::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    // LibTorch 1.x keys by the printed pointer (c10::guts::to_string, which 2.x no longer has).
    std::ostringstream key;
    key << p.unsafeGetTensorImpl();
    return key.str();
  } else
    return p.unsafeGetTensorImpl();  // LibTorch 2.x keys by pointer
}


torch::optim::AdamWParamState* find_state(torch::optim::Optimizer& opt, const at::Tensor& param) {
  auto& st = opt.state();
  using Key = typename std::decay_t<decltype(st)>::key_type;
  auto it = st.find(state_key<Key>(param));
  if (it == st.end()) return nullptr;
  auto* s = dynamic_cast<torch::optim::AdamWParamState*>(it->second.get());
  TKG_CHECK(s, "only AdamW optimizer state is supported");
  return s;
}

}  // namespace

AdamMoments get_adam_state(torch::optim::Optimizer& opt, const at::Tensor& param) {
  AdamMoments m;
  if (auto* s = find_state(opt, param)) {
    m.step = s->step();
    m.exp_avg = s->exp_avg();
    m.exp_avg_sq = s->exp_avg_sq();
  }
  return m;
}

void set_adam_state(torch::optim::Optimizer& opt, const at::Tensor& param, const AdamMoments& m) {
  auto& st = opt.state();
  using Key = typename std::decay_t<decltype(st)>::key_type;
  if (m.step == 0) {
    st.erase(state_key<Key>(param));
    return;
  }
  TKG_CHECK(m.exp_avg.sizes() == param.sizes() && m.exp_avg_sq.sizes() == param.sizes(), "Adam moments shape");
  auto s = std::make_unique<torch::optim::AdamWParamState>();
  s->step(m.step);
  s->exp_avg(m.exp_avg.to(param.device()).clone());
  s->exp_avg_sq(m.exp_avg_sq.to(param.device()).clone());
  st[state_key<Key>(param)] = std::move(s);
}

void permute_optimizer_rows(torch::optim::Optimizer& opt, const at::Tensor& param, const at::Tensor& perm) {
  auto* s = find_state(opt, param);
  if (!s) return;
  s->exp_avg(s->exp_avg().gather(1, perm));
  s->exp_avg_sq(s->exp_avg_sq().gather(1, perm));
  if (s->max_exp_avg_sq().defined() && s->max_exp_avg_sq().numel()) s->max_exp_avg_sq(s->max_exp_avg_sq().gather(1, perm));
}

void move_optimizer_state(torch::optim::Optimizer& from, torch::optim::Optimizer& to, const at::Tensor& param) {
  auto& a = from.state();
  auto& b = to.state();
  using KeyA = typename std::decay_t<decltype(a)>::key_type;
  using KeyB = typename std::decay_t<decltype(b)>::key_type;
  auto it = a.find(state_key<KeyA>(param));
  if (it == a.end()) return;
  b[state_key<KeyB>(param)] = std::move(it->second);
  a.erase(it);
}

}  // namespace tkg
