// Plain option structs of the model and the training loop (no torch, no config parser).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tkg {

// GNAQ (DESIGN §3): the X⁰ table as b-bit codes + 2^b learnable levels per node.
struct QuantOptions {
  int bits = 0;                   // 0 = off (fp32 table); else 1, 2, 4 or 8
  int64_t warmup_epochs = 0;      // plain fp32 TopKGAT epochs before quantizing (phase 1)
  // Defaults chosen from docs/gnaq.md (Ali-Display): fine-tuning the levels of a phase-1 table
  // with DQS, without concatenation or RAU, at a lower learning rate keeps fp32 quality.
  double lr = 0.01;               // learning rate after quantizing (0: keep train.lr)
  bool concat_levels = false;     // paper: H⁰ = [E', S] (width d + 2^b); false: H⁰ = E'
  bool tanh = false;              // official code: H⁰ = tanh(E')
  bool dqs = true;                // sort levels after every step (dynamic quantization step)
  std::string rau = "off";        // paper (neighbour mean, own boundaries) | code (propagated, uniform bins) | off
  std::string rau_input;          // override: neighbours (paper) | propagated (official code)
  std::string rau_bins;           // override: levels (paper: nearest level) | uniform (official code)
  int64_t rau_every = 1;          // steps between RAU refreshes
  double rank_loss = 0.0;         // weight of the LambdaLoss-style term (0 = off)
  bool fp8_halo = true;           // layer-0 halo as packed codes + FP8 levels (false: fp32 rows)
};

struct ModelOptions {
  int layers = 3;                 // L (0 = matrix factorisation)
  int dim = 64;                   // d
  std::string attention = "topk"; // topk | one (LightGCN) | relu (NGAT4Rec-like) | softmax (w/o ω)
  bool use_beta = true;           // false: β ≡ 0 (the "w/o β" ablation; implied by attention=one)
  bool mean_layers = false;       // final embedding = mean of layers 0..L (LightGCN) instead of layer L
  double init_std = 0.1;          // X⁰ ~ N(0, init_std²); B ~ N(0, 1)
  bool fused = true;              // fused CPU operator (false: reference ATen composition; CUDA always uses it)
  std::string device = "cpu";     // cpu | cuda | cuda:N (run_training resolves cuda to the local rank's GPU)
  bool bf16_halo = false;         // halos of layers >= 1 (inputs and gradients) as bfloat16
  bool overlap = true;            // P > 1: each layer's interior edges run while its halo rows are in flight (fused, not softmax)
  // What a layer keeps per edge for its backward (propagate.hpp Recompute): none (a, cos, dω:
  // 12 bytes per edge and layer) | weights (the cosines, 4 bytes; a and dω recomputed from them) |
  // all (nothing per edge; the layer's forward kernel runs again in the backward) | auto
  // (weights, or all when the memory plan does not fit otherwise). Same results in every mode.
  std::string recompute = "auto";
  // Layer inputs and halo rows kept for the backward as bfloat16 (half their bytes). Not exact:
  // the backward then sees rounded inputs (docs/memory.md measures the quality cost).
  bool saved_bf16 = false;
  QuantOptions quant;
};

struct TrainOptions {
  double lr = 0.1;
  double reg = 1e-4;              // λ of the layer-0 L2 term
  double weight_decay = 1e-4;     // every parameter: decoupled (adamw) or L2 added to the gradient (adam)
  std::string optimizer = "adamw";  // adamw (TopKGAT paper) | adam (LightGCN: weight_decay 0, train.reg on the batch's rows)
  std::string moments = "fp32";     // the table's Adam moments: fp32 (LibTorch's optimizer) | bf16 (train/adam_bf16_moments.hpp; CPU)
  // Negatives per line: each is scored against the line's positive as one BPR pair; the loss is
  // the mean over the step's (line, negative) pairs (so K does not change its scale), and the λ
  // term counts the pair's user, positive and negative rows per pair with the same weight.
  int64_t negatives = 1;
  // The learning rate of epoch e (the same at any P and after a resume): `lr` (or quant.lr once
  // quantized) times a linear warm-up (e + 1) / lr_warmup over the first lr_warmup epochs, times
  // 1 (constant) or ½(1 + cos(π e / epochs)) (cosine decay over train.epochs).
  std::string lr_schedule = "constant";
  int64_t lr_warmup = 0;
  int64_t epochs = 2000;
  int64_t batch_size = 0;         // 0 = full batch (one step per epoch); else lines per step
  // What a step trains on: lines (every train line once per epoch, shuffled into steps) | users
  // (LightGCN's sampler: users equally likely, a uniform positive each; train_lines.hpp
  // user_uniform_batch), ceil(N / batch_size) steps of batch_size samples expected per epoch.
  std::string sampling = "lines";
  int64_t pool_size = 0;          // 0 (or >= n_items): exact sampler; else a shared pool of Q items per step (NegativeSampler)
  double pool_fraction = 0;       // the same as a fraction of the items (used when pool_size = 0)
  uint64_t seed = 2026;
  int64_t eval_every = 20;
  int64_t patience = 200;         // epochs without improvement of select_metric before stopping
  std::vector<int> ks{1, 3, 5, 10, 20};
  std::string select_metric = "ndcg@20";
  int64_t topk_export = 20;       // length of the exported top-K lists
  int64_t eval_block_bytes = int64_t{64} << 20;  // bound on one [users × items] float32 score block
  std::string eval_ring = "auto";  // what travels in evaluation: auto | items | users (RingEvalOptions::ring)
  int64_t eval_users = 0;         // 0: every user with targets; N: a seeded sample of N users (same at any P)
  // Cap of the CPU allocator's cache of freed large blocks (model/host_allocator.hpp), MiB: -1 =
  // auto (what one step allocates, from the memory plan; none when the plan would not fit with
  // it), 0 = off (every large block mapped and unmapped, the least memory).
  double host_cache_mb = -1;
  std::string memory_check = "stop";  // the memory plan does not fit: stop | warn (run anyway) | off (no check)
  double memory_headroom = 0.05;      // share of a node's memory the plan leaves free (the system, the prediction's error)
};

}  // namespace tkg
