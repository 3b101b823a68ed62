// The CUDA kernels of the fused layer against the CPU fused operator (double, 1e-9) and the ATen
// reference on the GPU (float, 1e-5): forward, and the gradients of x and β, on a shard with halo
// columns, for each attention kind. Skips where LibTorch has no CUDA (docs/gpu.md has the runs).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "graph/dataset.hpp"
#include "model/propagate.hpp"
#include "shard/partition_dir.hpp"

namespace {

// Rank 0's shard of a random graph split in two by node parity: owned rows and halo columns.
tkg::Shard halo_shard(int users, int items, int edges, uint64_t seed) {
  tkg::Dataset ds;
  at::manual_seed(static_cast<int64_t>(seed));
  at::Tensor u = at::randint(users, {edges}, at::kLong), i = at::randint(items, {edges}, at::kLong);
  for (int k = 0; k < edges; ++k) ds.train.push(u[k].item<int64_t>(), i[k].item<int64_t>());
  for (int k = 0; k < users; ++k) ds.train.push(k, k % items);
  for (int k = 0; k < items; ++k) ds.train.push(k % users, k);
  ds.test.push(0, 0);
  tkg::finalize_dataset(ds);
  std::vector<int32_t> part(static_cast<size_t>(ds.n_nodes()));
  for (size_t k = 0; k < part.size(); ++k) part[k] = static_cast<int32_t>(k % 2);
  tkg::Shard mine;
  tkg::build_shards(ds, part, 2, 3, nullptr, [&](tkg::Shard&& s) {
    if (s.rank == 0) mine = std::move(s);
  });
  return mine;
}

struct Out {
  at::Tensor y, gx, gb;  // [n_own, d], [n_local, d], [n_local] on the CPU
};

Out run(const at::Tensor& x0, const at::Tensor& b0, const at::Tensor& w, const tkg::LayerGraph& g, tkg::Attention att,
        bool fused) {
  at::Tensor x = x0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
  at::Tensor y = fused ? tkg::propagate_fused(x, b, g, att) : tkg::propagate_reference(x, b, g, att);
  auto grads = torch::autograd::grad({(y * w).sum() + y.pow(2).sum()}, {x, b}, {}, c10::nullopt, false, true);
  if (!grads[1].defined()) grads[1] = at::zeros_like(b);
  return {y.detach().cpu(), grads[0].cpu(), grads[1].cpu()};
}

double rel_err(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / (b.abs().max().item<double>() + 1e-300);
}

class PropagateCuda : public ::testing::TestWithParam<tkg::Attention> {
 protected:
  void SetUp() override {
    if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA here (CPU LibTorch or no GPU)";
    if (!tkg::fused_supported(at::Device(at::kCUDA, 0))) GTEST_SKIP() << "built without the CUDA kernels";
  }
};

TEST_P(PropagateCuda, DoubleMatchesCpuFusedTo1e9) {
  const tkg::Attention att = GetParam();
  tkg::Shard s = halo_shard(120, 90, 900, 5);
  tkg::LayerGraph g = tkg::build_layer_graph(s);
  ASSERT_GT(g.n_local, g.n_own);  // halo columns exist
  tkg::LayerGraph gd = tkg::layer_graph_to(g, at::Device(at::kCUDA, 0));
  at::Tensor x = at::randn({g.n_local, 40}, at::kDouble), b = at::randn({g.n_local}, at::kDouble) * 0.5;
  at::Tensor w = at::randn({g.n_own, 40}, at::kDouble);
  Out cpu = run(x, b, w, g, att, true);
  Out gpu = run(x.cuda(), b.cuda(), w.cuda(), gd, att, true);
  EXPECT_LT(rel_err(gpu.y, cpu.y), 1e-9) << "forward";
  EXPECT_LT(rel_err(gpu.gx, cpu.gx), 1e-9) << "grad x";
  if (att != tkg::Attention::kOne) EXPECT_LT(rel_err(gpu.gb, cpu.gb), 1e-9) << "grad beta";
  else EXPECT_EQ(gpu.gb.abs().max().item<double>(), 0.0);
}

TEST_P(PropagateCuda, FloatMatchesGpuReferenceTo1e5AndIsDeterministic) {
  const tkg::Attention att = GetParam();
  tkg::Shard s = halo_shard(400, 300, 6000, 6);
  tkg::LayerGraph gd = tkg::layer_graph_to(tkg::build_layer_graph(s), at::Device(at::kCUDA, 0));
  at::Tensor x = (at::randn({gd.n_local, 64}) * 0.1).cuda(), b = at::randn({gd.n_local}).cuda();
  at::Tensor w = at::randn({gd.n_own, 64}).cuda();
  Out f = run(x, b, w, gd, att, true), r = run(x, b, w, gd, att, false), f2 = run(x, b, w, gd, att, true);
  EXPECT_LT(rel_err(f.y, r.y), 1e-5) << "forward";
  EXPECT_LT(rel_err(f.gx, r.gx), 1e-5) << "grad x";
  EXPECT_LT(rel_err(f.gb, r.gb), 1e-5) << "grad beta";
  EXPECT_TRUE(at::equal(f.y, f2.y) && at::equal(f.gx, f2.gx) && at::equal(f.gb, f2.gb)) << "bitwise repeatable";
}

INSTANTIATE_TEST_SUITE_P(Attention, PropagateCuda,
                         ::testing::Values(tkg::Attention::kTopK, tkg::Attention::kOne, tkg::Attention::kRelu),
                         [](const ::testing::TestParamInfo<tkg::Attention>& i) {
                           return std::string(tkg::attention_name(i.param));
                         });

}  // namespace
