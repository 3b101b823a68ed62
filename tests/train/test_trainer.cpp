// Single-rank training: the loss goes down, runs are reproducible, options work.
#include "train/trainer.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "comm/communicator.hpp"
#include "graph/synthetic.hpp"
#include "model/bpr_loss.hpp"
#include "model/propagate.hpp"
#include "train/optimizer.hpp"
#include "shard/partition_dir.hpp"

namespace {

const tkg::Shard& small_shard() {
  static tkg::Shard s = [] {
    tkg::PowerLawOptions o;
    o.users = 400;
    o.items = 300;
    o.edges = 6000;
    o.communities = 5;
    o.seed = 3;
    return tkg::build_single_shard(tkg::generate_powerlaw(o));
  }();
  return s;
}

std::vector<double> losses(const tkg::ModelOptions& m, tkg::TrainOptions t, int epochs) {
  auto comm = tkg::make_self_communicator();
  tkg::Trainer tr(small_shard(), m, t, *comm);
  std::vector<double> out;
  for (int e = 0; e < epochs; ++e) out.push_back(tr.train_epoch(e));
  return out;
}

tkg::ModelOptions model(const std::string& att = "topk", int layers = 2) {
  tkg::ModelOptions m;
  m.layers = layers;
  m.dim = 16;
  m.attention = att;
  return m;
}

tkg::TrainOptions opts() {
  tkg::TrainOptions t;
  t.lr = 0.05;
  t.seed = 9;
  return t;
}

}  // namespace

TEST(Trainer, LossDecreasesForEveryVariant) {
  for (auto [att, layers, mean] : std::vector<std::tuple<std::string, int, bool>>{
           {"topk", 2, false}, {"one", 2, true}, {"relu", 2, false}, {"softmax", 1, false}, {"topk", 0, false}}) {
    tkg::ModelOptions m = model(att, layers);
    m.mean_layers = mean;
    std::vector<double> l = losses(m, opts(), 30);
    EXPECT_LT(l.back(), 0.8 * l.front()) << att << " L=" << layers;
    EXPECT_NEAR(l.front(), std::log(2.0), 0.05) << att;  // near-zero scores at init: softplus(0)
  }
}

TEST(Trainer, SameSeedSameRunDifferentSeedDifferentRun) {
  std::vector<double> a = losses(model(), opts(), 5), b = losses(model(), opts(), 5);
  EXPECT_EQ(a, b);
  tkg::TrainOptions t = opts();
  t.seed = 10;
  EXPECT_NE(losses(model(), t, 5), a);
  // Evaluation is deterministic too.
  auto comm = tkg::make_self_communicator();
  tkg::Trainer x(small_shard(), model(), opts(), *comm), y(small_shard(), model(), opts(), *comm);
  for (int e = 0; e < 3; ++e) x.train_epoch(e), y.train_epoch(e);
  tkg::MetricSums mx = x.evaluate(small_shard().test), my = y.evaluate(small_shard().test);
  EXPECT_GT(mx.users, 0);
  EXPECT_EQ(mx.pack(), my.pack());
}

TEST(Trainer, FusedAndReferenceOperatorsTrainAlike) {
  tkg::ModelOptions r = model();
  r.fused = false;
  std::vector<double> a = losses(model(), opts(), 5), b = losses(r, opts(), 5);
  for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-4 * a[k]);
}

TEST(Trainer, MiniBatchAndSmallPool) {
  tkg::TrainOptions t = opts();
  t.batch_size = 1000;  // ~5 steps per epoch
  std::vector<double> l = losses(model(), t, 10);
  EXPECT_LT(l.back(), 0.7 * l.front());
  tkg::TrainOptions p = opts();
  p.pool_size = 50;
  std::vector<double> q = losses(model(), p, 20);
  EXPECT_TRUE(std::isfinite(q.back()));
  EXPECT_LT(q.back(), 0.9 * q.front());
}

TEST(Trainer, NegativesAreNeverTrainItems) {
  auto comm = tkg::make_self_communicator();
  tkg::Trainer tr(small_shard(), model(), opts(), *comm);
  std::vector<int64_t> lines(static_cast<size_t>(tr.n_lines()));
  std::iota(lines.begin(), lines.end(), 0);
  std::vector<int64_t> neg = tr.sample_negatives(0, 0, lines);
  const tkg::Shard& s = small_shard();
  for (size_t k = 0; k < lines.size(); ++k) {
    int64_t u = tr.line_user(static_cast<int64_t>(k));
    auto b = s.train.items.begin() + s.train.indptr[u], e = s.train.items.begin() + s.train.indptr[u + 1];
    ASSERT_EQ(std::find(b, e, neg[k]), e);
    ASSERT_GE(neg[k], 0);
    ASSERT_LT(neg[k], s.n_items);
  }
}

// K negatives per line: the BPR term is the mean over the (line, negative) pairs, so with K = 2
// it is the mean of the two one-negative losses, and so are the gradients (λ term included: it
// counts each pair's rows).
TEST(Trainer, SeveralNegativesAverageTheirPairs) {
  auto comm = tkg::make_self_communicator();
  tkg::TrainOptions t1 = opts(), t2 = opts();
  t1.reg = t2.reg = 1e-2;
  t2.negatives = 2;
  tkg::Trainer one(small_shard(), model(), t1, *comm), two(small_shard(), model(), t2, *comm);
  std::vector<int64_t> lines(static_cast<size_t>(one.n_lines()));
  std::iota(lines.begin(), lines.end(), 0);
  const std::vector<int64_t> nb = two.sample_negatives(0, 0, lines);  // [2n]
  ASSERT_EQ(nb.size(), 2 * lines.size());
  std::vector<int64_t> first(lines.size()), second(lines.size());
  for (size_t k = 0; k < lines.size(); ++k) first[k] = nb[2 * k], second[k] = nb[2 * k + 1];
  EXPECT_EQ(first, one.sample_negatives(0, 0, lines));
  const double l0 = one.forward_backward(lines, first);
  at::Tensor g0 = one.embedding().grad().clone(), b0 = one.beta_logits().grad().clone();
  const double l1 = one.forward_backward(lines, second);
  at::Tensor g1 = one.embedding().grad().clone(), b1 = one.beta_logits().grad().clone();
  const double l2 = two.forward_backward(lines, nb);
  EXPECT_NEAR(l2, 0.5 * (l0 + l1), 1e-6 * l2);
  EXPECT_LT((two.embedding().grad() - 0.5 * (g0 + g1)).abs().max().item<double>(), 1e-6 * g0.abs().max().item<double>());
  EXPECT_LT((two.beta_logits().grad() - 0.5 * (b0 + b1)).abs().max().item<double>(), 1e-6 * b0.abs().max().item<double>());
  // A full-batch epoch (the line arrays expanded) trains, and differs from K = 1.
  std::vector<double> a = losses(model(), t1, 10), b = losses(model(), t2, 10);
  EXPECT_LT(b.back(), 0.8 * b.front());
  EXPECT_NE(a, b);
}

// train.optimizer: Adam adds weight_decay·θ to the gradient (L2), AdamW decays θ apart; with
// weight_decay 0 they take the same step. The state (moments) round-trips through state() for both.
TEST(Trainer, AdamAndAdamW) {
  auto comm = tkg::make_self_communicator();
  auto run = [&](const std::string& kind, double wd) {
    tkg::TrainOptions t = opts();
    t.optimizer = kind;
    t.weight_decay = wd;
    auto tr = std::make_unique<tkg::Trainer>(small_shard(), model(), t, *comm);
    for (int e = 0; e < 3; ++e) tr->train_epoch(e);
    return tr;
  };
  auto adam0 = run("adam", 0), adamw0 = run("adamw", 0), adam = run("adam", 0.1), adamw = run("adamw", 0.1);
  EXPECT_LT((adam0->embedding() - adamw0->embedding()).abs().max().item<double>(), 1e-6);
  EXPECT_GT((adam->embedding() - adamw->embedding()).abs().max().item<double>(), 1e-4);
  // Resume: a fresh Adam trainer given the state continues exactly as the original.
  tkg::TrainOptions t = opts();
  t.optimizer = "adam";
  t.weight_decay = 0.1;
  tkg::Trainer copy(small_shard(), model(), t, *comm);
  copy.set_state(adam->state());
  EXPECT_EQ(copy.state().table_step, 3);
  const double la = adam->train_epoch(3), lc = copy.train_epoch(3);
  EXPECT_EQ(la, lc);
  EXPECT_TRUE(at::equal(adam->embedding(), copy.embedding()));
}

// train.moments = bf16: the table's moments are bfloat16 in the optimizer, float32 in the state a
// checkpoint writes; a trainer given that state continues exactly as the original (bf16 -> float32
// -> bf16 is exact), and training still lowers the loss like the float32 moments do.
TEST(Trainer, Bf16MomentsResumeExactlyAndTrain) {
  auto comm = tkg::make_self_communicator();
  for (const std::string kind : {"adamw", "adam"}) {
    tkg::TrainOptions t = opts(), t32 = opts();
    t.optimizer = t32.optimizer = kind;
    t.moments = "bf16";
    tkg::Trainer tr(small_shard(), model(), t, *comm), ref(small_shard(), model(), t32, *comm);
    std::vector<double> l16, l32;
    for (int e = 0; e < 4; ++e) l16.push_back(tr.train_epoch(e)), l32.push_back(ref.train_epoch(e));
    EXPECT_LT(l16.back(), l16.front()) << kind;
    EXPECT_NEAR(l16.back(), l32.back(), 0.02 * std::abs(l32.back())) << kind;
    EXPECT_FALSE(at::equal(tr.embedding(), ref.embedding())) << kind;  // rounded moments: not the same bits
    const tkg::TrainerState s = tr.state();
    EXPECT_EQ(s.table_m.scalar_type(), at::kFloat);
    EXPECT_EQ(s.table_step, 4);
    tkg::Trainer copy(small_shard(), model(), t, *comm);
    copy.set_state(s);
    const double la = tr.train_epoch(4), lc = copy.train_epoch(4);
    EXPECT_EQ(la, lc) << kind;
    EXPECT_TRUE(at::equal(tr.embedding(), copy.embedding())) << kind;
  }
}

TEST(BprLoss, FusedMatchesReference) {
  at::manual_seed(1);
  at::Tensor local0 = at::randn({50, 8}), pool0 = at::randn({20, 8});
  at::Tensor lu = at::randint(50, {200}, at::kLong), li = at::randint(50, {200}, at::kLong),
             lj = at::randint(20, {200}, at::kLong);
  // Negatives address the second block: rows 50.. of the virtual table [local; pool].
  auto run = [&](bool fused) {
    at::Tensor l = local0.clone().requires_grad_(true), p = pool0.clone().requires_grad_(true);
    at::Tensor loss = fused ? tkg::bpr_loss_fused(l, p, {}, lu, li, lj + 50, 0.01)
                            : tkg::bpr_loss_reference(l, p, {}, lu, li, lj + 50, 0.01);
    auto g = torch::autograd::grad({loss}, {l, p});
    return std::vector<at::Tensor>{loss.detach(), g[0], g[1]};
  };
  auto f = run(true), r = run(false);
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(at::allclose(f[k], r[k], 1e-5, 1e-6)) << k;
}

// Three blocks give the bits one concatenated table gives (loss and every gradient row), with
// int32 and int64 rows alike; an empty middle block is allowed.
TEST(BprLoss, BlocksAreTheConcatenatedTable) {
  at::manual_seed(2);
  for (int64_t rows_b : {int64_t{0}, int64_t{30}}) {
    at::Tensor a0 = at::randn({40, 16}), b0 = at::randn({rows_b, 16}), c0 = at::randn({25, 16});
    const int64_t rows = 40 + rows_b + 25;
    at::Tensor lu = at::randint(40, {500}, at::kLong), li = at::randint(rows, {500}, at::kLong),
               lj = at::randint(rows, {500}, at::kLong);
    at::Tensor t = at::cat({a0, b0, c0}, 0).requires_grad_(true);
    at::Tensor whole = tkg::bpr_loss_fused(t, {}, {}, lu, li, lj, 0.003);
    at::Tensor gt = torch::autograd::grad({whole}, {t})[0];
    for (auto dtype : {at::kInt, at::kLong}) {
      at::Tensor a = a0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true), c = c0.clone().requires_grad_(true);
      at::Tensor loss = tkg::bpr_loss_fused(a, b, c, lu.to(dtype), li.to(dtype), lj.to(dtype), 0.003);
      auto g = torch::autograd::grad({loss}, {a, b, c}, {}, c10::nullopt, false, /*allow_unused=*/true);
      EXPECT_EQ(loss.item<float>(), whole.item<float>());
      EXPECT_TRUE(at::equal(at::cat({g[0], g[1].defined() ? g[1] : at::zeros_like(b0), g[2]}, 0), gt)) << dtype << " " << rows_b;
    }
  }
  at::Tensor a = at::randn({4, 8});
  EXPECT_ANY_THROW(tkg::bpr_loss_fused(a, {}, {}, at::zeros({2}, at::kInt), at::zeros({2}, at::kLong), at::zeros({2}, at::kInt), 1.0));
}

namespace {

tkg::ModelOptions gnaq(int bits, const std::string& rau = "paper") {
  tkg::ModelOptions m = model();
  m.quant.bits = bits;
  m.quant.rau = rau;
  m.quant.concat_levels = true;
  m.quant.lr = 0.05;
  return m;
}

}  // namespace

TEST(Gnaq, GradientsReachTheLevelsOnly) {
  auto comm = tkg::make_self_communicator();
  tkg::Trainer tr(small_shard(), gnaq(2), opts(), *comm);
  tr.train_epoch(0);  // warmup 0: quantizes before the first step
  ASSERT_TRUE(tr.quantized());
  EXPECT_FALSE(tr.embedding().defined());  // the fp32 table is gone
  std::vector<int64_t> lines(static_cast<size_t>(tr.n_lines()));
  std::iota(lines.begin(), lines.end(), 0);
  tr.forward_backward(lines, tr.sample_negatives(1, 0, lines));
  ASSERT_TRUE(tr.levels().grad().defined());
  EXPECT_GT(tr.levels().grad().abs().sum().item<double>(), 0.0);
  EXPECT_EQ(tr.levels().sizes(), (std::vector<int64_t>{small_shard().n_own(), 4}));
  EXPECT_EQ(tr.codes().scalar_type(), at::kByte);
  EXPECT_FALSE(tr.codes().requires_grad());
  EXPECT_EQ(tr.width(), 16 + 4);  // H⁰ = [E', S]
}

TEST(Gnaq, DqsKeepsLevelsSortedAndRowsUnchanged) {
  auto comm = tkg::make_self_communicator();
  tkg::ModelOptions m = gnaq(2, "off");
  tkg::Trainer tr(small_shard(), m, opts(), *comm);
  for (int e = 0; e < 3; ++e) tr.train_epoch(e);
  at::Tensor lv = tr.levels().detach();
  EXPECT_TRUE(at::equal(std::get<0>(lv.sort(1)), lv)) << "levels sorted after every step";
  // With RAU off, a step changes a node's codes only by DQS's permutation of its levels: equal
  // codes stay equal and different codes stay different within every node (a bijection per node).
  at::Tensor before = tr.codes().clone().to(at::kCPU).contiguous();
  tr.train_epoch(3);
  EXPECT_TRUE(at::equal(std::get<0>(tr.levels().detach().sort(1)), tr.levels().detach()));
  at::Tensor after = tr.codes().to(at::kCPU).contiguous();
  const int64_t n = before.size(0), d = before.size(1);
  const uint8_t *b = before.data_ptr<uint8_t>(), *a = after.data_ptr<uint8_t>();
  int64_t broken = 0, moved = 0;
  for (int64_t i = 0; i < n; ++i) {
    int map[4] = {-1, -1, -1, -1}, inv[4] = {-1, -1, -1, -1};
    for (int64_t t = 0; t < d; ++t) {
      const int x = b[i * d + t], y = a[i * d + t];
      if ((map[x] >= 0 && map[x] != y) || (inv[y] >= 0 && inv[y] != x)) ++broken;
      map[x] = y, inv[y] = x;
      moved += x != y;
    }
  }
  EXPECT_EQ(broken, 0) << "codes changed other than by a per-node permutation";
  EXPECT_GT(moved, 0) << "DQS never reordered a level (the test would not see a wrong permutation)";
}

TEST(Gnaq, TrainsWithEveryRuleAndTheRankLoss) {
  for (std::string rau : {"paper", "code", "off"}) {
    tkg::ModelOptions m = gnaq(2, rau);
    m.quant.rank_loss = rau == "paper" ? 0.5 : 0.0;
    m.quant.tanh = rau == "code";
    m.quant.concat_levels = rau != "code";
    std::vector<double> l = losses(m, opts(), 25);
    EXPECT_TRUE(std::isfinite(l.back())) << rau;
    EXPECT_LT(l.back(), 0.9 * l.front()) << rau;
  }
  for (int bits : {1, 4, 8}) {
    std::vector<double> l = losses(gnaq(bits), opts(), 10);
    EXPECT_LT(l.back(), l.front()) << bits;
  }
}

TEST(Optimizer, ScheduledLearningRate) {
  EXPECT_DOUBLE_EQ(tkg::scheduled_lr(0.1, 5, 100, "constant", 0), 0.1);
  EXPECT_DOUBLE_EQ(tkg::scheduled_lr(0.1, 0, 100, "constant", 4), 0.025);
  EXPECT_DOUBLE_EQ(tkg::scheduled_lr(0.1, 3, 100, "constant", 4), 0.1);
  EXPECT_DOUBLE_EQ(tkg::scheduled_lr(0.1, 0, 100, "cosine", 0), 0.1);
  EXPECT_NEAR(tkg::scheduled_lr(0.1, 50, 100, "cosine", 0), 0.05, 1e-12);
  EXPECT_NEAR(tkg::scheduled_lr(0.1, 100, 100, "cosine", 0), 0.0, 1e-12);
  // A schedule changes training; a warm-up of one epoch does not.
  tkg::TrainOptions t = opts(), w = opts(), c = opts();
  w.lr_warmup = 1;
  c.lr_schedule = "cosine";
  c.epochs = 6;
  EXPECT_EQ(losses(model(), t, 6), losses(model(), w, 6));
  std::vector<double> lc = losses(model(), c, 6);
  EXPECT_NE(losses(model(), t, 6), lc);
  EXPECT_LT(lc.back(), lc.front());
}

// A mini-batch step's gradients with the backward's zero-row skipping (its top layers have a
// gradient only on the batch's rows) equal those of the full passes, for TopKGAT and LightGCN.
TEST(Trainer, MiniBatchStepSkipsZeroGradientRowsExactly) {
  auto comm = tkg::make_self_communicator();
  for (const char* att : {"topk", "one"}) {
    tkg::ModelOptions m = model(att, 3);
    m.mean_layers = std::string(att) == "one";
    tkg::Trainer tr(small_shard(), m, opts(), *comm);
    std::vector<int64_t> lines;
    for (int64_t k = 0; k < tr.n_lines(); k += 97) lines.push_back(k);  // a small batch
    const std::vector<int64_t> neg = tr.sample_negatives(0, 0, lines);
    std::vector<at::Tensor> g;
    for (bool skip : {false, true}) {
      tkg::set_cpu_skip_zero_rows(skip);
      tr.forward_backward(lines, neg);
      g.push_back(tr.embedding().grad().clone());
      g.push_back(tr.beta_logits().grad().defined() ? tr.beta_logits().grad().clone() : at::zeros({1}));
    }
    tkg::set_cpu_skip_zero_rows(true);
    EXPECT_TRUE(at::equal(g[0], g[2])) << att;
    EXPECT_TRUE(at::equal(g[1], g[3])) << att;
    EXPECT_GT(g[0].abs().sum().item<double>(), 0) << att;
  }
}
