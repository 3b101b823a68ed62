// How a layer gets its halo rows and propagates (DESIGN §4 "One layer on rank r"), behind one
// interface so the trainer does not branch on it: the plain path exchanges the send rows (with β,
// optionally bf16 below layer 0) and then runs the whole local graph; the overlapped path runs the
// interior edges while the rows are in flight, then the boundary edges (docs/scaling.md §3).
// Either way every rank makes the same collectives, whatever its row counts.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

#include "model/overlapped_layer.hpp"
#include "model/propagate.hpp"

namespace tkg {

class Communicator;
struct ExchangePlan;

struct LayerPathContext {
  const LayerGraph* graph = nullptr;        // the whole local graph (plain path)
  const ExchangePlan* halo = nullptr;           // the shard's halo plan (send_index over the owned rows)
  const ExchangePlan* halo_packed = nullptr;    // the same for a tensor of the send rows only
  Communicator* comm = nullptr;             // moves the rows
  Attention attention = Attention::kTopK;
  bool fused = true;                        // fused operator (else the ATen composition)
  bool bf16_halo = false;                   // halos of layers >= 1 as bfloat16
  Recompute recompute = Recompute::kWeights;  // what the fused operator keeps per edge
  bool saved_bf16 = false;                    // layer inputs kept for the backward as bfloat16
  bool single_rank = false;                 // a world of one (no peer: no copy of the layer input)
};

class LayerPath {
 public:
  virtual ~LayerPath() = default;
  // One layer: x [n_own, w], beta [n_own] float32 -> y [n_own, w]. *halo_x: the halo rows of x
  // the layer used [n_halo, w]. given_halo (layer 0 of a GNAQ table, which moves its own rows):
  // x's halo rows already here; then only β travels, and the plain path runs.
  virtual at::Tensor run(const at::Tensor& x, const at::Tensor& beta, int layer, const at::Tensor& given_halo,
                         at::Tensor* halo_x) = 0;
};

std::unique_ptr<LayerPath> make_plain_layer_path(const LayerPathContext& c);
// `overlap` (interior and boundary graphs) must outlive the path; layers with a given halo take
// the plain path (c.graph is then needed).
std::unique_ptr<LayerPath> make_overlapped_layer_path(const LayerPathContext& c, const OverlapLayer* overlap);

}  // namespace tkg
