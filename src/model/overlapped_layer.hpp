// One TopKGAT layer whose halo exchange overlaps its compute (docs/scaling.md §3).
//
// Forward:  start the all-to-all of the send rows (x and β) -> propagate the interior edges
//           (both endpoints owned) while the rows are in flight -> wait -> propagate the boundary
//           edges (column a halo node) and add.
// Backward: the boundary edges' backward first (it yields the halo rows' gradients) -> start the
//           reverse all-to-all of those gradients -> the interior edges' backward while they are
//           in flight -> wait -> sum the returned gradients into the owned send rows.
// The result equals halo_exchange + propagate_fused over the whole local graph up to the order of
// float additions (interior and boundary partial sums of a row are added, not accumulated in one
// pass). Every rank makes both exchanges in every call, with zero rows where it has none.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

#include "model/collective_ops.hpp"
#include "model/propagate.hpp"

namespace tkg {

class Communicator;

// What an overlapped layer needs of its shard, built once per trainer.
struct OverlapLayer {
  LayerGraph interior;     // EdgeSet::kInterior, on the model's device
  LayerGraph boundary;     // EdgeSet::kBoundary, on the model's device
  const ExchangePlan* plan = nullptr;  // the shard's halo plan (send_index over the owned rows)
  Communicator* comm = nullptr;
  Attention att = Attention::kTopK;  // not kSoftmax
  Recompute recompute = Recompute::kWeights;  // what each edge set keeps for the backward
};
OverlapLayer make_overlap_layer(const Shard& shard, const at::Device& device, const ExchangePlan& plan, Communicator& comm,
                                Attention att, Recompute recompute = Recompute::kWeights);

// x_own [n_own, w] float32, b_own [n_own] float32 (β of owned users, 0 for items), on the model's
// device. Returns {y [n_own, w], halo_x [n_halo, w]}: the layer's output and the halo rows of
// x it received (differentiable; their gradient returns to the owners with the layer's own).
// bf16: rows and gradients travel as bfloat16.
// saved_bf16: x_own and the halo rows kept for the backward as bfloat16 (not exact).
std::pair<at::Tensor, at::Tensor> overlapped_halo_layer(const at::Tensor& x_own, const at::Tensor& b_own,
                                                        const OverlapLayer& layer, bool bf16 = false, bool saved_bf16 = false);

}  // namespace tkg
