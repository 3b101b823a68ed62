#include "project/shard_probe.hpp"

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>

#include <algorithm>
#include <limits>

#include "common/clock.hpp"
#include "model/bpr_loss.hpp"
#include "model/index_tensor.hpp"
#include "model/propagate.hpp"
#include "shard/local_index.hpp"
#include "train/negative_sampler.hpp"
#include "train/optimizer.hpp"
#include "train/train_lines.hpp"

namespace tkg {

ShardProbe probe_shard(const Shard& s, const ModelOptions& m, const TrainOptions& t, int reps) {
  ShardProbe p;
  p.rank = s.rank;
  p.parts = s.parts;
  p.n_own = s.n_own();
  p.n_halo = s.n_halo();
  p.nnz = s.nnz();
  for (int64_t k = 0; k < s.nnz(); ++k) p.nnz_halo += s.indices[k] >= s.n_own();
  p.send_rows = static_cast<int64_t>(s.send_list.size());
  p.recv_rows = s.n_halo();
  for (int32_t r = 0; r < s.parts; ++r) {
    p.send_peers += s.send_offsets[r + 1] > s.send_offsets[r];
    p.recv_peers += s.halo_offsets[r + 1] > s.halo_offsets[r];
  }
  const LocalIndex local(s);
  const TrainLines lines = build_train_lines(s, local);
  p.lines = lines.size();
  const NegativeSampler sampler(lines, s.n_items, t.seed, 0);
  const Attention att = parse_attention(m.attention);
  const LayerGraph g = build_layer_graph(s);
  const int64_t d = m.dim, n_own = s.n_own(), nu = s.n_own_users, n_local = s.n_local();
  at::manual_seed(static_cast<int64_t>(t.seed) + s.rank);
  // Parameters of the owned rows, and stand-ins for what peers would send.
  at::Tensor x0 = (at::randn({n_own, d}) * m.init_std).requires_grad_(true);                   // [n_own, d]
  at::Tensor B = at::randn({std::max<int64_t>(nu, 0), std::max(m.layers, 1)}).requires_grad_(true);  // [n_own_users, L]
  std::unique_ptr<torch::optim::Optimizer> opt_ptr = make_optimizer({x0, B}, parse_optimizer(t.optimizer), t.lr, t.weight_decay);
  torch::optim::Optimizer& opt = *opt_ptr;
  std::vector<int64_t> all(static_cast<size_t>(lines.size()));
  for (int64_t k = 0; k < lines.size(); ++k) all[k] = k;
  std::vector<int64_t> lu(all.size()), li(all.size());
  for (int64_t k = 0; k < lines.size(); ++k) lu[k] = lines.user[k], li[k] = lines.item_local[k];
  const at::Tensor tu = long_tensor(lu, at::kCPU), ti = long_tensor(li, at::kCPU);  // [n] int64
  ShardProbe best;
  double best_total = std::numeric_limits<double>::infinity();
  for (int rep = 0; rep <= reps; ++rep) {
    ShardProbe q = p;
    double t0 = now_s();
    std::vector<int64_t> neg = sampler.sample(rep, 0, all);
    q.sample_s = now_s() - t0;
    t0 = now_s();
    // The fetch plan's local part: rows of owned / halo negatives, distinct remote ones.
    std::vector<int64_t> row(neg.size()), remote;
    for (size_t k = 0; k < neg.size(); ++k) {
      row[k] = local(s.n_users + neg[k]);
      if (row[k] < 0) remote.push_back(neg[k]);
    }
    std::sort(remote.begin(), remote.end());
    remote.erase(std::unique(remote.begin(), remote.end()), remote.end());
    for (size_t k = 0; k < neg.size(); ++k)
      if (row[k] < 0) row[k] = n_local + (std::lower_bound(remote.begin(), remote.end(), neg[k]) - remote.begin());
    q.fetched = static_cast<int64_t>(remote.size());
    const at::Tensor tj = long_tensor(row, at::kCPU);
    q.plan_s = now_s() - t0;
    // Forward: the layers as the trainer runs them (owned rows, then the halo rows a peer sends).
    t0 = now_s();
    at::Tensor x = x0;
    for (int l = 0; l < m.layers; ++l) {
      at::Tensor bo = m.use_beta && att != Attention::kOne
                          ? at::cat({at::tanh(B.select(1, l)), at::zeros({n_own - nu})})
                          : at::zeros({n_own});                                        // [n_own]
      at::Tensor xin = s.n_halo() ? at::cat({x, at::randn({s.n_halo(), d}) * 0.1}, 0) : x;  // [n_local, d]
      at::Tensor bin = s.n_halo() ? at::cat({bo, at::zeros({s.n_halo()})}) : bo;          // [n_local]
      x = propagate_fused(xin.contiguous(), bin.contiguous(), g, att);
    }
    q.forward_s = now_s() - t0;
    t0 = now_s();
    at::Tensor table = s.n_halo() || q.fetched
                           ? at::cat({x, at::randn({s.n_halo() + q.fetched, d}) * 0.1}, 0)
                           : x;  // [n_local + fetched, d]
    const double inv_n = lines.size() ? 1.0 / static_cast<double>(lines.size()) : 0.0;
    at::Tensor loss = bpr_loss_fused(table, {}, {}, tu, ti, tj, inv_n);
    at::Tensor counts = at::bincount(at::cat({tu, ti, tj}), {}, n_local + q.fetched).narrow(0, 0, n_own).to(at::kFloat);
    loss = loss + (x0.pow(2).sum(1) * counts).sum() * (0.5 * t.reg * inv_n);
    q.loss_s = now_s() - t0;
    t0 = now_s();
    opt.zero_grad();
    loss.backward();
    q.backward_s = now_s() - t0;
    t0 = now_s();
    opt.step();
    q.optimizer_s = now_s() - t0;
    q.total_s = q.sample_s + q.plan_s + q.forward_s + q.loss_s + q.backward_s + q.optimizer_s;
    if (rep > 0 && q.total_s < best_total) best = q, best_total = q.total_s;
    if (reps == 0) best = q;
  }
  return best;
}

}  // namespace tkg
