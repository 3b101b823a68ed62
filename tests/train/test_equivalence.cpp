// The backbone (DESIGN §4): P ranks compute what 1 rank computes. Every rank also runs the
// single-rank model locally (a self communicator over the whole graph) and compares its owned
// rows: negatives, loss per step, gradients, parameters after 5 steps, evaluation metrics.
// The gpu_* cases run the P-rank model on GPUs (rows staged through MPI, or over NCCL) against the
// single-rank CPU model; they skip together on machines without CUDA (docs/gpu.md has the runs).
#include <ATen/ATen.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "../support/mpi_fixture.hpp"
#include "../support/temp_dir.hpp"
#include "eval/eval_users.hpp"
#include "graph/synthetic.hpp"
#include "train/train_lines.hpp"
#include "train/trainer.hpp"
#ifdef TKG_HAVE_NCCL
#include "comm/nccl_communicator.hpp"
#endif

using tkg::testing::world;

namespace {

struct Case {
  std::string name;
  std::string data;            // shipped dataset, or "synthetic"
  std::string method;          // metis | random | degenerate
  std::string attention = "topk";
  bool mean_layers = false;
  int quant_bits = 0;            // GNAQ from the first step
  std::string rau = "paper";
  bool fp8_halo = true;
  std::string device = "cpu";  // of the P-rank model: cpu | cuda (GPU local_rank mod GPUs)
  std::string rows = "mpi";    // what moves its rows: mpi (device tensors staged) | nccl
  int64_t pool_size = 0;       // 0: exact sampler; else the shared negative pool
  bool overlap = true;         // layers overlap their halo exchange with interior edges (at P > 1)
  bool bf16_halo = false;      // deeper layers' halos as bfloat16 (rounded: looser tolerances)
  bool fused = true;           // fused CPU operator (false: the ATen composition, autograd backward)
  double rank_loss = 0;        // GNAQ's LambdaLoss-style term
  std::string recompute = "weights";  // what each layer keeps per edge (exact in every mode)
  bool saved_bf16 = false;     // layer inputs kept as bfloat16 for the backward (rounded: looser tolerances)
  int64_t negatives = 1;       // train.negatives
  std::string optimizer = "adamw";
  std::string moments = "fp32";  // train.moments (bf16: the table's moments stored rounded)
  bool rounded() const { return bf16_halo || saved_bf16 || moments == "bf16"; }  // float differences between P and 1 can flip a rounding
};

// A case with some fields changed: with(Case{...}, [](Case& c) { c.fused = false; }).
template <typename F>
Case with(Case c, F f) {
  f(c);
  return c;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const tkg::Dataset& dataset(const std::string& name) {
  static std::map<std::string, tkg::Dataset> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  tkg::Dataset ds;
  if (name == "synthetic") {
    tkg::PowerLawOptions o;
    o.users = 1500;
    o.items = 1000;
    o.edges = 15000;
    o.communities = 4;
    o.seed = 11;
    ds = tkg::generate_powerlaw(o);
  } else if (name == "disconnected") {
    // One planted community per rank and no edge between communities: METIS cuts nothing, so
    // every rank has an empty halo (and fetches negatives from ranks that fetch none from it).
    tkg::PowerLawOptions o;
    o.users = 400;
    o.items = 400;
    o.edges = 4000;
    o.communities = world().size();
    o.p_in = 1.0;
    o.seed = 3;
    ds = tkg::generate_powerlaw(o);
  } else {
    ds = tkg::load_dataset(tkg::testing::shared_data(name), tkg::ReadOptions{});
  }
  return cache.emplace(name, std::move(ds)).first->second;
}

// Rank P-1 owns no users and rank 0 owns no items (when P >= 2).
tkg::Shard degenerate_shard(const tkg::Dataset& ds) {
  const int P = world().size();
  std::vector<int32_t> part(static_cast<size_t>(ds.n_nodes()));
  for (int64_t u = 0; u < ds.n_users; ++u) part[u] = P == 1 ? 0 : static_cast<int32_t>(u % (P - 1));
  for (int64_t i = 0; i < ds.n_items; ++i) part[ds.n_users + i] = P == 1 ? 0 : static_cast<int32_t>(1 + i % (P - 1));
  tkg::Shard mine;
  tkg::build_shards(ds, part, P, 7, nullptr, [&](tkg::Shard&& s) {
    if (s.rank == world().rank()) mine = std::move(s);
  });
  return mine;
}

// Each connected component of the train graph whole on one rank (largest first, to the rank with
// the fewest nodes so far): no edge is cut, so every rank's halo is empty, whatever P is.
tkg::Shard components_shard(const tkg::Dataset& ds) {
  const int P = world().size();
  const tkg::NodeCsr g = tkg::build_train_csr(ds, /*distinct=*/true);
  const int64_t n = ds.n_nodes();
  std::vector<int64_t> comp(static_cast<size_t>(n), -1), size;
  for (int64_t s = 0; s < n; ++s) {
    if (comp[s] >= 0) continue;
    const int64_t id = static_cast<int64_t>(size.size());
    std::vector<int64_t> stack{s};
    comp[s] = id;
    int64_t count = 0;
    while (!stack.empty()) {
      const int64_t v = stack.back();
      stack.pop_back();
      ++count;
      for (int64_t e = g.indptr[v]; e < g.indptr[v + 1]; ++e)
        if (comp[g.indices[e]] < 0) comp[g.indices[e]] = id, stack.push_back(g.indices[e]);
    }
    size.push_back(count);
  }
  std::vector<int64_t> order(size.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return size[a] > size[b]; });
  std::vector<int32_t> rank_of(size.size());
  std::vector<int64_t> load(static_cast<size_t>(P), 0);
  for (int64_t c : order) {
    const int32_t r = static_cast<int32_t>(std::min_element(load.begin(), load.end()) - load.begin());
    rank_of[c] = r;
    load[r] += size[c];
  }
  std::vector<int32_t> part(static_cast<size_t>(n));
  for (int64_t v = 0; v < n; ++v) part[v] = rank_of[comp[v]];
  tkg::Shard mine;
  tkg::build_shards(ds, part, P, 9, nullptr, [&](tkg::Shard&& s) {
    if (s.rank == world().rank()) mine = std::move(s);
  });
  return mine;
}

double max_abs(const at::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; }

class Equivalence : public ::testing::TestWithParam<Case> {};

// Every rank agrees (a skip on some ranks only would leave the others waiting in a collective).
bool all_ranks(bool mine) { return world().all_reduce_sum(static_cast<int64_t>(!mine)) == 0; }

TEST_P(Equivalence, PRanksComputeWhatOneRankComputes) {
  const Case& c = GetParam();
  const bool gpu = c.device != "cpu";
  if (gpu && !all_ranks(at::hasCUDA())) GTEST_SKIP() << "no CUDA here (CPU LibTorch or no GPU)";
  std::unique_ptr<tkg::Communicator> nccl;
  if (c.rows == "nccl") {
#ifdef TKG_HAVE_NCCL
    if (!tkg::each_rank_has_own_gpu(world())) GTEST_SKIP() << "NCCL needs a GPU per rank";
    nccl = tkg::make_nccl_communicator(world(), 120);
#else
    GTEST_SKIP() << "built without NCCL";
#endif
  }
  // GPU arithmetic sums in other orders (atomics in index_add): tolerances grow by `tol`; bf16
  // halos round the deeper layers' rows to 8 significant bits (about 4e-3 relative).
  const double tol = c.rounded() ? 1000.0 : gpu ? 10.0 : 1.0;
  const tkg::Dataset& ds = dataset(c.data);
  tkg::Shard full = tkg::build_single_shard(ds);
  tkg::Shard mine = c.method == "degenerate"   ? degenerate_shard(ds)
                    : c.method == "components" ? components_shard(ds)
                                               : tkg::testing::my_shard(ds, tkg::parse_partition_method(c.method));
  tkg::ModelOptions m;
  m.layers = 2;
  m.dim = 16;
  m.attention = c.attention;
  m.mean_layers = c.mean_layers;
  m.quant.bits = c.quant_bits;
  m.quant.rau = c.rau;
  m.quant.fp8_halo = c.fp8_halo;
  m.quant.tanh = c.rau == "code";
  m.quant.concat_levels = c.rau == "paper";  // one case of each form of H⁰
  m.overlap = c.overlap;
  m.bf16_halo = c.bf16_halo;
  m.recompute = c.recompute;
  m.saved_bf16 = c.saved_bf16;
  m.fused = c.fused;
  m.quant.rank_loss = c.rank_loss;
  tkg::TrainOptions t;
  t.lr = 0.01;
  t.reg = 1e-3;
  t.seed = 5;
  t.ks = {1, 5, 20};
  t.pool_size = c.pool_size;
  t.negatives = c.negatives;
  t.optimizer = c.optimizer;
  t.moments = c.moments;
  auto self = tkg::make_self_communicator();
  tkg::Trainer ref(full, m, t, *self);
  tkg::ModelOptions md = m;
  if (gpu) {
    const int64_t n = at::detail::getCUDAHooks().getNumGPUs();
    md.device = "cuda:" + std::to_string(tkg::local_rank_from_env(world().local_rank()) % n);
  }
  tkg::Trainer dist(mine, md, t, world(), nccl.get());
  ASSERT_EQ(dist.global_lines(), ref.global_lines());
  if (c.data == "disconnected") EXPECT_EQ(mine.n_halo(), 0) << "the disconnected graph's ranks have no halo";
  // The overlapped layer runs wherever it applies (P > 1, fused kernels, no softmax), else the plain one.
  if (!gpu) EXPECT_EQ(dist.overlapped(), c.overlap && c.fused && world().size() > 1 && c.attention != "softmax");
  EXPECT_FALSE(ref.overlapped());

  // Same initial parameters by global id.
  for (int64_t k = 0; k < mine.n_own(); ++k)
    ASSERT_TRUE(at::equal(dist.embedding()[k].cpu(), ref.embedding()[mine.owned[k]])) << "init row " << mine.owned[k];
  if (c.quant_bits) {
    ref.quantize_now();
    dist.quantize_now();
  }
  // The trained table: fp32 rows, or the GNAQ levels (its codes are compared separately).
  auto table = [&](tkg::Trainer& tr) { return c.quant_bits ? tr.levels() : tr.embedding(); };
  auto host = [](const at::Tensor& x) { return x.detach().to(at::kCPU); };

  // Evaluation at the initial parameters: forward sums run in the same order, so equal exactly
  // (on a GPU, up to scores that swap places by float noise).
  tkg::MetricSums me0 = dist.evaluate(mine.valid), re0 = ref.evaluate(full.valid);
  EXPECT_EQ(me0.users, re0.users);
  for (const std::string& n : re0.names()) EXPECT_NEAR(me0.mean(n), re0.mean(n), c.rounded() ? 2e-2 : gpu ? 2e-4 : 1e-12) << n;

  std::vector<int64_t> lines(static_cast<size_t>(dist.n_lines())), ref_lines(static_cast<size_t>(ref.n_lines()));
  std::iota(lines.begin(), lines.end(), 0);
  std::iota(ref_lines.begin(), ref_lines.end(), 0);
  auto ref_line_of = [&](int64_t k) {  // the single-rank line of distributed line k
    const int64_t user = mine.owned[dist.line_user(k)];
    return full.train.indptr[user] + dist.line_pos(k);
  };
  for (int s = 0; s < 5; ++s) {
    // The sampler is partition-independent: the negatives agree line by line. They are then
    // injected into both models.
    std::vector<int64_t> ref_neg = ref.sample_negatives(s, 0, ref_lines);
    std::vector<int64_t> neg = dist.sample_negatives(s, 0, lines);
    const int64_t K = c.negatives;
    ASSERT_EQ(neg.size(), lines.size() * K);
    for (size_t k = 0; k < lines.size(); ++k)
      for (int64_t q = 0; q < K; ++q) ASSERT_EQ(neg[k * K + q], ref_neg[ref_line_of(k) * K + q]) << "line " << k;
    if (s == 0) {
      // Gradients of the first step, row by row.
      double lr_ = ref.forward_backward(ref_lines, ref_neg), ld = dist.forward_backward(lines, neg);
      EXPECT_NEAR(ld, lr_, tol * 1e-6 * std::abs(lr_));
      at::Tensor ge = host(table(dist).grad()), rge = table(ref).grad();
      at::Tensor idx = at::tensor(mine.owned, at::kLong);
      double scale = max_abs(rge);
      EXPECT_LT(max_abs(ge - rge.index_select(0, idx)), tol * 1e-5 * scale) << "embedding gradients";
      if (mine.n_own_users > 0 && ref.beta_logits().grad().defined()) {
        at::Tensor uidx = idx.narrow(0, 0, mine.n_own_users);
        at::Tensor gb = host(dist.beta_logits().grad()), rgb = ref.beta_logits().grad().index_select(0, uidx);
        EXPECT_LT(max_abs(gb - rgb), tol * 1e-5 * max_abs(ref.beta_logits().grad())) << "beta gradients";
      }
    }
    double lref = ref.step(ref_lines, ref_neg);
    double ldist = dist.step(lines, neg);
    EXPECT_NEAR(ldist, lref, tol * 1e-5 * std::abs(lref)) << "loss at step " << s;
  }
  // Parameters after 5 AdamW steps, by global id.
  at::Tensor idx = at::tensor(mine.owned, at::kLong);
  double emb_err = max_abs(host(table(dist)) - table(ref).detach().index_select(0, idx));
  EXPECT_LT(emb_err, tol * 1e-4) << "embeddings (or levels) after 5 steps";
  if (c.quant_bits) {
    // On a GPU a value on a bin boundary may fall either way: at most 1 code in 10^4 may differ.
    at::Tensor diff = host(dist.codes()).ne(ref.codes().index_select(0, idx)).sum();
    EXPECT_LE(diff.item<int64_t>(), gpu ? dist.codes().numel() / 10000 : 0) << "codes after 5 steps (RAU " << c.rau << ")";
  }
  if (mine.n_own_users > 0) {
    at::Tensor uidx = idx.narrow(0, 0, mine.n_own_users);
    double b_err = max_abs(host(dist.beta_logits()) - ref.beta_logits().detach().index_select(0, uidx));
    EXPECT_LT(b_err, tol * 1e-4) << "beta after 5 steps";
  }
  // Evaluation after training: equal up to float noise in the embeddings.
  tkg::MetricSums me = dist.evaluate(mine.test), re = ref.evaluate(full.test);
  EXPECT_EQ(me.users, re.users);
  for (const std::string& n : re.names()) EXPECT_NEAR(me.mean(n), re.mean(n), c.rounded() ? 2e-2 : 2e-4) << n;
}

// Sampled evaluation: the same users at any P (a seeded sample of those with targets), so the
// same metric sums and confidence intervals; each user still ranked against all items.
// The synthetic graph whole (1 rank) and this rank's METIS shard of it, and a small model.
struct SyntheticPair {
  tkg::Shard full, mine;
  tkg::ModelOptions model;
  explicit SyntheticPair(const std::string& data = "synthetic")
      : full(tkg::build_single_shard(dataset(data))),
        mine(data == "disconnected" ? components_shard(dataset(data))
                                    : tkg::testing::my_shard(dataset(data), tkg::parse_partition_method("metis"))) {
    model.layers = 2;
    model.dim = 16;
  }
};

TEST(SampledEvaluation, SameUsersAndMetricsAtAnyP) {
  SyntheticPair sp;
  const tkg::Shard &full = sp.full, &mine = sp.mine;
  const tkg::ModelOptions& m = sp.model;
  tkg::TrainOptions t;
  t.ks = {1, 5, 20};
  t.eval_block_bytes = 4096;  // many small score blocks
  auto self = tkg::make_self_communicator();
  tkg::Trainer ref(full, m, t, *self);
  tkg::Trainer dist(mine, m, t, world());
  for (int64_t n : {int64_t{1}, int64_t{250}, int64_t{1000000}}) {
    tkg::EvalUsers ru = tkg::select_eval_users(full, full.test, n, 77, *self);
    tkg::EvalUsers du = tkg::select_eval_users(mine, mine.test, n, 77, world());
    EXPECT_EQ(du.global, ru.global);
    EXPECT_EQ(du.eligible, ru.eligible);
    EXPECT_EQ(ru.global, std::min<int64_t>(n, ru.eligible));
    // The same global user ids.
    std::vector<int64_t> ids;
    for (int64_t u : du.local) ids.push_back(mine.owned[u]);
    std::vector<int64_t> counts = world().all_gather_one(static_cast<int64_t>(ids.size()));
    int64_t total = 0;
    for (int64_t c : counts) total += c;
    std::vector<int64_t> all(static_cast<size_t>(total));
    world().all_gather_v(ids.data(), static_cast<int64_t>(ids.size()), all.data(), counts, tkg::DType::kInt64);
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, ru.local);  // P = 1: local index = global user id
    tkg::MetricSums a = dist.evaluate(mine.test, du.local), b = ref.evaluate(full.test, ru.local);
    EXPECT_EQ(a.users, b.users);
    for (const std::string& name : b.names()) {
      EXPECT_NEAR(a.mean(name), b.mean(name), 1e-12) << name;
      EXPECT_NEAR(a.ci95(name), b.ci95(name), 1e-9) << name;
    }
  }
}

// Evaluation with the users travelling around the ring (their partial top-K lists coming back)
// gives the lists and metrics of the items ring, and of one rank.
TEST(RingModes, UsersRingEqualsItemsRing) {
  SyntheticPair sp;
  const tkg::Shard &full = sp.full, &mine = sp.mine;
  tkg::TrainOptions t;
  t.ks = {1, 5, 20};
  t.eval_block_bytes = 8192;  // several tiles
  auto self = tkg::make_self_communicator();
  tkg::Trainer ref(full, sp.model, t, *self);
  t.eval_ring = "items";
  tkg::Trainer by_items(mine, sp.model, t, world());
  t.eval_ring = "users";
  tkg::Trainer by_users(mine, sp.model, t, world());
  tkg::EvalUsers du = tkg::select_eval_users(mine, mine.test, 60, 7, world());
  tkg::EvalUsers ru = tkg::select_eval_users(full, full.test, 60, 7, *self);
  const int k = 20;
  tkg::TopKAccumulator ai(static_cast<int64_t>(du.local.size()), k), au(static_cast<int64_t>(du.local.size()), k);
  tkg::TopKAccumulator ar(static_cast<int64_t>(ru.local.size()), k);
  auto eval_bytes = [] { return world().all_reduce_sum(static_cast<int64_t>(world().stats().bytes(tkg::Traffic::kEval))); };
  const int64_t b0 = eval_bytes();
  tkg::MetricSums mi = by_items.evaluate(mine.test, du.local, &ai);
  const int64_t b1 = eval_bytes();
  tkg::MetricSums mu = by_users.evaluate(mine.test, du.local, &au);
  const int64_t b2 = eval_bytes();
  tkg::MetricSums mr = ref.evaluate(full.test, ru.local, &ar);
  EXPECT_EQ(mu.users, mi.users);
  for (const std::string& n : mi.names()) {
    EXPECT_NEAR(mu.mean(n), mi.mean(n), 1e-12) << n;
    EXPECT_NEAR(mu.mean(n), mr.mean(n), 1e-12) << n;
  }
  for (size_t r = 0; r < du.local.size(); ++r) {
    ASSERT_EQ(au.ranked(static_cast<int64_t>(r)), ai.ranked(static_cast<int64_t>(r))) << "user " << mine.owned[du.local[r]];
    const int64_t ref_row = std::lower_bound(ru.local.begin(), ru.local.end(), mine.owned[du.local[r]]) - ru.local.begin();
    ASSERT_EQ(au.ranked(static_cast<int64_t>(r)), ar.ranked(ref_row)) << "user " << mine.owned[du.local[r]];
  }
  // The users ring moves fewer bytes here (60 sampled users against 1000 items), and "auto" takes it.
  if (world().size() > 1) EXPECT_LT(b2 - b1, b1 - b0) << "users ring " << b2 - b1 << " bytes, items ring " << b1 - b0;
  t.eval_ring = "auto";
  tkg::Trainer by_auto(mine, sp.model, t, world());
  tkg::TopKAccumulator aa(static_cast<int64_t>(du.local.size()), k);
  by_auto.evaluate(mine.test, du.local, &aa);
  EXPECT_EQ(eval_bytes() - b2, b2 - b1);
}

// Whole epochs through the trainer's own schedule and sampler, for every sampler mode: full batch
// and mini-batches, exact sampler and shared pool. Loss per epoch and parameters after 3 epochs.
struct EpochCase {
  std::string name;
  int64_t batch_size;
  int64_t pool_size;
  std::string data = "synthetic";
  int64_t negatives = 1;
  std::string optimizer = "adamw";
  std::string sampling = "lines";
};
void PrintTo(const EpochCase& c, std::ostream* os) { *os << c.name; }
class SamplerModes : public ::testing::TestWithParam<EpochCase> {};

TEST_P(SamplerModes, EpochsMatchOneRank) {
  const EpochCase& c = GetParam();
  SyntheticPair sp(c.data);
  const tkg::Shard &full = sp.full, &mine = sp.mine;
  const tkg::ModelOptions& m = sp.model;
  tkg::TrainOptions t;
  t.lr = 0.01;
  t.reg = 1e-3;
  t.seed = 9;
  t.batch_size = c.batch_size;
  t.pool_size = c.pool_size;
  t.negatives = c.negatives;
  t.optimizer = c.optimizer;
  t.sampling = c.sampling;
  auto self = tkg::make_self_communicator();
  tkg::Trainer ref(full, m, t, *self);
  tkg::Trainer dist(mine, m, t, world());
  if (c.data == "disconnected") {
    EXPECT_EQ(mine.n_halo(), 0);
    if (c.batch_size > 0 && world().size() > 1) {
      // The case is there for steps in which this rank has no lines while its peers have some.
      tkg::LocalIndex local(mine);
      const tkg::TrainLines lines = tkg::build_train_lines(mine, local);
      const int64_t n_steps = (dist.global_lines() + c.batch_size - 1) / c.batch_size;
      int64_t empty = 0;
      for (int64_t e = 0; e < 3; ++e)
        for (const auto& step : tkg::batch_schedule(lines, t.seed, e, n_steps)) empty += step.empty();
      EXPECT_GT(world().all_reduce_sum(empty), 0) << "no step left a rank without lines";
    }
  }
  for (int64_t e = 0; e < 3; ++e) {
    const double lr_ = ref.train_epoch(e), ld = dist.train_epoch(e);
    EXPECT_NEAR(ld, lr_, 1e-5 * std::abs(lr_)) << "loss of epoch " << e;
  }
  at::Tensor idx = at::tensor(mine.owned, at::kLong);
  EXPECT_LT(max_abs(dist.embedding().detach() - ref.embedding().detach().index_select(0, idx)), 1e-4);
  if (mine.n_own_users > 0) {
    at::Tensor uidx = idx.narrow(0, 0, mine.n_own_users);
    EXPECT_LT(max_abs(dist.beta_logits().detach() - ref.beta_logits().detach().index_select(0, uidx)), 1e-4);
  }
  // Sparse fetch: a rank never fetches more rows in a step than it has lines in that step, nor
  // more than there are items it does not hold.
  const int64_t fetched = dist.timing().negatives_fetched;
  const int64_t steps = c.batch_size ? (dist.global_lines() + c.batch_size - 1) / c.batch_size : 1;
  if (world().size() > 1) EXPECT_GT(world().all_reduce_sum(fetched), 0);
  if (c.data == "disconnected" && world().size() > 1) {
    // Trained through: evaluation agrees too.
    tkg::MetricSums me = dist.evaluate(mine.test), re = ref.evaluate(full.test);
    EXPECT_EQ(me.users, re.users);
    for (const std::string& n : re.names()) EXPECT_NEAR(me.mean(n), re.mean(n), 2e-4) << n;
  }
  EXPECT_LE(fetched, 3 * dist.n_lines() * c.negatives);
  if (c.pool_size) EXPECT_LE(fetched, 3 * steps * c.pool_size);
  if (world().size() == 1) EXPECT_EQ(fetched, 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, SamplerModes,
                         ::testing::Values(EpochCase{"full_exact", 0, 0}, EpochCase{"full_pool", 0, 60},
                                           EpochCase{"minibatch_exact", 4000, 0}, EpochCase{"minibatch_pool", 4000, 60},
                                           EpochCase{"disconnected_full", 0, 0, "disconnected"},
                                           EpochCase{"disconnected_minibatch", 4, 0, "disconnected"},
                                           EpochCase{"disconnected_minibatch_pool", 4, 30, "disconnected"},
                                           EpochCase{"minibatch_negatives3_adam", 4000, 0, "synthetic", 3, "adam"},
                                           EpochCase{"full_negatives2_pool", 0, 60, "synthetic", 2},
                                           EpochCase{"disconnected_minibatch_negatives2_adam", 4, 0, "disconnected", 2, "adam"},
                                           EpochCase{"minibatch_users_adam", 4000, 0, "synthetic", 1, "adam", "users"},
                                           EpochCase{"full_users_negatives2", 0, 0, "synthetic", 2, "adamw", "users"},
                                           EpochCase{"disconnected_minibatch_users", 8, 0, "disconnected", 1, "adam", "users"}),
                         [](const ::testing::TestParamInfo<EpochCase>& i) { return i.param.name; });

INSTANTIATE_TEST_SUITE_P(
    Cases, Equivalence,
    ::testing::Values(Case{"ali_metis", "Ali-Display", "metis"}, Case{"ali_random", "Ali-Display", "random"},
                      Case{"ali_metis_no_overlap", "Ali-Display", "metis", "topk", false, 0, "paper", true, "cpu", "mpi", 0, false},
                      Case{"synthetic_degenerate_no_overlap", "synthetic", "degenerate", "topk", false, 0, "paper", true, "cpu", "mpi", 0, false},
                      Case{"synthetic_metis", "synthetic", "metis"}, Case{"synthetic_random", "synthetic", "random"},
                      Case{"synthetic_degenerate", "synthetic", "degenerate"},
                      Case{"synthetic_pool", "synthetic", "metis", "topk", false, 0, "paper", true, "cpu", "mpi", 100},
                      Case{"ali_random_pool", "Ali-Display", "random", "topk", false, 0, "paper", true, "cpu", "mpi", 500},
                      Case{"synthetic_lightgcn", "synthetic", "random", "one", true},
                      Case{"synthetic_gnaq_paper", "synthetic", "metis", "topk", false, 2, "paper"},
                      Case{"synthetic_gnaq_code_fp32halo", "synthetic", "random", "topk", false, 4, "code", false},
                      Case{"ali_gnaq_paper", "Ali-Display", "metis", "topk", false, 2, "paper"},
                      Case{"synthetic_softmax", "synthetic", "metis", "softmax"},
                      Case{"synthetic_relu", "synthetic", "random", "relu"},
                      with(Case{"ali_metis_bf16_halo", "Ali-Display", "metis"}, [](Case& c) { c.bf16_halo = true; }),
                      with(Case{"synthetic_unfused", "synthetic", "metis"}, [](Case& c) { c.fused = false; }),
                      with(Case{"synthetic_gnaq_rank_loss", "synthetic", "metis", "topk", false, 2, "paper"},
                           [](Case& c) { c.rank_loss = 0.5; }),
                      with(Case{"ali_metis_recompute_all", "Ali-Display", "metis"}, [](Case& c) { c.recompute = "all"; }),
                      with(Case{"synthetic_recompute_none", "synthetic", "metis"}, [](Case& c) { c.recompute = "none"; }),
                      with(Case{"ali_metis_saved_bf16", "Ali-Display", "metis"}, [](Case& c) { c.saved_bf16 = true; }),
                      Case{"synthetic_gnaq_no_rau", "synthetic", "metis", "topk", false, 2, "off"},
                      with(Case{"ali_metis_negatives3_adam", "Ali-Display", "metis"}, [](Case& c) { c.negatives = 3, c.optimizer = "adam"; }),
                      with(Case{"synthetic_lightgcn_negatives4_adam", "synthetic", "random", "one", true},
                           [](Case& c) { c.negatives = 4, c.optimizer = "adam"; }),
                      with(Case{"synthetic_gnaq_negatives2_adam", "synthetic", "metis", "topk", false, 2, "paper"},
                           [](Case& c) { c.negatives = 2, c.optimizer = "adam"; }),
                      with(Case{"ali_metis_bf16_moments", "Ali-Display", "metis"}, [](Case& c) { c.moments = "bf16"; }),
                      with(Case{"synthetic_gnaq_bf16_moments_adam", "synthetic", "metis", "topk", false, 2, "paper"},
                           [](Case& c) { c.moments = "bf16", c.optimizer = "adam"; }),
                      with(Case{"disconnected_negatives2_pool", "disconnected", "components", "topk", false, 0, "paper", true, "cpu", "mpi", 30},
                           [](Case& c) { c.negatives = 2; }),
                      Case{"disconnected", "disconnected", "components"},
                      Case{"disconnected_no_overlap", "disconnected", "components", "topk", false, 0, "paper", true, "cpu", "mpi", 0, false},
                      Case{"gpu_ali_metis", "Ali-Display", "metis", "topk", false, 0, "paper", true, "cuda"},
                      Case{"gpu_synthetic_degenerate", "synthetic", "degenerate", "topk", false, 0, "paper", true, "cuda"},
                      Case{"gpu_synthetic_gnaq_paper", "synthetic", "metis", "topk", false, 2, "paper", true, "cuda"},
                      Case{"gpu_synthetic_gnaq_code_fp32halo", "synthetic", "random", "topk", false, 4, "code", false, "cuda"},
                      Case{"gpu_nccl_ali_metis", "Ali-Display", "metis", "topk", false, 0, "paper", true, "cuda", "nccl"},
                      Case{"gpu_nccl_synthetic_gnaq_paper", "synthetic", "metis", "topk", false, 2, "paper", true, "cuda", "nccl"}),
    [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
