#include "train/step_loss.hpp"

#include <ATen/ATen.h>

#include "model/bpr_loss.hpp"
#include "model/lambda_weights.hpp"

namespace tkg {

at::Tensor step_loss(const StepLossInputs& in) {
  const at::Tensor &tu = in.tu, &ti = in.ti, &tj = in.tj;
  at::Tensor loss = in.fused ? bpr_loss_fused(in.owned, in.halo, in.fetched, tu, ti, tj, in.inv_n)
                             : bpr_loss_reference(in.owned, in.halo, in.fetched, tu, ti, tj, in.inv_n);
  // λ/2 · (Σ_lines ‖x⁰_u‖² + ‖x⁰_i‖² + ‖x⁰_j‖²) / N, as per-row counts times squared norms, counted
  // where the rows are: owned and halo rows here; fetched negatives at their owners (owner_counts).
  // λ = 0 adds nothing (and every rank has the same λ, so skipping it is no rank's decision).
  if (in.reg != 0) {
    at::Tensor counts = at::bincount(at::cat({tu, ti, tj}).to(at::kLong), {}, in.n_local + in.n_fetched).narrow(0, 0, in.n_local).to(at::kFloat);  // [n_local]
    if (in.owner_counts.defined()) counts.narrow(0, 0, in.n_own).add_(in.owner_counts);
    at::Tensor sq = in.x0_owned.pow(2).sum(1) * counts.narrow(0, 0, in.n_own);  // [n_own]
    if (in.x0_halo.defined()) sq = at::cat({sq, in.x0_halo.pow(2).sum(1) * counts.narrow(0, in.n_own, in.n_local - in.n_own)});  // [n_local]
    loss = loss + sq.sum() * (0.5 * in.reg * in.inv_n);
  }
  if (in.rank_loss > 0) {
    std::vector<at::Tensor> parts{in.owned};
    for (const at::Tensor* t : {&in.halo, &in.fetched})
      if (t->defined()) parts.push_back(*t);
    const at::Tensor table = at::cat(parts, 0);  // [n_local + n_fetched, w]
    const int64_t n = tu.size(0);
    at::Tensor xu = table.index_select(0, tu);                   // [n, w]
    at::Tensor s_pos = (xu * table.index_select(0, ti)).sum(1);  // [n]
    at::Tensor s_neg = (xu * table.index_select(0, tj)).sum(1);  // [n]
    at::Tensor sp = s_pos.detach().to(at::kCPU).contiguous(), sn = s_neg.detach().to(at::kCPU).contiguous();  // [n]
    std::vector<float> wv = lambda_weights(*in.line_users, sp.data_ptr<float>(), sn.data_ptr<float>());
    at::Tensor wts = at::from_blob(wv.data(), {n}, at::kFloat).to(table.device(), false, /*copy=*/true);  // [n]
    loss = loss + at::softplus(s_neg - s_pos).mul(wts).sum() * (in.rank_loss * in.inv_n);
  }
  return loss;
}

}  // namespace tkg
