#include <ATen/ATen.h>

#include "common/error.hpp"
#include "model/propagate.hpp"

namespace tkg {

// ---------------------------------------------------------------------------------------------
// Reference (ATen ops, autograd)

at::Tensor propagate_reference(const at::Tensor& x, const at::Tensor& beta, const LayerGraph& g, Attention att) {
  TKG_CHECK(x.dim() == 2 && x.size(0) == g.n_local, "x must be [n_local, d]");
  TKG_CHECK(beta.dim() == 1 && beta.size(0) == g.n_local, "beta must be [n_local]");
  at::Tensor norm = g.norm.to(x.scalar_type());
  const at::Tensor rows = edge_rows(g);  // [nnz] int32
  at::Tensor a;
  if (att == Attention::kOne) {
    a = norm;
  } else {
    at::Tensor xh = x / x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
    at::Tensor cos = (xh.index_select(0, rows) * xh.index_select(0, g.indices)).sum(1);
    at::Tensor t = cos - beta.index_select(0, edge_users(g));
    switch (att) {
      case Attention::kTopK: a = 4.0 * at::sigmoid(t) * at::sigmoid(-t) * norm; break;
      case Attention::kRelu: a = at::relu(t) * norm; break;
      case Attention::kSoftmax: {
        at::Tensor e = at::exp(t);  // t in [-2, 2]: no overflow, no max shift needed
        at::Tensor denom = at::zeros({g.n_own}, x.options()).index_add(0, rows, e);
        a = e / denom.index_select(0, rows);
        break;
      }
      default: break;
    }
  }
  return at::zeros({g.n_own, x.size(1)}, x.options())
      .index_add(0, rows, a.unsqueeze(1) * x.index_select(0, g.indices));
}


}  // namespace tkg
