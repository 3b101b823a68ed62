// TopKGAT training and evaluation on one rank's shard (DESIGN §2, §4). The same code runs with
// P = 1 (a self communicator, no halo) and P > 1 (MPI): every collective is called on every rank
// in the same order, whatever the rank owns.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eval/metrics.hpp"
#include "eval/topk.hpp"
#include "model/collective_ops.hpp"
#include "model/overlapped_layer.hpp"
#include "model/propagate.hpp"
#include "shard/local_index.hpp"
#include "shard/shard.hpp"
#include "train/embedding_table.hpp"
#include "train/negative_sampler.hpp"
#include "train/options.hpp"
#include "train/train_lines.hpp"

namespace torch::optim {
class Optimizer;
}

namespace tkg {

class Communicator;
class NegativeFetch;
class LayerPath;

struct StepTiming {
  double compute_s = 0;  // forward + backward + optimizer, excluding time inside collectives
  double comm_s = 0;     // time inside collectives (communication and waiting for peers)
  uint64_t bytes_sent = 0;       // all payload bytes this rank sent in training steps
  uint64_t bytes_halo = 0;       // of which halo exchanges (every layer, forward and backward)
  uint64_t bytes_negatives = 0;  // of which negative fetches (directory lookups, ids, rows, gradients)
  int64_t negatives_fetched = 0; // rows fetched from other ranks (distinct remote negatives per step, summed)
  double negatives_s = 0;        // drawing negatives and planning their fetch (part of compute_s + comm_s)
};

// Everything that determines how a rank's training continues, as host tensors of its owned rows
// (checkpoints; rows are stored by global id so another P can load them).
struct TrainerState {
  bool quantized = false;
  int64_t gnaq_steps = 0;           // optimizer steps since quantizing (RAU cadence)
  at::Tensor table;                 // [n_own, W] float32: X⁰ rows, or GNAQ levels (W = 2^b)
  at::Tensor codes;                 // [n_own, d] uint8 (GNAQ; else undefined)
  at::Tensor beta;                  // [n_own_users, L] float32 β logits
  int64_t table_step = 0, beta_step = 0;  // AdamW steps (0: no moments yet)
  at::Tensor table_m, table_v, beta_m, beta_v;  // AdamW moments, shapes of table / beta
  bool has_best = false, best_quantized = false;
  at::Tensor best_table, best_codes, best_beta;  // the kept best copy (model selection)
};

class Trainer {
 public:
  // `comm` carries host buffers (control, ids, metric sums: self or MPI). `tensor_comm`, if given,
  // moves the model's rows (halos, fetched negatives, evaluation blocks): NCCL for CUDA tensors;
  // by default `comm` moves them too, staging device tensors through the host.
  // model.device: "cpu" or "cuda:N" (parameters, graph and activations live there).
  Trainer(const Shard& shard, const ModelOptions& model, const TrainOptions& train, Communicator& comm,
          Communicator* tensor_comm = nullptr);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One epoch (full batch: one optimizer step; mini-batch: ceil(N / batch_size) steps). Returns the
  // global training loss (mean over the epoch's steps).
  double train_epoch(int64_t epoch);

  // One optimizer step over this rank's train lines `lines` (indices into the rank's lines) with
  // the given negatives (global item ids, train.negatives = K per line: line k's are
  // [k·K, (k+1)·K)). Returns the global loss of the step (BPR mean over all ranks' (line,
  // negative) pairs of the step + λ term). For tests: inject negatives.
  double step(const std::vector<int64_t>& lines, const std::vector<int64_t>& negatives);

  // Forward and backward of the same loss without the optimizer step: gradients are left in
  // embedding().grad() and beta_logits().grad(). Collective.
  double forward_backward(const std::vector<int64_t>& lines, const std::vector<int64_t>& negatives);

  // The negatives the sampler draws for `lines` at (epoch, step): they depend only on (seed, epoch,
  // step, user id, line position), never on P (see NegativeSampler).
  std::vector<int64_t> sample_negatives(int64_t epoch, int64_t step, const std::vector<int64_t>& lines) {
    return sampler_.sample(epoch, step, lines);
  }

  // Final embeddings of the owned nodes [n_own, d] float32 on the model's device (no grad). Collective.
  at::Tensor final_embeddings();

  // Full-ranking evaluation (ring_evaluate) of the owned users `users` (ascending local indices)
  // against `target` (one of the shard's splits), train items masked. Global metric sums on every
  // rank. If `topk` is given (one row per entry of `users`), the top-K lists are kept there.
  // progress: see ring_evaluate. Collective.
  MetricSums evaluate(const OwnedUserItems& target, const std::vector<int64_t>& users, TopKAccumulator* topk = nullptr,
                      const std::function<void(double)>& progress = {});
  // The same for every owned user with targets, or every owned user when `topk` (n_own_users rows) is given.
  MetricSums evaluate(const OwnedUserItems& target, TopKAccumulator* topk = nullptr);

  // Replaces the parameters: x0 [n_own, d] rows of the owned nodes, beta [n_own_users, L] logits.
  void load_parameters(const float* x0, const float* beta);

  // The whole training state (host copies), and setting it (after constructing the trainer with
  // the same options; quantizes first when the state is quantized).
  TrainerState state();
  void set_state(const TrainerState& s);

  void save_best();     // keep a copy of the current parameters
  void restore_best();  // put the kept copy back (if it is of the current table kind)

  const Shard& shard() const { return shard_; }
  const at::Device& device() const { return device_; }
  // [n_own, d] float32 on device(), X⁰ rows of owned nodes (fp32 phase; undefined after quantizing)
  at::Tensor& embedding();
  // GNAQ: switch from the fp32 table to codes + levels (quantize_rows of the current table).
  void quantize_now();
  // GNAQ: start from a quantized model: codes [n_own, d] uint8, levels [n_own, 2^b], beta [n_own_users, L].
  void load_quantized(const uint8_t* codes, const float* levels, const float* beta);
  bool quantized() const { return table_->quantized(); }
  bool overlapped() const { return overlap_ != nullptr; }  // layers overlap their halo exchange with interior edges
  at::Tensor& levels();  // [n_own, 2^b] float32 parameter on device() (GNAQ phase)
  at::Tensor& codes();   // [n_own, d] uint8 on device() (GNAQ phase)
  EmbeddingTable& table() { return *table_; }
  // Width of H⁰ and of every layer: d, or d + 2^b when the levels are concatenated.
  int64_t width() const;
  // The X⁰ table of the owned rows [n_own, d] float32 on the CPU: the fp32 table, or the dequantized one.
  at::Tensor x0_table();
  at::Tensor& beta_logits() { return B_; }   // [n_own_users, L] float32 on device() (β = tanh(B))
  int64_t n_lines() const { return lines_.size(); }
  // Owned user (local index) and position in its train list of line k.
  int64_t line_user(int64_t k) const { return lines_.user[k]; }
  int64_t line_pos(int64_t k) const { return lines_.pos(k); }
  const NegativeSampler& sampler() const { return sampler_; }
  int64_t global_lines() const { return global_lines_; }
  const StepTiming& timing() const { return timing_; }
  // Called after each mini-batch step with (steps done, steps in the epoch): progress reporting.
  void set_step_callback(std::function<void(int64_t, int64_t)> f) { on_step_ = std::move(f); }
  StepTiming& timing() { return timing_; }

 private:
  void ensure_graph();  // builds graph_ once
  // step / forward_backward over `lines`, or every line in order when null (a full batch, without
  // a list of its lines). The negatives are released once their rows are planned (8 bytes per
  // pair that the step's forward and backward do not hold).
  double step_lines(const std::vector<int64_t>* lines, std::vector<int64_t>&& negatives);
  double forward_backward_lines(const std::vector<int64_t>* lines, std::vector<int64_t>&& negatives);
  struct Forward {
    at::Tensor x0_halo;      // [n_halo, w] layer-0 embeddings (H⁰) of the halo nodes (undefined unless asked for)
    at::Tensor x0_owned;     // [n_own, w]
    at::Tensor final_owned;  // [n_own, w]
    at::Tensor final_halo;   // [n_halo, w] (undefined unless asked for)
  };
  // with_halo: also exchange the final rows of halo nodes and layer-0 halo rows (training);
  // false: owned final rows only (evaluation). Collective either way; every rank passes the same.
  Forward forward(bool with_halo);
  at::Tensor beta_owned(int l) const;

  const Shard& shard_;
  ModelOptions model_;
  TrainOptions train_;
  Communicator& comm_;   // the control plane: host buffers (line counts, loss sums, id routing, metric sums)
  Communicator& tcomm_;  // the model's rows (halos, fetched negatives, evaluation blocks): NCCL for a GPU model, else comm_
  bool single_rank_ = false;  // a world of one: exchanges have no peer (the only shortcut allowed; never a rank's row counts)
  at::Device device_;
  Attention attention_;
  Recompute recompute_ = Recompute::kWeights;  // what each layer keeps per edge (model.recompute)
  LayerGraph graph_;  // the whole local graph; built when a plain layer or GNAQ needs it (ensure_graph)
  ExchangePlan halo_;
  ExchangePlan halo_packed_;  // halo_ for a tensor of the send rows only (send_index = 0..n_send-1)
  std::unique_ptr<OverlapLayer> overlap_;  // interior/boundary graphs when layers overlap their exchange (else null)
  std::unique_ptr<LayerPath> layer_path_;  // how each layer gets its halo and propagates (plain or overlapped)
  std::unique_ptr<EmbeddingTable> table_;  // H⁰ of the owned nodes: fp32 rows, or GNAQ codes + levels
  at::Tensor B_;                           // [n_own_users, L] β logits (parameter)
  at::Tensor best_B_;                      // kept copy
  bool best_quantized_ = false;            // kind of table the kept copy belongs to
  at::Tensor last_final_;  // [n_own, w] final embeddings of the current step (detached; GNAQ's code-rule RAU)
  at::Tensor undefined_;   // what embedding() / levels() / codes() return for the other table kind
  std::unique_ptr<torch::optim::Optimizer> opt_;  // AdamW or Adam (train.optimizer) over the table and β
  LocalIndex local_;                     // global node id -> local index (owned, halo)
  TrainLines lines_;                     // this rank's train lines (owned users' train items)
  int64_t global_lines_ = 0;
  int64_t global_users_with_lines_ = 0;  // users with train lines on all ranks (train.sampling = users)
  NegativeSampler sampler_;
  std::unique_ptr<NegativeFetch> fetch_; // sparse fetch of remote negatives' rows
  StepTiming timing_;
  std::function<void(int64_t, int64_t)> on_step_;
};

}  // namespace tkg
