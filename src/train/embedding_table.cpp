#include "train/embedding_table.hpp"

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include <vector>

#include "common/error.hpp"
#include "model/optimizer_state.hpp"
#include "quant/quant_embedding.hpp"
#include "quant/quantized_table.hpp"

namespace tkg {

// ---- fp32 ----

Fp32Table::Fp32Table(at::Tensor rows) : rows_(std::move(rows)) { rows_.set_requires_grad(true); }

int64_t Fp32Table::width() const { return rows_.size(1); }

at::Tensor Fp32Table::layer0(at::Tensor* halo) {
  *halo = at::Tensor();
  return rows_;
}

at::Tensor Fp32Table::x0_host() const { return rows_.detach().to(at::kCPU).contiguous(); }

void Fp32Table::keep_best() { best_ = rows_.detach().clone(); }

void Fp32Table::restore_best() {
  if (!best_.defined()) return;
  at::NoGradGuard no_grad;
  rows_.copy_(best_);
}

// ---- GNAQ ----

GnaqTable::GnaqTable(const at::Tensor& rows, const QuantOptions& q, const TableContext& ctx) : q_(q), ctx_(ctx) {
  const int bits = q.bits;
  TKG_CHECK(bits == 1 || bits == 2 || bits == 4 || bits == 8, "quant.bits must be 1, 2, 4 or 8");
  // RAU: the presets, then explicit overrides of the input and the binning.
  rau_input_ = q.rau == "paper" ? "neighbours" : q.rau == "code" ? "propagated" : "";
  rau_bins_ = q.rau == "paper" ? "levels" : q.rau == "code" ? "uniform" : "";
  if (!q.rau_input.empty()) rau_input_ = q.rau_input;
  if (!q.rau_bins.empty()) rau_bins_ = q.rau_bins;
  at::NoGradGuard no_grad;
  const int64_t n = rows.size(0), d = rows.size(1), L = int64_t{1} << bits;
  at::Tensor table = rows.detach().to(at::kCPU).contiguous();  // quantized on the host
  at::Tensor codes = at::empty({n, d}, at::kByte);              // [n_own, d]
  at::Tensor lv = at::empty({n, L}, at::kFloat);                // [n_own, 2^b]
  quantize_rows(table.data_ptr<float>(), n, d, bits, codes.data_ptr<uint8_t>(), lv.data_ptr<float>());
  codes_ = codes.to(rows.device());
  levels_ = lv.to(rows.device()).set_requires_grad(true);
}

int64_t GnaqTable::width() const { return codes_.size(1) + (q_.concat_levels ? levels_.size(1) : 0); }

// H⁰ rows from (FP8-rounded) levels and codes: [n, d] or [n, d + 2^b].
at::Tensor GnaqTable::rows_of(const at::Tensor& lv, const at::Tensor& codes) const {
  at::Tensor x = dequantize_rows(lv, codes);  // [n, d] e'[i,t] = S[i, q[i,t]] (codes kept as uint8)
  if (q_.tanh) x = at::tanh(x);
  if (q_.concat_levels) x = at::cat({x, lv}, 1);
  return x;
}

at::Tensor GnaqTable::layer0(at::Tensor* halo) {
  at::Tensor lv = fp8_round_ste(levels_);  // [n_own, 2^b]
  at::Tensor owned = rows_of(lv, codes_);   // [n_own, w]
  if (q_.fp8_halo) {
    QuantHalo qh = quantized_halo_exchange(lv, codes_, q_.bits, *ctx_.halo, *ctx_.tcomm);
    *halo = rows_of(qh.levels, qh.codes);
  } else {
    *halo = halo_exchange(owned, *ctx_.halo, *ctx_.tcomm);
  }
  return owned;
}

at::Tensor GnaqTable::x0_host() const {
  at::NoGradGuard no_grad;
  return dequantize_rows(fp8_round_ste(levels_), codes_).to(at::kCPU).contiguous();  // [n_own, d]
}

void GnaqTable::keep_best() {
  best_levels_ = levels_.detach().clone();
  best_codes_ = codes_.clone();
}

void GnaqTable::restore_best() {
  if (!best_levels_.defined()) return;
  at::NoGradGuard no_grad;
  levels_.copy_(best_levels_);
  codes_.copy_(best_codes_);
}

void GnaqTable::set_kept_best(const at::Tensor& parameter, const at::Tensor& codes) {
  best_levels_ = parameter.to(levels_.device()).clone();
  best_codes_ = codes.to(codes_.device()).clone();
}

void GnaqTable::load(const uint8_t* codes, const float* levels) {
  at::NoGradGuard no_grad;
  codes_.copy_(at::from_blob(const_cast<uint8_t*>(codes), codes_.sizes(), at::kByte));
  levels_.copy_(at::from_blob(const_cast<float*>(levels), levels_.sizes(), at::kFloat));
}

void GnaqTable::after_step(torch::optim::Optimizer& opt, const at::Tensor& final_owned) {
  at::NoGradGuard no_grad;
  ++steps_;
  const int bits = q_.bits;
  const int64_t n = levels_.size(0), d = codes_.size(1), L = levels_.size(1);
  if (q_.dqs) {  // dynamic quantization step: sorted levels, codes and Adam moments follow
    // Sorted on the host (a copy when the model lives on a GPU).
    std::vector<uint8_t> perm(static_cast<size_t>(n * L));
    at::Tensor lv = levels_.detach().to(at::kCPU).contiguous(), cd = codes_.to(at::kCPU).contiguous();  // [n, L], [n, d]
    sort_levels(lv.data_ptr<float>(), cd.data_ptr<uint8_t>(), n, d, bits, perm.data());
    if (lv.data_ptr() != levels_.data_ptr()) levels_.copy_(lv);  // not sorted in place
    if (cd.data_ptr() != codes_.data_ptr()) codes_.copy_(cd);
    at::Tensor p = at::from_blob(perm.data(), {n, L}, at::kByte).to(at::kLong).to(levels_.device());  // [n, L]
    permute_optimizer_rows(opt, levels_, p);
  }
  if (rau_input_.empty() || steps_ % q_.rau_every != 0) return;
  at::Tensor values;  // [n_own, d] the aggregate to re-quantize
  if (rau_input_ == "neighbours") {
    // Mean of the first-order neighbours' dequantized embeddings (halo rows through the same
    // exchange as layer 0).
    at::Tensor lv = fp8_round_ste(levels_);
    at::Tensor own = dequantize_rows(lv, codes_);  // [n_own, d]
    at::Tensor halo;
    if (q_.fp8_halo) {
      QuantHalo qh = quantized_halo_exchange(lv, codes_, bits, *ctx_.halo, *ctx_.tcomm);
      halo = dequantize_rows(qh.levels, qh.codes);
    } else {
      halo = halo_exchange(own, *ctx_.halo, *ctx_.tcomm);
    }
    values = neighbour_mean(*ctx_.graph, at::cat({own, halo}, 0));
  } else {
    TKG_CHECK(final_owned.defined(), "RAU from the propagated embedding needs the step's forward");
    values = final_owned.narrow(1, 0, d);
  }
  at::Tensor old_codes = codes_.clone();
  codes_.copy_(rebin_codes(values, levels_, bits, rau_bins_));
  // Nodes without neighbours have no aggregate: they keep their codes.
  const LayerGraph& g = *ctx_.graph;
  at::Tensor isolated = (g.indptr.narrow(0, 1, n) == g.indptr.narrow(0, 0, n)).nonzero().squeeze(1);
  if (isolated.numel()) codes_.index_copy_(0, isolated, old_codes.index_select(0, isolated));
}

}  // namespace tkg
