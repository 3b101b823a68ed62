// The BPR term of the training loss, as a fused operator (no [lines, d] intermediates):
//   loss = scale · Σ_k softplus( local[u_k]·negs[j_k] − local[u_k]·local[i_k] )
// local: [n_local, d] float32 final embeddings of users and positives; negs: [Q, d] float32 final
// embeddings of the negatives (may be the same tensor as local: the trainer passes one table of
// owned, halo and fetched rows); lu, li: [n] int64 rows of local; lj: [n] int64 rows of negs.
// Returns a 0-dim tensor; gradients flow to local and negs. The fused kernel is CPU-only:
// tensors on another device take the ATen composition (bpr_loss_reference).
#pragma once

#include <ATen/core/Tensor.h>

namespace tkg {

at::Tensor bpr_loss_fused(const at::Tensor& local, const at::Tensor& negs, const at::Tensor& lu,
                          const at::Tensor& li, const at::Tensor& lj, double scale);

// The same with ATen ops (autograd): tests, and non-CPU tensors.
at::Tensor bpr_loss_reference(const at::Tensor& local, const at::Tensor& negs, const at::Tensor& lu,
                              const at::Tensor& li, const at::Tensor& lj, double scale);

}  // namespace tkg
