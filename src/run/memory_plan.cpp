#include "run/memory_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace tkg {

namespace {

// Bytes of a layer graph (model/layer_graph.hpp): int64 row and column pointers, three 4-byte
// arrays per edge (indices, csc_edge, norm), the host csc_row (4), about 600 block bounds; a
// device graph also holds each edge's row and user (4 + 4) for the CUDA kernels.
int64_t graph_bytes(int64_t rows, int64_t cols, int64_t nnz, bool gpu) {
  return 8 * (rows + 1) + 8 * (cols + 1) + (gpu ? 24 : 16) * nnz + 8 * 600;
}

// Bytes per edge a layer keeps for its backward (model/propagate.hpp Recompute).
int64_t kept_per_edge(const std::string& r, bool scored) {
  if (r == "none") return scored ? 12 : 4;
  if (r == "weights") return scored ? 4 : 0;
  return 0;
}

int64_t sum(const std::vector<MemoryItem>& v, bool device) {
  int64_t s = 0;
  for (const MemoryItem& i : v) s += i.device == device ? i.bytes : 0;
  return s;
}

}  // namespace

MemoryPlan plan_memory(const ShardCounts& c, const ModelOptions& m, const TrainOptions& t, int64_t base, int threads) {
  MemoryPlan p;
  p.base = base;
  p.recompute = m.recompute == "auto" ? "weights" : m.recompute;
  const bool gpu = m.device != "cpu";
  const bool scored = m.attention != "one" && m.attention != "lightgcn";
  const bool softmax = m.attention == "softmax";
  const bool one_rank = c.parts == 1;
  const bool overlap = m.overlap && m.fused && !softmax && !one_rank;
  const bool gnaq = m.quant.bits > 0;
  const int64_t R = c.n_own, U = c.n_own_users, H = c.n_halo, Lc = R + H, E = c.nnz, Eb = c.nnz_boundary, Ei = E - Eb;
  const int64_t B = c.boundary_rows, S = c.n_send, L = m.layers, d = m.dim, f = 4;
  const int64_t levels = gnaq ? int64_t{1} << m.quant.bits : 0;
  const int64_t w = d + (gnaq && m.quant.concat_levels ? levels : 0);
  const int64_t Nt = c.train_lines;
  const int64_t global_lines_est = std::max<int64_t>(1, Nt * c.parts);
  const bool batched = t.batch_size > 0 && t.batch_size < global_lines_est;
  const int64_t N = batched ? std::max<int64_t>(1, (Nt * t.batch_size + global_lines_est - 1) / global_lines_est) : Nt;
  // (line, negative) pairs of a step (train.negatives per line).
  const int64_t Q = N * std::max<int64_t>(1, t.negatives);
  const bool users = t.sampling == "users";  // LightGCN's sampler: a list of sampled lines and salts every step
  const bool expanded = batched || users || t.negatives > 1;  // the pairs' user and positive rows are built (not the lines' own arrays)
  // Distinct negatives of other ranks fetched in a step: Q uniform draws over the items, of which
  // those not owned or halo here (about (m − local items) / m of them), counted once each.
  const double m_items = std::max<double>(1, static_cast<double>(c.n_items));
  const double remote_items = std::max(0.0, m_items - static_cast<double>(R - U) - static_cast<double>(H) * 0.5);
  const int64_t F = one_rank ? 0 : static_cast<int64_t>(remote_items * (1.0 - std::exp(-static_cast<double>(Q) / m_items)));

  auto host = [](std::vector<MemoryItem>& v, const std::string& what, int64_t b) { v.push_back({what, b, false}); };
  auto dev = [gpu](std::vector<MemoryItem>& v, const std::string& what, int64_t b) { v.push_back({what, b, gpu}); };

  // ---- persistent
  auto& P = p.persistent;
  host(P, "shard arrays (without its CSR)", c.shard_bytes - c.csr_bytes);
  host(P, "local index (owned and halo ids)", 8 * (R + H) + 16 * H + 8 * (R + H) / 4);
  host(P, "train lines (32-bit) and user sets", 8 * Nt + 4 * Nt + 56 * U);
  host(P, "item directory", 4 * ((c.n_items + c.parts - 1) / std::max(1, c.parts)));
  host(P, "halo plans", 16 * S + 8 * (c.parts + 1) * 4);
  if (overlap) {
    dev(P, "layer graph: interior edges", graph_bytes(R, R, Ei, gpu));
    dev(P, "layer graph: boundary edges", graph_bytes(B, B + H, Eb, gpu) + 8 * B);
  }
  const bool rau = gnaq && (m.quant.rau != "off" || !m.quant.rau_input.empty());
  if (!overlap || rau) dev(P, "layer graph: all edges", graph_bytes(R, Lc, E, gpu));
  const int64_t table_w = gnaq ? levels : d;  // the parameter's width: X⁰ rows or GNAQ levels
  const int64_t moment_bytes = t.moments == "bf16" ? 2 : f;  // train.moments
  dev(P, gnaq ? "GNAQ levels, gradient, AdamW moments" : "embedding table, gradient, AdamW moments",
      (2 * f + 2 * moment_bytes) * R * table_w);
  if (gnaq) dev(P, "GNAQ codes", R * d);
  // The best copy (model selection) exists from the first evaluation on: during training when an
  // evaluation comes before the last epoch, else only for the final test.
  const int64_t best = f * R * table_w + (gnaq ? R * d : 0);
  const bool best_while_training = t.eval_every < t.epochs;
  if (best_while_training) dev(P, "best copy (model selection)", best);
  dev(P, "beta, gradient, moments, best copy", 5 * f * U * std::max<int64_t>(L, 1));
  if (gnaq && m.quant.warmup_epochs > 0) dev(P, "fp32 table of the warm-up (freed when quantizing; counted once)", 0);

  // ---- the step's peak (during the backward): what the forward kept, the loss's buffers, the
  // largest of the backward's transients.
  auto& T = p.step;
  const int64_t kept = kept_per_edge(p.recompute, scored);
  const int64_t inv = p.recompute == "all" || !scored ? 0 : f * Lc;
  // Each layer keeps its input (layer 0's is the table: no copy; deeper ones 4 or, saved_bf16, 2
  // bytes per value), per-edge scalars, 1/‖x‖ and β; the last layer's output is the final rows.
  const int64_t sx = m.saved_bf16 ? 2 : f;
  int64_t layer_inputs = L * (kept * E + inv + f * R) + (L > 0 ? f * R * w : 0);
  if (overlap) {
    // Deeper inputs, and the received halos (not kept when recomputing all: received again).
    layer_inputs += std::max<int64_t>(L - 1, 0) * sx * R * w + (p.recompute == "all" ? 0 : L * sx * H * (w + 1));
    if (gnaq) layer_inputs += f * (B + 2 * H) * w;  // layer 0 with the moved halo rows: the boundary input and the rows
  } else if (one_rank) {
    layer_inputs += std::max<int64_t>(L - 1, 0) * sx * R * w;
  } else {
    layer_inputs += L * sx * Lc * w + (L > 0 && m.saved_bf16 ? (f - sx) * Lc * w : 0);  // [owned; halo] copies (layer 0's in float32)
  }
  // GNAQ: H⁰ dequantized from codes and levels, and the halo's codes and levels received for
  // layer 0 (the dequantization keeps the uint8 codes for its backward).
  if (gnaq) layer_inputs += f * R * w + H * d + f * H * levels;
  dev(T, "layer activations kept for the backward", layer_inputs);
  if (m.mean_layers) dev(T, "mean of the layers", 2 * f * R * w);
  if (!one_rank) dev(T, "final halo and fetched rows", f * (H + F) * w + (t.reg != 0 ? f * H * w : 0));
  // Mini-batches: the epoch's schedule and the step's lines; every step: the fetch plan (the
  // sampled negatives are released once their rows are planned, before the forward).
  host(T, "step lines, fetch plan", (users ? 16 * N : batched ? 8 * Nt + 8 * N : 0) + 16 * F);
  // The lines' rows (a full batch reads the train lines' own user and item arrays), the
  // negatives' rows, the per-line differences.
  dev(T, "loss rows and differences", (expanded ? 4 * Q * 2 : 0) + 4 * Q + 4 * Q);
  // The backward's transients, the larger of: the loss's backward (its gradient blocks, per-line
  // coefficients and the rows' entries grouped by row, per-thread row histograms) and one
  // layer's backward (output and input gradients, the recomputed scalars, the exchange buffers).
  const int64_t rows = Lc + F;
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(threads, (Q + 65535) / 65536));
  const int64_t loss_bwd = f * rows * w + 4 * Q + 4 * 3 * Q + 8 * rows * (1 + chunks);
  // One layer's backward (dL/dt per edge is written over dω: no buffer of its own). Overlapped,
  // the larger of its two phases: the boundary edges (the output's gradient [R, w], the rebuilt
  // boundary input and its gradient [B + H, w], the boundary rows' output gradient [B, w], the
  // boundary's recomputed scalars), then the interior edges while the halo gradients travel (the
  // output's and the input's gradients, the boundary rows' part [B, w], the halo gradients
  // [H, w+1] and the returned ones [S, w+1], the interior's recomputed scalars). Plain: the
  // gradients, the input's [owned; halo] gradient and the exchange's buffers.
  auto rec = [&](int64_t edges, int64_t rows_in) {
    return p.recompute == "none" ? 0 : p.recompute == "weights" ? 8 * edges : 12 * edges + f * rows_in;
  };
  const int64_t layer_bwd =
      overlap ? std::max(f * R * w + 2 * f * (B + H) * w + f * B * w + rec(Eb, B + H) +
                             (p.recompute == "all" ? f * H * (w + 1) : 0),  // the halo received again
                         2 * f * R * w + f * B * w + f * (H + S) * (w + 1) + rec(Ei, R))
              : 2 * f * R * w + f * Lc * w + f * (H + S) * (w + 1) + rec(E, Lc);
  dev(T, "backward transients (largest of loss, layer)", std::max(loss_bwd, layer_bwd));

  // The CPU allocator's cache of freed blocks (model/host_allocator.hpp; train.host_cache_mb, auto:
  // what a step allocates and frees, so the next step reuses it). At the step's peak most cached
  // blocks are back in use: a quarter of the cap is counted (measured: 6 % to 35 % of it, gowalla
  // and the s4 graph, docs/memory.md §1); the fit check counts all of it (check_memory).
  if (!gpu) {
    p.host_cache = t.host_cache_mb < 0 ? sum(T, false) + sum(T, true) : static_cast<int64_t>(t.host_cache_mb * 1048576.0);
    if (p.host_cache > 0) host(T, "allocator cache of freed blocks (a quarter of train.host_cache_mb)", p.host_cache / 4);
  }

  // ---- evaluation: the owned final rows, the traveling rows (two buffers) and the score block.
  // (An evaluation starts by releasing the allocator's cache.)
  auto& V = p.eval;
  if (!best_while_training) dev(V, "best copy (model selection)", best);
  dev(V, "final embeddings", f * R * w);
  dev(V, "evaluation ring buffers", 2 * f * w * ((c.n_items + c.parts - 1) / std::max(1, c.parts) + (U + 1)));
  dev(V, "score block", t.eval_block_bytes);

  const int64_t pers_h = sum(P, false), pers_d = sum(P, true);
  p.construction_peak = base + c.shard_bytes + pers_h + (gpu ? 0 : pers_d);
  p.step_peak = base + pers_h + sum(T, false) + (gpu ? 0 : pers_d + sum(T, true));
  p.eval_peak = base + pers_h + sum(V, false) + (gpu ? 0 : pers_d + sum(V, true));
  p.peak = std::max({p.construction_peak, p.step_peak, p.eval_peak});
  if (gpu) p.device_peak = pers_d + std::max(sum(T, true), sum(V, true));
  return p;
}

std::string format_plan(const MemoryPlan& p) {
  std::string out;
  char line[200];
  auto row = [&](const char* indent, const std::string& what, int64_t b, bool device) {
    std::snprintf(line, sizeof line, "%s%-52s %10.1f MiB%s\n", indent, what.c_str(), static_cast<double>(b) / 1048576.0,
                  device ? " (device)" : "");
    out += line;
  };
  row("  ", "process and libraries", p.base, false);
  out += "  held throughout:\n";
  for (const MemoryItem& i : p.persistent) row("    ", i.what, i.bytes, i.device);
  out += "  at the training step's peak (model.recompute = " + p.recompute + "):\n";
  for (const MemoryItem& i : p.step) row("    ", i.what, i.bytes, i.device);
  out += "  during evaluation:\n";
  for (const MemoryItem& i : p.eval) row("    ", i.what, i.bytes, i.device);
  row("  ", "predicted peak (host)", p.peak, false);
  if (p.device_peak > 0) row("  ", "predicted peak (device)", p.device_peak, true);
  return out;
}

}  // namespace tkg
