// The layer-0 table H⁰ of a rank's owned nodes behind one interface (DESIGN §2, §3):
//   Fp32Table  — fp32 rows, the learnable parameter (TopKGAT, and GNAQ's warm-up phase);
//   GnaqTable  — GNAQ: b-bit codes (not learnable) + 2^b learnable levels per node, FP8-rounded
//                in the forward pass; after every optimizer step DQS (sorted levels) and RAU
//                (codes refreshed from a neighbourhood aggregate).
// The trainer asks the table for H⁰, hands its parameter to the optimizer and calls after_step;
// it never branches on which table it has.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

#include "model/collective_ops.hpp"
#include "model/propagate.hpp"
#include "train/options.hpp"

namespace torch::optim {
class Optimizer;
}

namespace tkg {

class Communicator;

// What a table needs from the rank for its exchanges (GNAQ's halo and RAU).
struct TableContext {
  const LayerGraph* graph = nullptr;  // the local layer graph (owned rows, halo columns)
  const ExchangePlan* halo = nullptr;     // the layer halo exchange plan
  Communicator* tcomm = nullptr;      // moves rows
};

class EmbeddingTable {
 public:
  virtual ~EmbeddingTable() = default;
  virtual bool quantized() const = 0;
  virtual int64_t width() const = 0;  // columns of H⁰
  // H⁰ of the owned nodes [n_own, width] (differentiable w.r.t. parameter()). A table that moves
  // its own layer-0 halo (GNAQ with FP8 halos) also fills *halo with the halo rows [n_halo, width]
  // (collective); otherwise *halo stays undefined and the trainer exchanges H⁰ together with β.
  virtual at::Tensor layer0(at::Tensor* halo) = 0;
  // The learnable tensor (the optimizer updates it in place).
  virtual at::Tensor& parameter() = 0;
  // After each optimizer step. final_owned: this step's final embeddings [n_own, w] (detached).
  // Collective when it exchanges (GNAQ's RAU); every rank calls it.
  virtual void after_step(torch::optim::Optimizer& opt, const at::Tensor& final_owned) = 0;
  // The X⁰ rows [n_own, d] float32 on the CPU (fp32, or dequantized).
  virtual at::Tensor x0_host() const = 0;
  virtual void keep_best() = 0;     // copy of the current state
  virtual void restore_best() = 0;  // back to the copy (no-op without one)
  // The kept copy of parameter() (undefined without one), and setting it (checkpoints).
  virtual at::Tensor kept_best() const = 0;
  virtual void set_kept_best(const at::Tensor& parameter, const at::Tensor& codes) = 0;
};

class Fp32Table final : public EmbeddingTable {
 public:
  // rows: [n_own, d] float32 on the model's device; becomes the parameter.
  explicit Fp32Table(at::Tensor rows);
  bool quantized() const override { return false; }
  int64_t width() const override;
  at::Tensor layer0(at::Tensor* halo) override;
  at::Tensor& parameter() override { return rows_; }
  void after_step(torch::optim::Optimizer&, const at::Tensor&) override {}
  at::Tensor x0_host() const override;
  void keep_best() override;
  void restore_best() override;
  at::Tensor kept_best() const override { return best_; }
  void set_kept_best(const at::Tensor& parameter, const at::Tensor&) override { best_ = parameter.to(rows_.device()).clone(); }

 private:
  at::Tensor rows_;  // [n_own, d] float32 parameter
  at::Tensor best_;
};

class GnaqTable final : public EmbeddingTable {
 public:
  // Quantizes `rows` [n_own, d] (bin midpoints, DESIGN §3) with q.bits bits.
  GnaqTable(const at::Tensor& rows, const QuantOptions& q, const TableContext& ctx);
  bool quantized() const override { return true; }
  int64_t width() const override;
  at::Tensor layer0(at::Tensor* halo) override;
  at::Tensor& parameter() override { return levels_; }
  void after_step(torch::optim::Optimizer& opt, const at::Tensor& final_owned) override;
  at::Tensor x0_host() const override;
  void keep_best() override;
  void restore_best() override;
  at::Tensor kept_best() const override { return best_levels_; }
  void set_kept_best(const at::Tensor& parameter, const at::Tensor& codes) override;
  at::Tensor kept_best_codes() const { return best_codes_; }  // [n_own, d] uint8 (undefined without a copy)
  int64_t steps() const { return steps_; }                    // optimizer steps since quantizing (RAU cadence)
  void set_steps(int64_t s) { steps_ = s; }

  // Replaces codes [n_own, d] uint8 and levels [n_own, 2^b] float32 (host arrays).
  void load(const uint8_t* codes, const float* levels);
  at::Tensor& levels() { return levels_; }  // [n_own, 2^b] float32 parameter on the model's device
  at::Tensor& codes() { return codes_; }    // [n_own, d] uint8 on the model's device

 private:
  at::Tensor rows_of(const at::Tensor& lv, const at::Tensor& codes) const;  // H⁰ from levels and codes
  QuantOptions q_;
  TableContext ctx_;
  std::string rau_input_, rau_bins_;  // neighbours | propagated; levels | uniform (empty: RAU off)
  int64_t steps_ = 0;
  at::Tensor levels_, codes_;
  at::Tensor best_levels_, best_codes_;
};

}  // namespace tkg
