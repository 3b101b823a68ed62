// TopKGAT training and evaluation on one rank's shard (DESIGN §2, §4). The same code runs with
// P = 1 (a self communicator, no halo) and P > 1 (MPI): every collective is called on every rank
// in the same order, whatever the rank owns.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eval/metrics.hpp"
#include "eval/topk.hpp"
#include "model/collective_ops.hpp"
#include "model/propagate.hpp"
#include "shard/shard.hpp"
#include "train/options.hpp"

namespace torch::optim {
class AdamW;
}

namespace tkg {

class Communicator;

struct StepTiming {
  double compute_s = 0;  // forward + backward + optimizer, excluding time inside collectives
  double comm_s = 0;     // time inside collectives (communication and waiting for peers)
  uint64_t bytes_sent = 0;
};

class Trainer {
 public:
  // `comm` carries host buffers (control, ids, metric sums: self or MPI). `tensor_comm`, if given,
  // moves the model's rows (halos, the negative pool, evaluation blocks): NCCL for CUDA tensors;
  // by default `comm` moves them too, staging device tensors through the host.
  // model.device: "cpu" or "cuda:N" (parameters, graph and activations live there).
  Trainer(const Shard& shard, const ModelOptions& model, const TrainOptions& train, Communicator& comm,
          Communicator* tensor_comm = nullptr);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One epoch (full batch: one AdamW step; mini-batch: ceil(N / batch_size) steps). Returns the
  // global training loss (mean over the epoch's steps).
  double train_epoch(int64_t epoch);

  // One optimizer step over this rank's train lines `lines` (indices into the rank's lines) with
  // the given negatives (global item ids, one per line). Returns the global loss of the step
  // (BPR mean over all ranks' lines of the step + λ term). For tests: inject negatives.
  double step(const std::vector<int64_t>& lines, const std::vector<int64_t>& negatives);

  // Forward and backward of the same loss without the optimizer step: gradients are left in
  // embedding().grad() and beta_logits().grad(). Collective.
  double forward_backward(const std::vector<int64_t>& lines, const std::vector<int64_t>& negatives);

  // The negatives the sampler draws for `lines` at (epoch, step). With pool_size 0 or >= n_items
  // they depend only on (seed, epoch, step, user id, line position): independent of P.
  std::vector<int64_t> sample_negatives(int64_t epoch, int64_t step, const std::vector<int64_t>& lines);

  // Final embeddings of the owned nodes [n_own, d] float32 on the model's device (no grad). Collective.
  at::Tensor final_embeddings();

  // Full-ranking evaluation of owned users against `target` (one of the shard's splits), train
  // items masked, item blocks passed around a ring. Global metric sums on every rank.
  // If `topk` is given (n_own_users rows), the running top-K lists are kept there. Collective.
  MetricSums evaluate(const OwnedUserItems& target, TopKAccumulator* topk = nullptr);

  // Replaces the parameters: x0 [n_own, d] rows of the owned nodes, beta [n_own_users, L] logits.
  void load_parameters(const float* x0, const float* beta);

  void save_best();     // keep a copy of the current parameters
  void restore_best();  // put the kept copy back

  const Shard& shard() const { return shard_; }
  const at::Device& device() const { return device_; }
  at::Tensor& embedding() { return emb_; }   // [n_own, d] float32 on device(), X⁰ rows of owned nodes (fp32 phase)
  // GNAQ: switch from the fp32 table to codes + levels (quantize_rows of the current table).
  void quantize_now();
  // GNAQ: start from a quantized model: codes [n_own, d] uint8, levels [n_own, 2^b], beta [n_own_users, L].
  void load_quantized(const uint8_t* codes, const float* levels, const float* beta);
  bool quantized() const { return quantized_; }
  at::Tensor& levels() { return levels_; }    // [n_own, 2^b] float32 parameter on device() (GNAQ phase)
  at::Tensor& codes() { return codes_; }      // [n_own, d] uint8 on device() (GNAQ phase)
  // Width of H⁰ and of every layer: d, or d + 2^b when the levels are concatenated.
  int64_t width() const;
  // The X⁰ table of the owned rows [n_own, d] float32 on the CPU: the fp32 table, or the dequantized one.
  at::Tensor x0_table();
  at::Tensor& beta_logits() { return B_; }   // [n_own_users, L] float32 on device() (β = tanh(B))
  int64_t n_lines() const { return static_cast<int64_t>(line_user_.size()); }
  // Owned user (local index) and position in its train list of line k.
  int64_t line_user(int64_t k) const { return line_user_[k]; }
  int64_t line_pos(int64_t k) const { return line_pos_[k]; }
  int64_t global_lines() const { return global_lines_; }
  const StepTiming& timing() const { return timing_; }
  StepTiming& timing() { return timing_; }

 private:
  struct Forward {
    at::Tensor final_local;  // [n_local, w] final embeddings of owned + halo nodes
    at::Tensor x0_local;     // [n_local, w] layer-0 embeddings (H⁰) of owned + halo nodes
    at::Tensor x0_owned;     // [n_own, w]
    at::Tensor final_owned;  // [n_own, w]
  };
  Forward forward();
  at::Tensor beta_owned(int l) const;
  at::Tensor quantized_rows(const at::Tensor& lv, const at::Tensor& codes) const;
  void after_quantized_step();
  at::Tensor lambda_weights(const std::vector<int64_t>& lu, const at::Tensor& s_pos, const at::Tensor& s_neg);
  void build_pool(int64_t epoch, int64_t step);

  const Shard& shard_;
  ModelOptions model_;
  TrainOptions train_;
  Communicator& comm_;   // host buffers
  Communicator& tcomm_;  // the model's rows (comm_ unless a tensor communicator was given)
  at::Device device_;
  Attention attention_;
  LayerGraph graph_;
  HaloPlan halo_;
  at::Tensor emb_, B_;            // parameters
  at::Tensor best_emb_, best_B_;  // kept copies (best_emb_ holds the levels in the GNAQ phase)
  at::Tensor best_codes_;
  bool best_quantized_ = false;
  // GNAQ state.
  bool quantized_ = false;
  at::Tensor levels_;      // [n_own, 2^b] float32 parameter
  at::Tensor codes_;       // [n_own, d] uint8
  at::Tensor last_final_;  // [n_own, w] propagated embeddings of the last step (code-rule RAU)
  int64_t quant_steps_ = 0;
  std::string rau_input_, rau_bins_;  // neighbours | propagated; levels | uniform (empty: RAU off)
  std::unique_ptr<torch::optim::AdamW> opt_;
  // This rank's train lines (owned users' train items, file order within a user).
  std::vector<int64_t> line_user_;      // local user index (0..n_own_users)
  std::vector<int64_t> line_pos_;       // position within the user's train list
  std::vector<int64_t> line_item_;      // global item id
  std::vector<int64_t> line_item_local_;// local node index of the item (owned or halo)
  std::vector<std::vector<int64_t>> user_train_set_;  // sorted distinct train items per owned user
  int64_t global_lines_ = 0;
  // Negative pool of the current step: rows contributed by each rank, their global item ids, and
  // the position of each item id in the pool (or -1).
  bool full_pool_ = true;
  std::vector<int64_t> pool_local_;        // owned local indices this rank contributes
  std::vector<int64_t> pool_rows_per_rank_;
  std::vector<int64_t> pool_items_;        // [Q] global item ids in pool order
  std::vector<int64_t> pool_pos_;          // [n_items] position in pool or -1
  StepTiming timing_;
};

}  // namespace tkg
