#include "model/propagate.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <functional>

#include "common/error.hpp"
#include "graph/dataset.hpp"
#include "shard/partition_dir.hpp"

namespace {

// 3 users, 3 items: u0-i0, u0-i1, u1-i1, u2-i2, u2-i0.
tkg::Dataset small_graph() {
  tkg::Dataset ds;
  for (auto [u, i] : std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {1, 1}, {2, 2}, {2, 0}}) ds.train.push(u, i);
  ds.test.push(1, 2);
  tkg::finalize_dataset(ds);
  return ds;
}

tkg::Dataset random_graph(int users, int items, int edges, uint64_t seed) {
  tkg::Dataset ds;
  at::manual_seed(static_cast<int64_t>(seed));
  at::Tensor u = at::randint(users, {edges}, at::kLong), i = at::randint(items, {edges}, at::kLong);
  for (int k = 0; k < edges; ++k) ds.train.push(u[k].item<int64_t>(), i[k].item<int64_t>());
  for (int k = 0; k < users; ++k) ds.train.push(k, k % items);  // no isolated users
  for (int k = 0; k < items; ++k) ds.train.push(k % users, k);  // no isolated items
  ds.test.push(0, 0);
  tkg::finalize_dataset(ds);
  return ds;
}

double omega(double t) {
  double s = 1.0 / (1.0 + std::exp(-t));
  return 4 * s * (1 - s);
}

}  // namespace

TEST(Propagate, HandComputedForward) {
  tkg::Dataset ds = small_graph();
  tkg::Shard s = tkg::build_single_shard(ds);
  tkg::LayerGraph g = tkg::build_layer_graph(s);
  at::Tensor x = at::tensor({1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 0.0, 1.0, 2.0, -1.0, 1.0}, at::kDouble).view({6, 2});
  at::Tensor beta = at::tensor({0.1, -0.2, 0.3, 0.0, 0.0, 0.0}, at::kDouble);
  at::Tensor y = tkg::propagate_fused(x, beta, g, tkg::Attention::kTopK);
  // degrees: u0 2, u1 1, u2 2, i0 2, i1 2, i2 1
  double deg[6] = {2, 1, 2, 2, 2, 1};
  auto xv = [&](int n) { return std::pair<double, double>{x[n][0].item<double>(), x[n][1].item<double>()}; };
  auto a = [&](int u, int i) {  // i is a node id
    auto [a0, a1] = xv(u);
    auto [b0, b1] = xv(i);
    double cos = (a0 * b0 + a1 * b1) / std::hypot(a0, a1) / std::hypot(b0, b1);
    return omega(cos - beta[u].item<double>()) / std::sqrt(deg[u] * deg[i]);
  };
  // y_u0 = a(0,i0) x_i0 + a(0,i1) x_i1 ; y_i0 = a(0,i0) x_u0 + a(2,i0) x_u2
  double y00 = a(0, 3) * xv(3).first + a(0, 4) * xv(4).first;
  double y31 = a(0, 3) * xv(0).second + a(2, 3) * xv(2).second;
  EXPECT_NEAR(y[0][0].item<double>(), y00, 1e-12);
  EXPECT_NEAR(y[3][1].item<double>(), y31, 1e-12);
  EXPECT_TRUE(at::allclose(y, tkg::propagate_reference(x, beta, g, tkg::Attention::kTopK), 1e-12, 1e-12));
}

TEST(Propagate, OmegaPeaksAtZeroAndIsSymmetric) {
  EXPECT_DOUBLE_EQ(omega(0), 1.0);
  for (double t : {0.1, 0.5, 1.0, 3.0}) {
    EXPECT_LT(omega(t), 1.0);
    EXPECT_NEAR(omega(t), omega(-t), 1e-15);
    EXPECT_LT(omega(t + 0.1), omega(t));
  }
}

TEST(Propagate, LightGcnModeIsNormalisedAdjacencyProduct) {
  tkg::Dataset ds = random_graph(20, 15, 60, 1);
  tkg::Shard s = tkg::build_single_shard(ds);
  tkg::LayerGraph g = tkg::build_layer_graph(s);
  at::Tensor x = at::randn({s.n_local(), 8}, at::kDouble);
  at::Tensor beta = at::randn({s.n_local()}, at::kDouble);
  // Dense Â = D^-1/2 A D^-1/2 with multi-edges counted.
  at::Tensor A = at::zeros({s.n_local(), s.n_local()}, at::kDouble);
  for (int64_t k = 0; k < ds.train.size(); ++k) {
    int64_t u = ds.train.user[k], i = ds.n_users + ds.train.item[k];
    A[u][i] += 1;
    A[i][u] += 1;
  }
  at::Tensor dinv = A.sum(1).pow(-0.5);
  at::Tensor expect = (dinv.unsqueeze(1) * A * dinv.unsqueeze(0)).mm(x);
  // The graph stores its norms as float32 (rounded from double), so a double run matches the
  // dense product to float precision of the norm (relative 2^-24), no closer.
  EXPECT_TRUE(at::allclose(tkg::propagate_fused(x, beta, g, tkg::Attention::kOne), expect, 1e-6, 1e-6));
  EXPECT_FALSE(at::allclose(tkg::propagate_fused(x, beta, g, tkg::Attention::kOne), expect * (1 + 1e-3), 1e-6, 1e-6));
}

class FusedVsReference : public ::testing::TestWithParam<tkg::Attention> {};

TEST_P(FusedVsReference, GradientsInDoubleMatchTo1e9) {
  tkg::Attention att = GetParam();
  tkg::Dataset ds = random_graph(60, 40, 300, 2);
  tkg::LayerGraph g = tkg::build_layer_graph(tkg::build_single_shard(ds));
  at::Tensor x0 = at::randn({g.n_local, 16}, at::kDouble), b0 = at::randn({g.n_local}, at::kDouble);
  at::Tensor w = at::randn({g.n_own, 16}, at::kDouble);
  auto run = [&](bool fused) {
    at::Tensor x = x0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
    at::Tensor y = fused ? tkg::propagate_fused(x, b, g, att) : tkg::propagate_reference(x, b, g, att);
    at::Tensor loss = (y * w).sum() + y.pow(2).sum();
    auto grads = torch::autograd::grad({loss}, {x, b}, {}, c10::nullopt, false, /*allow_unused=*/true);
    if (!grads[1].defined()) grads[1] = at::zeros_like(b);  // β unused (kOne)
    return std::vector<at::Tensor>{y.detach(), grads[0], grads[1]};
  };
  auto f = run(true), r = run(false);
  for (int k = 0; k < 3; ++k) {
    double err = (f[k] - r[k]).abs().max().item<double>();
    double scale = r[k].abs().max().item<double>() + 1e-300;
    EXPECT_LT(err / scale, 1e-9) << "output " << k << " (" << tkg::attention_name(att) << ")";
  }
  if (att == tkg::Attention::kOne) EXPECT_EQ(f[2].abs().max().item<double>(), 0.0);  // β unused
}

TEST_P(FusedVsReference, FloatForwardBackwardMatchTo1e5) {
  tkg::Attention att = GetParam();
  tkg::Dataset ds = random_graph(200, 150, 2000, 3);
  tkg::LayerGraph g = tkg::build_layer_graph(tkg::build_single_shard(ds));
  at::Tensor x0 = at::randn({g.n_local, 64}) * 0.1, b0 = at::randn({g.n_local});
  at::Tensor w = at::randn({g.n_own, 64});
  auto run = [&](bool fused) {
    at::Tensor x = x0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
    at::Tensor y = fused ? tkg::propagate_fused(x, b, g, att) : tkg::propagate_reference(x, b, g, att);
    auto grads = torch::autograd::grad({(y * w).sum()}, {x, b}, {}, c10::nullopt, false, /*allow_unused=*/true);
    if (!grads[1].defined()) grads[1] = at::zeros_like(b);
    return std::vector<at::Tensor>{y.detach(), grads[0], grads[1]};
  };
  auto f = run(true), r = run(false);
  for (int k = 0; k < 3; ++k) {
    double err = (f[k] - r[k]).abs().max().item<double>();
    double scale = r[k].abs().max().item<double>() + 1e-30;
    EXPECT_LT(err / scale, 1e-5) << "output " << k;
  }
}

// Overlap's split (DESIGN §4): interior edges on x_own, then the compact boundary graph on
// [x_own[rows]; x_halo] added into its rows, forward and backward, give what the whole local
// graph gives, on a shard with a halo (rank 1 of 2 of a random partition).
TEST_P(FusedVsReference, InteriorPlusCompactBoundaryIsTheWholeGraph) {
  tkg::Attention att = GetParam();
  if (att == tkg::Attention::kSoftmax) GTEST_SKIP() << "softmax does not split (its row normalisation spans both sets)";
  // Two communities (parity of the id), each a random graph, and 12 edges across; partitioned by community.
  tkg::Dataset ds;
  at::manual_seed(4);
  at::Tensor u = at::randint(40, {400}, at::kLong), i = at::randint(30, {400}, at::kLong);
  for (int k = 0; k < 400; ++k) {
    const int64_t c = k % 2, across = k < 12;
    ds.train.push(2 * u[k].item<int64_t>() + c, 2 * i[k].item<int64_t>() + (across ? 1 - c : c));
  }
  ds.test.push(0, 0);
  tkg::finalize_dataset(ds);
  std::vector<int32_t> part(static_cast<size_t>(ds.n_nodes()));
  for (int64_t v = 0; v < ds.n_users; ++v) part[v] = static_cast<int32_t>(v % 2);
  for (int64_t v = 0; v < ds.n_items; ++v) part[ds.n_users + v] = static_cast<int32_t>(v % 2);
  tkg::Shard sh;
  tkg::build_shards(ds, part, 2, 1, nullptr, [&](tkg::Shard&& s) {
    if (s.rank == 1) sh = std::move(s);
  });
  ASSERT_GT(sh.n_halo(), 0);
  tkg::LayerGraph all = tkg::build_layer_graph(sh), in = tkg::build_layer_graph(sh, tkg::EdgeSet::kInterior),
                  bd = tkg::build_layer_graph(sh, tkg::EdgeSet::kBoundary);
  ASSERT_EQ(in.indices.size(0) + bd.indices.size(0), all.indices.size(0));
  ASSERT_GT(bd.indices.size(0), 0);
  ASSERT_LT(bd.n_own, sh.n_own());  // compact: only rows with a halo neighbour
  ASSERT_EQ(bd.n_local, bd.n_own + sh.n_halo());
  const int64_t n_own = sh.n_own(), n_halo = sh.n_halo(), d = 16;
  at::Tensor x = at::randn({all.n_local, d}, at::kDouble), b = at::randn({all.n_local}, at::kDouble);
  at::Tensor gy = at::randn({n_own, d}, at::kDouble);
  // Whole graph.
  tkg::PropagateSaved s_all, s_in, s_bd;
  at::Tensor y_all = tkg::propagate_forward(x, b, all, att, &s_all), gx_all, gb_all;
  tkg::propagate_backward(s_all, gy, all, att, &gx_all, &gb_all);
  // Split.
  at::Tensor xo = x.narrow(0, 0, n_own), bo = b.narrow(0, 0, n_own);
  at::Tensor xb = at::cat({xo.index_select(0, bd.owned_rows), x.narrow(0, n_own, n_halo)}, 0);
  at::Tensor bb = at::cat({bo.index_select(0, bd.owned_rows), b.narrow(0, n_own, n_halo)}, 0);
  at::Tensor y = tkg::propagate_forward(xo, bo, in, att, &s_in);
  y.index_add_(0, bd.owned_rows, tkg::propagate_forward(xb, bb, bd, att, &s_bd));
  at::Tensor gx_in, gb_in, gx_bd, gb_bd;
  tkg::propagate_backward(s_in, gy, in, att, &gx_in, &gb_in);
  tkg::propagate_backward(s_bd, gy.index_select(0, bd.owned_rows), bd, att, &gx_bd, &gb_bd);
  at::Tensor gx = at::zeros_like(x), gb = at::zeros_like(b);
  gx.narrow(0, 0, n_own).add_(gx_in).index_add_(0, bd.owned_rows, gx_bd.narrow(0, 0, bd.n_own));
  gx.narrow(0, n_own, n_halo).add_(gx_bd.narrow(0, bd.n_own, n_halo));
  gb.narrow(0, 0, n_own).add_(gb_in).index_add_(0, bd.owned_rows, gb_bd.narrow(0, 0, bd.n_own));
  gb.narrow(0, n_own, n_halo).add_(gb_bd.narrow(0, bd.n_own, n_halo));
  auto rel = [](const at::Tensor& a, const at::Tensor& r) {
    return (a - r).abs().max().item<double>() / (r.abs().max().item<double>() + 1e-300);
  };
  EXPECT_LT(rel(y, y_all), 1e-12) << tkg::attention_name(att);
  EXPECT_LT(rel(gx, gx_all), 1e-12) << tkg::attention_name(att);
  if (att != tkg::Attention::kOne) EXPECT_LT(rel(gb, gb_all), 1e-12) << tkg::attention_name(att);
}

// The AVX2 path computes what the portable kernels compute, bit for bit (outputs and gradients).
TEST(Propagate, SimdKernelsMatchPortableKernelsBitwise) {
  tkg::Dataset ds = random_graph(300, 200, 4000, 5);
  tkg::LayerGraph g = tkg::build_layer_graph(tkg::build_single_shard(ds));
  int ran = 0;
  for (int64_t d : {32, 64, 128}) {
    if (!tkg::cpu_simd_kernels(d)) continue;
    ++ran;
    at::Tensor x0 = at::randn({g.n_local, d}) * 0.1, b0 = at::randn({g.n_local}), w = at::randn({g.n_own, d});
    for (tkg::Attention att : {tkg::Attention::kTopK, tkg::Attention::kOne, tkg::Attention::kRelu}) {
      auto run = [&](bool simd) {
        tkg::set_cpu_simd_kernels(simd);
        at::Tensor x = x0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
        at::Tensor y = tkg::propagate_fused(x, b, g, att);
        auto grads = torch::autograd::grad({(y * w).sum()}, {x, b}, {}, c10::nullopt, false, /*allow_unused=*/true);
        if (!grads[1].defined()) grads[1] = at::zeros_like(b);
        tkg::set_cpu_simd_kernels(true);
        return std::vector<at::Tensor>{y.detach(), grads[0], grads[1]};
      };
      auto s = run(true), p = run(false);
      for (int k = 0; k < 3; ++k)
        EXPECT_TRUE(at::equal(s[k], p[k])) << "d=" << d << " " << tkg::attention_name(att) << " output " << k
                                           << " max diff " << (s[k] - p[k]).abs().max().item<double>();
    }
  }
  if (ran == 0) GTEST_SKIP() << "no AVX2 + FMA on this CPU";
}

// The backward skips rows whose output gradient is all zero (a mini-batch's top layer): the same
// gradients as the full passes, for every attention, SIMD and portable kernels, float and double,
// with most rows zero (skipped) and with few rows zero (more than 90 % active: nothing skipped).
TEST(Propagate, SkippingZeroGradientRowsChangesNothing) {
  tkg::Dataset ds = random_graph(300, 200, 4000, 8);
  tkg::LayerGraph g = tkg::build_layer_graph(tkg::build_single_shard(ds));
  for (auto dtype : {at::kFloat, at::kDouble})
    for (bool simd : {true, false})
      for (double zero_share : {0.9, 0.05})
        for (tkg::Attention att : {tkg::Attention::kTopK, tkg::Attention::kOne, tkg::Attention::kRelu}) {
          at::Tensor x0 = (at::randn({g.n_local, 64}) * 0.1).to(dtype), b0 = at::randn({g.n_local}).to(dtype);
          at::Tensor keep = (at::rand({g.n_own, 1}) >= zero_share).to(dtype);
          at::Tensor w = at::randn({g.n_own, 64}).to(dtype) * keep;  // rows of the output gradient, most zero
          tkg::set_cpu_simd_kernels(simd);
          auto run = [&](bool skip) {
            tkg::set_cpu_skip_zero_rows(skip);
            at::Tensor x = x0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
            at::Tensor y = tkg::propagate_fused(x, b, g, att);
            auto grads = torch::autograd::grad({(y * w).sum()}, {x, b}, {}, c10::nullopt, false, /*allow_unused=*/true);
            if (!grads[1].defined()) grads[1] = at::zeros_like(b);
            tkg::set_cpu_skip_zero_rows(true);
            return std::vector<at::Tensor>{grads[0], grads[1]};
          };
          auto s = run(true), f = run(false);
          tkg::set_cpu_simd_kernels(true);
          for (int k = 0; k < 2; ++k)
            EXPECT_TRUE(at::equal(s[k], f[k])) << tkg::attention_name(att) << " simd " << simd << " zero share " << zero_share
                                               << " gradient " << k << " max diff " << (s[k] - f[k]).abs().max().item<double>();
          EXPECT_GT(s[0].abs().sum().item<double>(), 0);
        }
}

// model.recompute: keeping the cosines only (a and dω recomputed from them) or nothing per edge
// (the forward kernel again in the backward) gives the bits that keeping everything gives, for
// every attention, float (SIMD and portable kernels) and double; and the forward keeps what the
// mode says (a and dom dropped, or all per-edge scalars dropped).
TEST(Propagate, RecomputeModesGiveTheSameBits) {
  tkg::Dataset ds = random_graph(300, 200, 4000, 6);
  tkg::LayerGraph g = tkg::build_layer_graph(tkg::build_single_shard(ds));
  for (auto dtype : {at::kFloat, at::kDouble})
    for (bool simd : {true, false})
      for (tkg::Attention att : {tkg::Attention::kTopK, tkg::Attention::kOne, tkg::Attention::kRelu}) {
        at::Tensor x0 = (at::randn({g.n_local, 64}) * 0.1).to(dtype), b0 = at::randn({g.n_local}).to(dtype);
        at::Tensor w = at::randn({g.n_own, 64}).to(dtype);
        tkg::set_cpu_simd_kernels(simd);
        auto run = [&](tkg::Recompute r) {
          at::Tensor x = x0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
          at::Tensor y = tkg::propagate_fused(x, b, g, att, r);
          auto grads = torch::autograd::grad({(y * w).sum() + y.pow(2).sum()}, {x, b}, {}, c10::nullopt, false, true);
          if (!grads[1].defined()) grads[1] = at::zeros_like(b);
          return std::vector<at::Tensor>{y.detach(), grads[0], grads[1]};
        };
        const auto keep = run(tkg::Recompute::kNone);
        for (tkg::Recompute r : {tkg::Recompute::kWeights, tkg::Recompute::kAll}) {
          const auto got = run(r);
          for (int k = 0; k < 3; ++k)
            EXPECT_TRUE(at::equal(got[k], keep[k])) << tkg::recompute_name(r) << " " << tkg::attention_name(att) << " simd "
                                                    << simd << " " << dtype << " output " << k;
        }
        tkg::set_cpu_simd_kernels(true);
      }
  // What is kept.
  at::Tensor x = at::randn({g.n_local, 8}), b = at::randn({g.n_local});
  tkg::PropagateSaved s;
  tkg::propagate_forward(x, b, g, tkg::Attention::kTopK, &s);
  tkg::PropagateSaved w = s, a = s;
  tkg::drop_saved(&w, tkg::Recompute::kWeights);
  tkg::drop_saved(&a, tkg::Recompute::kAll);
  EXPECT_TRUE(!w.a.defined() && !w.dom.defined() && w.cos.defined() && w.inv.defined());
  EXPECT_TRUE(!a.a.defined() && !a.cos.defined() && !a.dom.defined() && !a.inv.defined());
  tkg::restore_saved(&w, g, tkg::Attention::kTopK);
  tkg::restore_saved(&a, g, tkg::Attention::kTopK);
  for (const tkg::PropagateSaved* r : {&w, &a})
    EXPECT_TRUE(at::equal(r->a, s.a) && at::equal(r->cos, s.cos) && at::equal(r->dom, s.dom) && at::equal(r->inv, s.inv));
  EXPECT_EQ(tkg::saved_bytes_per_edge(tkg::Recompute::kNone, tkg::Attention::kTopK), 12);
  EXPECT_EQ(tkg::saved_bytes_per_edge(tkg::Recompute::kWeights, tkg::Attention::kTopK), 4);
  EXPECT_EQ(tkg::saved_bytes_per_edge(tkg::Recompute::kAll, tkg::Attention::kTopK), 0);
  EXPECT_THROW(tkg::parse_recompute("sometimes"), tkg::InputError);
}

INSTANTIATE_TEST_SUITE_P(Attention, FusedVsReference,
                         ::testing::Values(tkg::Attention::kTopK, tkg::Attention::kOne, tkg::Attention::kRelu,
                                           tkg::Attention::kSoftmax),
                         [](const ::testing::TestParamInfo<tkg::Attention>& i) {
                           return std::string(tkg::attention_name(i.param));
                         });

TEST(Propagate, BetaGradientSign) {
  // One edge u0-i0; L = y_u0 · x_i0 = a ‖x_i0‖². Raising β moves t = cos − β towards 0 when
  // cos > β, which raises ω and L: dL/dβ > 0. When cos < β it lowers ω: dL/dβ < 0.
  tkg::Dataset ds;
  ds.train.push(0, 0);
  ds.test.push(0, 0);
  tkg::finalize_dataset(ds);
  tkg::LayerGraph g = tkg::build_layer_graph(tkg::build_single_shard(ds));
  at::Tensor x = at::tensor({1.0, 0.0, 1.0, 1.0}, at::kDouble).view({2, 2});  // cos = 0.707
  for (double b : {0.2, 0.95}) {
    at::Tensor beta = at::tensor({b, 0.0}, at::kDouble).requires_grad_(true);
    at::Tensor y = tkg::propagate_fused(x, beta, g, tkg::Attention::kTopK);
    at::Tensor loss = (y[0] * x[1]).sum();
    auto gb = torch::autograd::grad({loss}, {beta})[0];
    if (b < 0.707) EXPECT_GT(gb[0].item<double>(), 0) << b;
    else EXPECT_LT(gb[0].item<double>(), 0) << b;
    EXPECT_EQ(gb[1].item<double>(), 0.0);  // items have no β
  }
}

// The graph's invariants are checked when it is built; a broken graph is named, not run.
TEST(LayerGraph, InvariantsAreChecked) {
  const tkg::LayerGraph good = tkg::build_layer_graph(tkg::build_single_shard(small_graph()));
  EXPECT_NO_THROW(tkg::check_layer_graph(good));
  auto broken = [&](const std::function<void(tkg::LayerGraph&)>& f, const std::string& what) {
    tkg::LayerGraph g = good;
    for (at::Tensor* t : {&g.indptr, &g.indices, &g.norm, &g.csc_ptr, &g.csc_edge}) *t = t->clone();
    f(g);
    try {
      tkg::check_layer_graph(g);
      ADD_FAILURE() << "not caught: " << what;
    } catch (const tkg::InternalError& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  broken([](tkg::LayerGraph& g) { g.indices.data_ptr<int32_t>()[0] = static_cast<int32_t>(g.n_local); }, "outside [0,");
  broken([](tkg::LayerGraph& g) { g.indptr.data_ptr<int64_t>()[g.n_own] -= 1; }, "indptr runs from");
  broken([](tkg::LayerGraph& g) { g.norm.data_ptr<float>()[0] = 0; }, "norm of edge 0");
  broken([](tkg::LayerGraph& g) { std::swap(g.csc_edge.data_ptr<int32_t>()[0], g.csc_edge.data_ptr<int32_t>()[g.indices.size(0) - 1]); }, "csc_edge puts edge");
  broken([](tkg::LayerGraph& g) { g.row_blocks.back() -= 1; }, "row blocks");
  broken([](tkg::LayerGraph& g) { g.n_user_rows = g.n_own + 1; }, "n_user_rows");
  broken([](tkg::LayerGraph& g) { g.csc_row[0] = -1; }, "csc_row puts edge");
}

// A host graph stores neither the edges' rows nor their users; the derived ones are the user
// endpoint of every edge (a single shard: local id = global id, users below n_users), and a
// device copy stores the same (layer_graph_to).
TEST(LayerGraph, DerivedRowsAndUsersAreEachEdgesRowAndUser) {
  tkg::Dataset ds = random_graph(60, 40, 500, 3);
  for (tkg::EdgeSet set : {tkg::EdgeSet::kAll, tkg::EdgeSet::kInterior}) {
    const tkg::LayerGraph g = tkg::build_layer_graph(tkg::build_single_shard(ds), set);
    const at::Tensor rows = tkg::edge_rows(g), users = tkg::edge_users(g);
    const int64_t* ip = g.indptr.data_ptr<int64_t>();
    const int32_t* ix = g.indices.data_ptr<int32_t>();
    for (int64_t v = 0; v < g.n_own; ++v)
      for (int64_t k = ip[v]; k < ip[v + 1]; ++k) {
        ASSERT_EQ(rows.data_ptr<int32_t>()[k], v);
        const int32_t u = users.data_ptr<int32_t>()[k];
        ASSERT_TRUE(u == v || u == ix[k]);
        ASSERT_LT(u, ds.n_users);                                  // the user endpoint
        ASSERT_GE(u == v ? ix[k] : v, ds.n_users);                 // and the other one an item
      }
    EXPECT_EQ(g.n_user_rows, ds.n_users);
  }
}

// The memory plan's count of a layer graph's bytes (layer_graph_bytes) is what the graph holds:
// its tensors and host arrays, within the block bounds' allowance.
TEST(LayerGraph, BytesAreWhatThePlanCounts) {
  tkg::Dataset ds = random_graph(300, 200, 4000, 7);
  tkg::LayerGraph g = tkg::build_layer_graph(tkg::build_single_shard(ds));
  int64_t held = 0;
  EXPECT_FALSE(g.edge_row.defined() || g.edge_user.defined());  // a host graph derives them
  for (const at::Tensor* t : {&g.indptr, &g.indices, &g.norm, &g.csc_ptr, &g.csc_edge})
    held += t->numel() * static_cast<int64_t>(t->element_size());
  held += static_cast<int64_t>(g.csc_row.size() * sizeof(int32_t) +
                               (g.row_blocks.size() + g.col_blocks.size()) * sizeof(int64_t));
  const int64_t planned = tkg::layer_graph_bytes(g.n_own, g.n_local, g.indices.size(0));
  EXPECT_LE(held, planned);
  EXPECT_GE(held, planned - 8 * 600);
  EXPECT_EQ(g.indices.scalar_type(), at::kInt);
  EXPECT_EQ(g.norm.scalar_type(), at::kFloat);
}
