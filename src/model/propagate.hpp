// One TopKGAT propagation layer on a shard (DESIGN §2): the operator (shapes, dtypes, devices)
// and its dispatcher (propagate.cpp: argument checks, autograd, CPU or CUDA). Kernels:
// propagate_cpu.cpp (portable), propagate_avx2.cpp (AVX2), propagate_cuda.cu (CUDA); the
// reference composition of ATen ops: propagate_reference.cpp; the graph: layer_graph.hpp.
//
//   x̂ = x / max(‖x‖, 1e-12)                                   (row-wise, for the score only)
//   a_e = ω(x̂_v·x̂_w − β_u(e)) / sqrt(d_v d_w)                 for every edge e = (v, w) of the local CSR
//   y_v = Σ_{e=(v,w)} a_e x_w                                   for every owned node v
// where u(e) is the user endpoint of e (β is per user; items have none). The same a_e is used in
// both directions because an edge between an owned user and an owned item appears in both rows.
//
// Attention variants (one engine, one flag):
//   kTopK     ω(t) = 4σ(t)σ(−t) = 4σ'(t)      TopKGAT (band-pass around β)
//   kOne      ω ≡ 1                           LightGCN (β ignored)
//   kRelu     ω(t) = max(t, 0)                NGAT4Rec-like
//   kSoftmax  a_e = softmax over v's row of (x̂_v·x̂_w − β_u(e)), no degree norm  ("w/o ω" ablation)
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/layer_graph.hpp"

namespace tkg {

enum class Attention { kTopK, kOne, kRelu, kSoftmax };
Attention parse_attention(const std::string& name);  // topk | one | relu | softmax
const char* attention_name(Attention a);

// What the fused operator keeps per edge between its forward and its backward. Every mode gives
// the same bits: the recomputed scalars are computed by the same code from the same inputs.
//   kNone     a, cos and dω/√(d_v d_w) per edge (12 bytes per edge for float32)
//   kWeights  cos only (4 bytes); a and dω are recomputed from it in the backward (no dot products)
//   kAll      nothing per edge; the backward reruns the forward kernel (a second forward's work)
enum class Recompute { kNone, kWeights, kAll };
Recompute parse_recompute(const std::string& name);  // none | weights | all
const char* recompute_name(Recompute r);
// Bytes per edge a layer keeps for its backward in mode r (scalar size `s`, attention att).
int64_t saved_bytes_per_edge(Recompute r, Attention att, int64_t s = 4);

// Reference implementation composed of ATen ops (autograd does the backward). Builds E×d
// intermediates; for tests and for the softmax variant.
//   x:    [n_local, d] float/double, CPU (owned rows, then halo rows)
//   beta: [n_local] same dtype (β of user rows; item rows are ignored)
//   returns [n_own, d]
at::Tensor propagate_reference(const at::Tensor& x, const at::Tensor& beta, const LayerGraph& g, Attention att);

// Fused operator with explicit forward and backward (a custom autograd Function): parallel
// over rows (forward) and over rows then columns (backward); only per-edge scalars are stored.
// CPU kernels always; CUDA kernels (propagate_cuda.cu, one warp per row/column) in builds with
// them (TKG_HAVE_CUDA_KERNELS), for CUDA tensors with the graph on the same device.
// Same shapes and semantics as propagate_reference. kSoftmax falls back to the reference.
// saved_bf16: x is kept for the backward as bfloat16 (not exact; float32 x only).
at::Tensor propagate_fused(const at::Tensor& x, const at::Tensor& beta, const LayerGraph& g, Attention att,
                           Recompute recompute = Recompute::kWeights, bool saved_bf16 = false);

// The fused operator's kernels without autograd, for operators that compose them (the overlapped
// halo layer). kSoftmax is not supported (its row normalisation spans interior and boundary edges).
struct PropagateSaved {
  at::Tensor x, beta;         // [n_local, d], [n_local]: the inputs (contiguous)
  at::Tensor a, cos, dom;     // [nnz] per-edge scalars (cos, dom empty for kOne); undefined when dropped
  at::Tensor inv;             // [n_local] 1/‖x‖ (empty for kOne); undefined when dropped
};
// Drops what mode r does not keep (after the forward): kWeights drops a and dom, kAll also cos and inv.
void drop_saved(PropagateSaved* s, Recompute r);
// Puts back what drop_saved dropped (before the backward), from the kept scalars or by running the
// forward kernel again; the same bits as the forward's.
void restore_saved(PropagateSaved* s, const LayerGraph& g, Attention att);
at::Tensor propagate_forward(const at::Tensor& x, const at::Tensor& beta, const LayerGraph& g, Attention att,
                             PropagateSaved* saved);  // returns y [n_own, d]
// gy [n_own, d] -> gx [n_local, d], gbeta [n_local]
void propagate_backward(const PropagateSaved& saved, const at::Tensor& gy, const LayerGraph& g, Attention att,
                        at::Tensor* gx, at::Tensor* gbeta);

// While alive, the CPU kernels launched from this thread run their blocks in a few groups and
// call `progress` between them (e.g. to let an MPI transfer in flight advance). Nests.
class KernelProgressScope {
 public:
  explicit KernelProgressScope(const std::function<void()>* progress);
  ~KernelProgressScope();
  KernelProgressScope(const KernelProgressScope&) = delete;
  KernelProgressScope& operator=(const KernelProgressScope&) = delete;

 private:
  const std::function<void()>* previous_;
};

// The CPU kernels' AVX2 path (float32, d = 32/64/128, on CPUs with AVX2 + FMA; bit-identical to
// the portable kernels): on by default; off for comparisons. Returns whether it runs for width d.
void set_cpu_simd_kernels(bool on);
bool cpu_simd_kernels(int64_t d);
// Whether the CPU backward skips the rows whose output gradient is all zero (their edges add exact
// zeros: a mini-batch's top layers, where only the batch's rows have a gradient). Default on; the
// results are the same either way (Propagate.SkippingZeroGradientRowsChangesNothing).
void set_cpu_skip_zero_rows(bool on);

// Whether propagate_fused has kernels for tensors on `device` in this build.
bool fused_supported(const at::Device& device);

}  // namespace tkg
