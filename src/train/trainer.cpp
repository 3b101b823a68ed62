#include "train/trainer.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/optim/optimizer.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>

#include "comm/communicator.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/memory.hpp"
#include "common/phase_profile.hpp"
#include "eval/ring_evaluator.hpp"
#include "model/host_allocator.hpp"
#include "model/index_tensor.hpp"
#include "model/optimizer_state.hpp"
#include "train/init.hpp"
#include "train/layer_path.hpp"
#include "train/negative_fetch.hpp"
#include "train/optimizer.hpp"
#include "train/step_loss.hpp"

namespace tkg {

namespace {



// GNAQ's RAU code refresh aggregates over the whole local graph (rau or rau_input set).
bool needs_rau_graph(const QuantOptions& q) { return q.bits > 0 && (q.rau != "off" || !q.rau_input.empty()); }

at::Device parse_device(const std::string& name) {
  try {
    at::Device d(name);
    if (d.is_cpu() || (d.is_cuda() && d.has_index())) return d;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("model.device: expected cpu or cuda:N, got '" + name + "'");
}

}  // namespace

Trainer::Trainer(const Shard& shard, const ModelOptions& model, const TrainOptions& train, Communicator& comm,
                 Communicator* tensor_comm)
    : shard_(shard),
      model_(model),
      train_(train),
      comm_(comm),
      tcomm_(tensor_comm ? *tensor_comm : comm),
      device_(parse_device(model.device)),
      attention_(parse_attention(model.attention)),
      local_(shard),
      lines_(build_train_lines(shard, local_)),
      sampler_(lines_, shard.n_items, train.seed,
               train.pool_size > 0 ? train.pool_size
                                   : static_cast<int64_t>(std::llround(train.pool_fraction * static_cast<double>(shard.n_items))),
               train.negatives) {
  TKG_CHECK(tcomm_.size() == comm_.size() && tcomm_.rank() == comm_.rank(), "tensor communicator must match the world");
  single_rank_ = comm_.size() == 1;
  // The fused layer has CPU kernels and, in builds with them, CUDA kernels; without, the ATen
  // composition runs (autograd backward).
  if (!fused_supported(device_)) model_.fused = false;
  if (attention_ == Attention::kOne) model_.use_beta = false;
  halo_ = build_halo_plan(shard);
  halo_.send_index = halo_.send_index.to(device_);
  halo_packed_ = halo_;
  halo_packed_.n_own = halo_.send_index.size(0);
  halo_packed_.send_index = at::arange(halo_packed_.n_own, halo_.send_index.options());
  halo_packed_.packed = true;
  halo_packed_.name = "halo (send rows)";
  validate_plan(halo_packed_, comm_.size(), comm_.rank());
  // Overlap needs the split kernels (fused, not softmax) and a halo to hide (P > 1).
  // model.recompute: "auto" has been resolved by the memory plan (run/memory_plan) when it runs;
  // otherwise it means the exact, cheap mode.
  recompute_ = model_.recompute == "auto" ? Recompute::kWeights : parse_recompute(model_.recompute);
  if (model_.overlap && model_.fused && attention_ != Attention::kSoftmax && comm_.size() > 1)
    overlap_ = std::make_unique<OverlapLayer>(make_overlap_layer(shard, device_, halo_, tcomm_, attention_, recompute_));
  model_.overlap = overlap_ != nullptr;
  LayerPathContext lc;
  lc.graph = &graph_, lc.halo = &halo_, lc.halo_packed = &halo_packed_, lc.comm = &tcomm_, lc.attention = attention_;
  lc.fused = model_.fused, lc.bf16_halo = model_.bf16_halo, lc.single_rank = single_rank_, lc.recompute = recompute_;
  lc.saved_bf16 = model_.saved_bf16;
  layer_path_ = overlap_ ? make_overlapped_layer_path(lc, overlap_.get()) : make_plain_layer_path(lc);
  // The whole local graph: for the plain layers, and for GNAQ's code refresh (RAU). The
  // overlapped layers hold it split (GNAQ's layer 0 too), so it is not built for them (a second
  // copy of the shard's edges).
  if (!overlap_ || needs_rau_graph(model_.quant)) ensure_graph();
  const int64_t n_own = shard.n_own(), nu = shard.n_own_users, d = model.dim, L = model.layers;
  // Parameters, initialised by global id.
  at::Tensor emb = at::empty({n_own, d}, at::kFloat);  // [n_own, d], drawn on the host by global id
  init_normal_rows(shard.owned, d, model.init_std, train.seed, /*table=*/1, emb.data_ptr<float>());
  B_ = at::empty({nu, std::max<int64_t>(L, 1)}, at::kFloat);  // [n_own_users, L]
  std::vector<int64_t> users(shard.owned.begin(), shard.owned.begin() + nu);
  init_normal_rows(users, B_.size(1), 1.0, train.seed, /*table=*/2, B_.data_ptr<float>());
  table_ = std::make_unique<Fp32Table>(emb.to(device_));
  B_ = B_.to(device_);
  B_.set_requires_grad(true);
  opt_ = make_optimizer({table_->parameter(), B_}, parse_optimizer(train.optimizer), train.lr, train.weight_decay,
                        train.moments == "bf16");

  memory_mark("trainer built");
  {
    CollectiveSite site(comm_, "trainer.global_lines");
    global_lines_ = comm_.all_reduce_sum(static_cast<int64_t>(lines_.size()));
    int64_t with_lines = 0;  // owned users with train lines (train.sampling = users)
    for (int64_t u = 0; u < shard.n_own_users; ++u) with_lines += lines_.first[u + 1] > lines_.first[u];
    global_users_with_lines_ = comm_.all_reduce_sum(with_lines);
  }
  fetch_ = std::make_unique<NegativeFetch>(shard, local_, comm_);
}

Trainer::~Trainer() = default;

int64_t Trainer::width() const { return table_->width(); }

at::Tensor& Trainer::embedding() { return table_->quantized() ? undefined_ : table_->parameter(); }

at::Tensor& Trainer::levels() { return table_->quantized() ? table_->parameter() : undefined_; }

at::Tensor& Trainer::codes() {
  auto* g = dynamic_cast<GnaqTable*>(table_.get());
  return g ? g->codes() : undefined_;
}

at::Tensor Trainer::beta_owned(int l) const {
  const int64_t ni = shard_.n_own() - shard_.n_own_users;
  if (!model_.use_beta) return at::zeros({shard_.n_own()}, B_.options().requires_grad(false));
  return at::cat({at::tanh(B_.select(1, l)), at::zeros({ni}, B_.options().requires_grad(false))});  // [n_own]
}

Trainer::Forward Trainer::forward(bool with_halo) {
  Forward f;
  at::Tensor x0_halo;  // [n_halo, w]: moved by the table itself (GNAQ), or below with β
  f.x0_owned = table_->layer0(&x0_halo);  // [n_own, w]
  const at::Tensor given = x0_halo;  // defined when the table moved layer 0's halo rows itself (GNAQ)
  at::Tensor x = f.x0_owned;
  // The mean of the layers as a running sum divided at the end: the bits of stack(layers).mean(0)
  // (added in the same order) without holding a copy of every layer at once.
  at::Tensor sum = model_.mean_layers ? x : at::Tensor();  // [n_own, w]
  for (int l = 0; l < model_.layers; ++l) {
    at::Tensor hx;  // [n_halo, w] the halo rows of the layer's input
    x = layer_path_->run(x, beta_owned(l), l, l == 0 ? given : at::Tensor(), &hx);
    if (l == 0) x0_halo = hx;
    if (model_.mean_layers) sum = sum + x;
    memory_mark("forward layer");
  }
  f.final_owned = model_.mean_layers ? sum / static_cast<double>(model_.layers + 1) : x;  // [n_own, w]
  memory_mark("forward final");
  if (!with_halo) return f;
  // Layer 0's halo rows serve the λ term only: kept when λ ≠ 0 (the same on every rank).
  const bool need_x0_halo = train_.reg != 0;
  if (need_x0_halo && model_.layers == 0 && !given.defined()) x0_halo = halo_exchange(f.x0_owned, halo_, tcomm_);
  f.final_halo = halo_exchange(f.final_owned, halo_, tcomm_);  // [n_halo, w]
  if (need_x0_halo) f.x0_halo = x0_halo;
  memory_mark("forward halo");
  return f;
}

double Trainer::step(const std::vector<int64_t>& lines, const std::vector<int64_t>& negatives) {
  return step_lines(&lines, std::vector<int64_t>(negatives));
}

double Trainer::forward_backward(const std::vector<int64_t>& lines, const std::vector<int64_t>& negatives) {
  return forward_backward_lines(&lines, std::vector<int64_t>(negatives));
}

double Trainer::step_lines(const std::vector<int64_t>* lines, std::vector<int64_t>&& negatives) {
  const double t0 = now_s();
  auto stats = [&] {  // both communicators, once each
    CommStats c = comm_.stats();
    if (&tcomm_ != &comm_) {
      const CommStats& t = tcomm_.stats();
      c.seconds += t.seconds, c.bytes_sent += t.bytes_sent;
      for (int k = 0; k < static_cast<int>(Traffic::kCount); ++k) c.bytes_by_traffic[k] += t.bytes_by_traffic[k];
    }
    return c;
  };
  const CommStats c0 = stats();
  const double global_loss = forward_backward_lines(lines, std::move(negatives));
  {
    profile::Scope ps("step.optimizer");
    opt_->step();
  }
  memory_mark("step optimizer");
  {
    profile::Scope ps("step.after_step");
    table_->after_step(*opt_, last_final_);
  }
  last_final_ = at::Tensor();
  const CommStats c1 = stats();
  const double comm_s = c1.seconds - c0.seconds;
  timing_.comm_s += comm_s;
  timing_.compute_s += (now_s() - t0) - comm_s;
  timing_.bytes_sent += c1.bytes_sent - c0.bytes_sent;
  timing_.bytes_halo += c1.bytes(Traffic::kHalo) - c0.bytes(Traffic::kHalo);
  timing_.bytes_negatives += c1.bytes(Traffic::kNegatives) - c0.bytes(Traffic::kNegatives);
  return global_loss;
}

double Trainer::forward_backward_lines(const std::vector<int64_t>* lines_in, std::vector<int64_t>&& negatives) {
  const int64_t n = lines_in ? static_cast<int64_t>(lines_in->size()) : lines_.size(), n_local = shard_.n_local();
  const int64_t K = train_.negatives, np = n * K;  // (line, negative) pairs: pair q is line q / K
  TKG_CHECK(static_cast<int64_t>(negatives.size()) == np, "train.negatives negatives per line");
  auto line = [&](int64_t k) { return lines_in ? (*lines_in)[k] : k; };
  // Where each line's negative is: owned or halo rows, or rows fetched from their owners.
  const double p0 = now_s();
  NegativeRows neg = [&] {
    profile::Scope ps("step.negative_plan");
    return fetch_->plan(negatives, device_);
  }();
  std::vector<int64_t>().swap(negatives);  // their rows are in neg.row now
  timing_.negatives_s += now_s() - p0;
  timing_.negatives_fetched += neg.n_fetched;
  std::optional<profile::Scope> ps_fwd(std::in_place, "step.forward_and_loss");
  Forward f = forward(/*with_halo=*/true);
  const int64_t n_step = [&] {
    CollectiveSite site(comm_, "trainer.step_lines");
    return comm_.all_reduce_sum(n);
  }();
  at::Tensor fetched = halo_exchange(f.final_owned, neg.fetch, tcomm_);                  // [n_fetched, w]
  // The loss reads owned, halo and fetched rows. Both exchanges feed the loss on every rank
  // whatever their row counts (DESIGN §4 "Collective participation by construction"): a rank
  // that fetched nothing still runs the fetch's backward, which returns the gradients of the rows
  // its peers fetched from it. Only a world of one (no peers) reads the owned rows alone.
  // The lines' rows in the loss's virtual table [owned; halo; fetched], in neg.row's index type.
  // With one negative per line, every line in order (a full batch) with 32-bit rows: the train
  // lines' own arrays, not copies. K > 1: each line's user and positive repeated K times.
  bool all_lines = n == lines_.size() && K == 1;
  for (int64_t k = 0; lines_in && all_lines && k < n; ++k) all_lines = (*lines_in)[k] == k;
  at::Tensor tu, ti;  // [n·K] int32 or int64
  if (all_lines && neg.row.scalar_type() == at::kInt) {
    tu = at::from_blob(lines_.user.data(), {n}, at::kInt).to(device_);
    ti = at::from_blob(lines_.item_local.data(), {n}, at::kInt).to(device_);
  } else {
    tu = at::empty({np}, neg.row.scalar_type()), ti = at::empty({np}, neg.row.scalar_type());  // [n·K] host
    AT_DISPATCH_INDEX_TYPES(neg.row.scalar_type(), "line_rows", [&] {
      index_t *pu = tu.data_ptr<index_t>(), *pi = ti.data_ptr<index_t>();
      at::parallel_for(0, n, 16384, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k)
          for (int64_t c = 0; c < K; ++c) {
            pu[k * K + c] = static_cast<index_t>(lines_.user[line(k)]);
            pi[k * K + c] = static_cast<index_t>(lines_.item_local[line(k)]);
          }
      });
    });
    tu = tu.to(device_), ti = ti.to(device_);
  }
  std::vector<int64_t> lu;  // [n·K] each pair's user: the rank term's grouping only
  if (table_->quantized() && model_.quant.rank_loss > 0) {
    lu.resize(static_cast<size_t>(np));
    for (int64_t q = 0; q < np; ++q) lu[q] = lines_.user[line(q / K)];
  }
  // The mean over the step's pairs on all ranks.
  const double inv_n = n_step > 0 ? 1.0 / (static_cast<double>(n_step) * static_cast<double>(K)) : 0.0;
  StepLossInputs loss_in;
  // Both exchanges feed the loss on every rank whatever their row counts (see above).
  loss_in.owned = f.final_owned, loss_in.x0_owned = f.x0_owned;
  if (!single_rank_) loss_in.halo = f.final_halo, loss_in.fetched = fetched, loss_in.x0_halo = f.x0_halo;
  loss_in.tu = tu, loss_in.ti = ti, loss_in.tj = neg.row, loss_in.line_users = &lu;
  loss_in.owner_counts = neg.owner_counts, loss_in.n_own = shard_.n_own(), loss_in.n_local = n_local, loss_in.n_fetched = neg.n_fetched;
  loss_in.inv_n = inv_n, loss_in.reg = train_.reg, loss_in.rank_loss = table_->quantized() ? model_.quant.rank_loss : 0.0;
  loss_in.fused = model_.fused;
  at::Tensor loss = step_loss(loss_in);
  last_final_ = f.final_owned.detach();
  ps_fwd.reset();
  memory_mark("step forward and loss");
  {
    profile::Scope ps("step.backward");
    opt_->zero_grad();
    loss.backward();
  }
  memory_mark("step backward");
  profile::Scope ps_end("step.loss_value");
  CollectiveSite site(comm_, "trainer.loss_value");
  return comm_.all_reduce_sum(loss.item<double>());
}

double Trainer::train_epoch(int64_t epoch) {
  if (model_.quant.bits > 0 && !quantized() && epoch >= model_.quant.warmup_epochs) quantize_now();
  if (train_.lr_schedule != "constant" || train_.lr_warmup > 0) {
    const double base = quantized() && model_.quant.lr > 0 ? model_.quant.lr : train_.lr;
    set_optimizer_lr(*opt_, scheduled_lr(base, epoch, train_.epochs, train_.lr_schedule, train_.lr_warmup));
  }
  if (train_.sampling != "users" && (train_.batch_size <= 0 || train_.batch_size >= global_lines_)) {
    // Every line, in order: no list of them (8 bytes per line).
    const double s0 = now_s();
    std::vector<int64_t> neg = [&] {
      profile::Scope ps("epoch.sample_negatives");
      return sampler_.sample_all(epoch, 0);
    }();
    timing_.negatives_s += now_s() - s0;
    return step_lines(nullptr, std::move(neg));
  }
  // Steps of listed lines: every line once per epoch, shuffled into steps (lines), or LightGCN's
  // sampler (users: N samples per epoch, N = train lines, in ceil(N / B) steps of B expected).
  const bool users = train_.sampling == "users";
  const int64_t B = train_.batch_size <= 0 || train_.batch_size >= global_lines_ ? global_lines_ : train_.batch_size;
  const int64_t n_steps = (global_lines_ + B - 1) / B;
  std::vector<std::vector<int64_t>> by_step;
  if (!users) by_step = batch_schedule(lines_, train_.seed, epoch, n_steps);
  double sum = 0;
  for (int64_t s = 0; s < n_steps; ++s) {
    const double s0 = now_s();
    SampledLines batch;
    if (users) {
      const int64_t samples = s + 1 < n_steps ? B : global_lines_ - B * (n_steps - 1);
      batch = user_uniform_batch(lines_, train_.seed, epoch, s,
                                 static_cast<double>(samples) / static_cast<double>(std::max<int64_t>(1, global_users_with_lines_)));
    } else {
      batch.lines = std::move(by_step[s]);
    }
    std::vector<int64_t> neg = sampler_.sample(epoch, s, batch.lines, users ? &batch.salt : nullptr);
    timing_.negatives_s += now_s() - s0;
    sum += step_lines(&batch.lines, std::move(neg));
    if (on_step_) on_step_(s + 1, n_steps);
  }
  return sum / static_cast<double>(n_steps);
}

at::Tensor Trainer::final_embeddings() {
  at::NoGradGuard no_grad;
  return forward(/*with_halo=*/false).final_owned.contiguous();
}

MetricSums Trainer::evaluate(const OwnedUserItems& target, TopKAccumulator* keep) {
  // Lists for every owned user when they are kept (exported), else only users with targets.
  std::vector<int64_t> users;
  for (int64_t u = 0; u < shard_.n_own_users; ++u)
    if (keep || target.indptr[u + 1] > target.indptr[u]) users.push_back(u);
  return evaluate(target, users, keep);
}

MetricSums Trainer::evaluate(const OwnedUserItems& target, const std::vector<int64_t>& users, TopKAccumulator* keep,
                             const std::function<void(double)>& progress) {
  profile::Scope ps("eval");
  release_host_cache();  // the step's cached blocks are not the evaluation's sizes (memory plan: eval phase)
  RingEvalOptions o;
  o.ks = train_.ks;
  o.block_bytes = train_.eval_block_bytes;
  o.ring = train_.eval_ring;
  return ring_evaluate(shard_, final_embeddings(), target, users, o, comm_, tcomm_, keep, progress);
}

void Trainer::load_parameters(const float* x0, const float* beta) {
  TKG_CHECK(!quantized(), "load parameters before quantizing");
  at::NoGradGuard no_grad;
  table_->parameter().copy_(at::from_blob(const_cast<float*>(x0), table_->parameter().sizes(), at::kFloat));
  B_.copy_(at::from_blob(const_cast<float*>(beta), B_.sizes(), at::kFloat));
}

void Trainer::save_best() {
  table_->keep_best();
  best_B_ = B_.detach().clone();
  best_quantized_ = table_->quantized();
}

void Trainer::restore_best() {
  if (!best_B_.defined() || best_quantized_ != table_->quantized()) return;
  at::NoGradGuard no_grad;
  table_->restore_best();
  B_.copy_(best_B_);
}

at::Tensor Trainer::x0_table() { return table_->x0_host(); }

TrainerState Trainer::state() {
  at::NoGradGuard no_grad;
  auto host = [](const at::Tensor& t) { return t.defined() ? t.detach().to(at::kCPU).contiguous() : at::Tensor(); };
  // Moments as float32 whatever train.moments keeps (a checkpoint reads into either).
  auto host_f32 = [&](const at::Tensor& t) { return t.defined() ? host(t).to(at::kFloat) : at::Tensor(); };
  TrainerState s;
  s.quantized = table_->quantized();
  s.table = host(table_->parameter());
  s.beta = host(B_);
  AdamMoments tm = get_adam_state(*opt_, table_->parameter()), bm = get_adam_state(*opt_, B_);
  s.table_step = tm.step, s.table_m = host_f32(tm.exp_avg), s.table_v = host_f32(tm.exp_avg_sq);
  s.beta_step = bm.step, s.beta_m = host(bm.exp_avg), s.beta_v = host(bm.exp_avg_sq);
  if (auto* g = dynamic_cast<GnaqTable*>(table_.get())) {
    s.codes = host(g->codes());
    s.gnaq_steps = g->steps();
  }
  s.has_best = best_B_.defined() && table_->kept_best().defined();
  if (s.has_best) {
    s.best_quantized = best_quantized_;
    s.best_table = host(table_->kept_best());
    s.best_beta = host(best_B_);
    if (auto* g = dynamic_cast<GnaqTable*>(table_.get())) s.best_codes = host(g->kept_best_codes());
  }
  return s;
}

void Trainer::set_state(const TrainerState& s) {
  if (s.quantized && !quantized()) quantize_now();
  TKG_CHECK(s.quantized == quantized(), "a GNAQ state cannot be loaded into a trainer that quantized differently");
  at::NoGradGuard no_grad;
  TKG_CHECK(s.table.sizes() == table_->parameter().sizes() && s.beta.sizes() == B_.sizes(), "state shapes");
  table_->parameter().copy_(s.table);
  B_.copy_(s.beta);
  if (auto* g = dynamic_cast<GnaqTable*>(table_.get())) {
    g->codes().copy_(s.codes);
    g->set_steps(s.gnaq_steps);
  }
  set_adam_state(*opt_, table_->parameter(), AdamMoments{s.table_step, s.table_m, s.table_v});
  set_adam_state(*opt_, B_, AdamMoments{s.beta_step, s.beta_m, s.beta_v});
  best_B_ = at::Tensor();
  if (s.has_best && s.best_quantized == table_->quantized()) {
    table_->set_kept_best(s.best_table, s.best_codes);
    best_B_ = s.best_beta.to(device_).clone();
    best_quantized_ = s.best_quantized;
  }
}

void Trainer::ensure_graph() {
  if (graph_.indptr.defined()) return;
  graph_ = layer_graph_to(build_layer_graph(shard_), device_);  // no copies on the CPU
}

void Trainer::quantize_now() {
  if (!overlap_ || needs_rau_graph(model_.quant)) ensure_graph();
  TableContext ctx{&graph_, &halo_, &tcomm_};
  table_ = std::make_unique<GnaqTable>(table_->parameter(), model_.quant, ctx);  // the fp32 table is gone
  std::unique_ptr<torch::optim::Optimizer> next =
      make_optimizer({table_->parameter(), B_}, parse_optimizer(train_.optimizer),
                     model_.quant.lr > 0 ? model_.quant.lr : optimizer_lr(*opt_), train_.weight_decay,
                     train_.moments == "bf16");
  move_optimizer_state(*opt_, *next, B_);  // β keeps its Adam moments
  opt_ = std::move(next);
}

void Trainer::load_quantized(const uint8_t* codes, const float* levels, const float* beta) {
  if (!quantized()) quantize_now();
  static_cast<GnaqTable&>(*table_).load(codes, levels);
  at::NoGradGuard no_grad;
  B_.copy_(at::from_blob(const_cast<float*>(beta), B_.sizes(), at::kFloat));
}

}  // namespace tkg
