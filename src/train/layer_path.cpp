#include "train/layer_path.hpp"

#include <ATen/ATen.h>

#include "common/error.hpp"
#include "common/phase_profile.hpp"
#include "model/collective_ops.hpp"

namespace tkg {

namespace {

class PlainLayerPath : public LayerPath {
 public:
  explicit PlainLayerPath(const LayerPathContext& c) : c_(c) {}
  at::Tensor run(const at::Tensor& x, const at::Tensor& bo, int l, const at::Tensor& given, at::Tensor* halo_x) override {
    const int64_t w = x.size(1);
    at::Tensor xin, bin;  // [n_local, w], [n_local]
    if (given.defined()) {
      at::Tensor bh = halo_exchange(bo.unsqueeze(1), *c_.halo, *c_.comm);  // [n_halo, 1]
      xin = at::cat({x, given}, 0);
      bin = at::cat({bo, bh.squeeze(1)}, 0);
      *halo_x = given;
    } else {
      // The rows (and β) peers need, as one message: only the send rows are packed, so the copies
      // follow the halo traffic, not the shard.
      const at::Tensor& si = c_.halo->send_index;
      at::Tensor xb = at::cat({x.index_select(0, si), bo.index_select(0, si).unsqueeze(1)}, 1);  // [n_send, w+1]
      // Layer 0 stays exact (it feeds the loss's λ term and RAU); deeper halos may travel as bf16.
      at::Tensor halo = halo_exchange(xb, *c_.halo_packed, *c_.comm, c_.bf16_halo && l > 0);  // [n_halo, w+1]
      // The exchange's output always feeds the layer, zero rows or not, so its backward (a
      // collective) runs on every rank. Only a world of one skips the copy (no peer to pair with).
      if (c_.single_rank) {
        xin = x;
        bin = bo;
      } else {
        xin = at::cat({x, halo.narrow(1, 0, w)}, 0);  // [n_local, w]
        bin = at::cat({bo, halo.select(1, w)}, 0);    // [n_local]
      }
      *halo_x = halo.narrow(1, 0, w);
    }
    xin = xin.contiguous();
    bin = bin.contiguous();
    TKG_CHECK(c_.graph && c_.graph->indptr.defined(), "the plain layer path needs the whole local graph");
    profile::Scope ps("layer.forward");
    return c_.fused ? propagate_fused(xin, bin, *c_.graph, c_.attention, c_.recompute, c_.saved_bf16 && l > 0) : propagate_reference(xin, bin, *c_.graph, c_.attention);
  }

 private:
  LayerPathContext c_;
};

class OverlappedLayerPath : public LayerPath {
 public:
  OverlappedLayerPath(const LayerPathContext& c, const OverlapLayer* o) : plain_(c), c_(c), overlap_(o) {}
  at::Tensor run(const at::Tensor& x, const at::Tensor& bo, int l, const at::Tensor& given, at::Tensor* halo_x) override {
    if (given.defined()) return given_halo(x, bo, given, halo_x);
    // Exchange, interior edges and boundary edges in one operator (forward and backward overlap).
    profile::Scope ps("layer.forward");
    // Layer 0's input is the table itself (kept at no cost): only deeper inputs are copied to bf16.
    auto [y, hx] = overlapped_halo_layer(x, bo, *overlap_, c_.bf16_halo && l > 0, c_.saved_bf16 && l > 0);
    *halo_x = hx;
    return y;
  }

 private:
  // A layer whose halo rows the table moved itself (GNAQ layer 0): the interior and boundary graphs
  // with the given rows, no exchange of x (β's halo still travels), so the whole local graph is
  // not needed. The same sum as the whole graph up to the order of float additions (the
  // overlapped layer's split).
  at::Tensor given_halo(const at::Tensor& x, const at::Tensor& bo, const at::Tensor& given, at::Tensor* halo_x) {
    profile::Scope ps("layer.forward");
    at::Tensor bh = halo_exchange(bo.unsqueeze(1), *c_.halo, *c_.comm).squeeze(1);  // [n_halo]
    at::Tensor y = propagate_fused(x.contiguous(), bo.contiguous(), overlap_->interior, c_.attention, c_.recompute);  // [n_own, w]
    const at::Tensor& rows = overlap_->boundary.owned_rows;  // [n_b] int64
    at::Tensor xin = at::cat({x.index_select(0, rows), given}, 0).contiguous();  // [n_b + n_halo, w]
    at::Tensor bin = at::cat({bo.index_select(0, rows), bh}, 0).contiguous();    // [n_b + n_halo]
    y = y.index_add(0, rows, propagate_fused(xin, bin, overlap_->boundary, c_.attention, c_.recompute));
    *halo_x = given;
    return y;
  }

  PlainLayerPath plain_;
  LayerPathContext c_;
  const OverlapLayer* overlap_;
};

}  // namespace

std::unique_ptr<LayerPath> make_plain_layer_path(const LayerPathContext& c) { return std::make_unique<PlainLayerPath>(c); }

std::unique_ptr<LayerPath> make_overlapped_layer_path(const LayerPathContext& c, const OverlapLayer* overlap) {
  return std::make_unique<OverlappedLayerPath>(c, overlap);
}

}  // namespace tkg
