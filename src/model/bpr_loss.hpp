// The BPR term of the training loss, as a fused operator (no [lines, d] intermediates):
//   loss = scale · Σ_k softplus( T[u_k]·T[j_k] − T[u_k]·T[i_k] )
// where T = [a; b; c] is the row concatenation of up to three float32 tables of width d (the
// trainer passes its owned, halo and fetched final rows), never built: rows are addressed in
// their blocks, and each block gets its own gradient. lu, li, lj: [n] int32 or int64 rows of T.
// Returns a 0-dim tensor. The fused kernel is CPU-only: tensors on another device take the ATen
// composition (bpr_loss_reference).
#pragma once

#include <ATen/core/Tensor.h>

namespace tkg {

// b and c may be undefined or have 0 rows. Each defined block that requires grad gets one.
at::Tensor bpr_loss_fused(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c, const at::Tensor& lu,
                          const at::Tensor& li, const at::Tensor& lj, double scale);

// The same with ATen ops (autograd; builds the concatenation): tests, and non-CPU tensors.
at::Tensor bpr_loss_reference(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c, const at::Tensor& lu,
                              const at::Tensor& li, const at::Tensor& lj, double scale);

}  // namespace tkg
