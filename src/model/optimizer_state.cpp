#include "model/optimizer_state.hpp"

#include <ATen/ATen.h>
#include <torch/optim/adam.h>
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


torch::optim::OptimizerParamState* find_raw(torch::optim::Optimizer& opt, const at::Tensor& param) {
  auto& st = opt.state();
  using Key = typename std::decay_t<decltype(st)>::key_type;
  auto it = st.find(state_key<Key>(param));
  return it == st.end() ? nullptr : it->second.get();
}

// Calls f on the Adam or AdamW state of `param` (the same fields in both); false when it has none.
template <typename F>
bool with_state(torch::optim::Optimizer& opt, const at::Tensor& param, F&& f) {
  torch::optim::OptimizerParamState* raw = find_raw(opt, param);
  if (!raw) return false;
  if (auto* w = dynamic_cast<torch::optim::AdamWParamState*>(raw))
    f(*w);
  else if (auto* a = dynamic_cast<torch::optim::AdamParamState*>(raw))
    f(*a);
  else
    throw InternalError("only Adam and AdamW optimizer state is supported");
  return true;
}

template <typename State>
std::unique_ptr<torch::optim::OptimizerParamState> make_state(const at::Tensor& param, const AdamMoments& m, bool copy = true) {
  auto s = std::make_unique<State>();
  s->step(m.step);
  s->exp_avg(copy ? m.exp_avg.to(param.device()).clone() : m.exp_avg);
  s->exp_avg_sq(copy ? m.exp_avg_sq.to(param.device()).clone() : m.exp_avg_sq);
  return s;
}

}  // namespace

AdamMoments get_adam_state(torch::optim::Optimizer& opt, const at::Tensor& param) {
  AdamMoments m;
  with_state(opt, param, [&](auto& s) {
    m.step = s.step();
    m.exp_avg = s.exp_avg();
    m.exp_avg_sq = s.exp_avg_sq();
  });
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
  // The state kind of the optimizer (the moments mean the same in both).
  if (dynamic_cast<torch::optim::Adam*>(&opt))
    st[state_key<Key>(param)] = make_state<torch::optim::AdamParamState>(param, m);
  else
    st[state_key<Key>(param)] = make_state<torch::optim::AdamWParamState>(param, m);
}

void put_adam_state(torch::optim::Optimizer& opt, const at::Tensor& param, const AdamMoments& m) {
  auto& st = opt.state();
  using Key = typename std::decay_t<decltype(st)>::key_type;
  TKG_CHECK(m.exp_avg.sizes() == param.sizes() && m.exp_avg_sq.sizes() == param.sizes(), "Adam moments shape");
  if (dynamic_cast<torch::optim::Adam*>(&opt))
    st[state_key<Key>(param)] = make_state<torch::optim::AdamParamState>(param, m, /*copy=*/false);
  else
    st[state_key<Key>(param)] = make_state<torch::optim::AdamWParamState>(param, m, /*copy=*/false);
}

void permute_optimizer_rows(torch::optim::Optimizer& opt, const at::Tensor& param, const at::Tensor& perm) {
  with_state(opt, param, [&](auto& s) {
    s.exp_avg(s.exp_avg().gather(1, perm));
    s.exp_avg_sq(s.exp_avg_sq().gather(1, perm));
    if (s.max_exp_avg_sq().defined() && s.max_exp_avg_sq().numel()) s.max_exp_avg_sq(s.max_exp_avg_sq().gather(1, perm));
  });
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
