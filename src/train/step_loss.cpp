#include "train/step_loss.hpp"

#include <ATen/ATen.h>

#include "model/bpr_loss.hpp"
#include "model/lambda_weights.hpp"

namespace tkg {

at::Tensor step_loss(const StepLossInputs& in) {
  const at::Tensor &table = in.table, &tu = in.tu, &ti = in.ti, &tj = in.tj;
  at::Tensor bpr = in.fused ? bpr_loss_fused(table, table, tu, ti, tj, in.inv_n)
                            : bpr_loss_reference(table, table, tu, ti, tj, in.inv_n);
  // λ/2 · (Σ_lines ‖x⁰_u‖² + ‖x⁰_i‖² + ‖x⁰_j‖²) / N, as per-row counts times squared norms, counted
  // where the rows are: owned and halo rows here; fetched negatives at their owners (owner_counts).
  at::Tensor counts = at::bincount(at::cat({tu, ti, tj}), {}, in.n_local + in.n_fetched).narrow(0, 0, in.n_local).to(at::kFloat);  // [n_local]
  if (in.owner_counts.defined()) counts.narrow(0, 0, in.n_own).add_(in.owner_counts);
  at::Tensor reg = (in.x0_local.pow(2).sum(1) * counts).sum() * (0.5 * in.reg * in.inv_n);
  at::Tensor loss = bpr + reg;
  if (in.rank_loss > 0) {
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
