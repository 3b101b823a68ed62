// Halo exchange (forward and backward) against a gather from the full table, under mpirun.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "../support/mpi_fixture.hpp"
#include "../support/temp_dir.hpp"
#include "model/collective_ops.hpp"
#include "train/init.hpp"

using tkg::testing::world;

namespace {

// Deterministic full-table row of node g (the same on every rank).
at::Tensor rows_of(const std::vector<int64_t>& gids, int64_t w, uint64_t table) {
  at::Tensor t = at::empty({static_cast<int64_t>(gids.size()), w}, at::kFloat);
  tkg::init_normal_rows(gids, w, 1.0, 99, table, t.data_ptr<float>());
  return t;
}

}  // namespace

TEST(HaloExchange, ForwardAndBackwardMatchTheFullTable) {
  tkg::Dataset ds = tkg::load_dataset(tkg::testing::shared_data("Ali-Display"), tkg::ReadOptions{});
  for (auto method : {tkg::PartitionMethod::kMetis, tkg::PartitionMethod::kRandom}) {
    tkg::Shard s = tkg::testing::my_shard(ds, method);
    tkg::ExchangePlan plan = tkg::build_halo_plan(s);
    const int64_t w = 9;
    at::Tensor owned = rows_of(s.owned, w, 1).requires_grad_(true);  // [n_own, w]
    at::Tensor halo = tkg::halo_exchange(owned, plan, world());      // [n_halo, w]
    ASSERT_EQ(halo.size(0), s.n_halo());
    EXPECT_TRUE(at::equal(halo.detach(), rows_of(s.halo, w, 1))) << "forward";
    // L = Σ halo ⊙ W_me, with W_me depending on the receiving rank: the owner of v must receive
    // Σ over ranks p whose halo holds v of W_p(v).
    const uint64_t mine = 100 + static_cast<uint64_t>(world().rank());
    at::Tensor loss = (halo * rows_of(s.halo, w, mine)).sum();
    at::Tensor g = torch::autograd::grad({loss}, {owned})[0];
    at::Tensor expect = at::zeros({s.n_own(), w}, at::kFloat);
    for (int32_t p = 0; p < s.parts; ++p) {
      std::vector<int64_t> gids;
      for (int64_t k = s.send_offsets[p]; k < s.send_offsets[p + 1]; ++k) gids.push_back(s.owned[s.send_list[k]]);
      at::Tensor idx = at::tensor(std::vector<int64_t>(s.send_list.begin() + s.send_offsets[p],
                                                       s.send_list.begin() + s.send_offsets[p + 1]),
                                  at::kLong);
      if (!gids.empty()) expect.index_add_(0, idx, rows_of(gids, w, 100 + static_cast<uint64_t>(p)));
    }
    EXPECT_TRUE(at::allclose(g, expect, 1e-6, 1e-6)) << "backward";
  }
}

#include "quant/quant_embedding.hpp"
#include "quant/quantized_table.hpp"

TEST(QuantizedHaloExchange, EqualsDequantizingAtTheOwnerAndReturnsLevelGradients) {
  tkg::Dataset ds = tkg::load_dataset(tkg::testing::shared_data("Ali-Display"), tkg::ReadOptions{});
  tkg::Shard s = tkg::testing::my_shard(ds, tkg::PartitionMethod::kMetis);
  tkg::ExchangePlan plan = tkg::build_halo_plan(s);
  const int64_t d = 16;
  for (int bits : {1, 2, 4, 8}) {
    const int64_t L = int64_t{1} << bits;
    // Owned rows quantized at the owner (deterministic by global id).
    at::Tensor table = rows_of(s.owned, d, 1);
    at::Tensor codes = at::empty({s.n_own(), d}, at::kByte), levels = at::empty({s.n_own(), L}, at::kFloat);
    tkg::quantize_rows(table.data_ptr<float>(), s.n_own(), d, bits, codes.data_ptr<uint8_t>(), levels.data_ptr<float>());
    at::Tensor param = levels.clone().requires_grad_(true);
    at::Tensor lv = tkg::fp8_round_ste(param);
    tkg::QuantHalo qh = tkg::quantized_halo_exchange(lv, codes, bits, plan, world());
    // Reference: the owner dequantizes and sends fp32 rows.
    at::Tensor owned_rows = at::gather(lv.detach(), 1, codes.to(at::kLong));
    at::Tensor expect = tkg::halo_exchange(owned_rows, plan, world());
    at::Tensor got = at::gather(qh.levels.detach(), 1, qh.codes.to(at::kLong));
    EXPECT_TRUE(at::equal(got, expect)) << "bits " << bits;
    // Backward: L = Σ halo_levels ⊙ W_me; the owner receives Σ_p W_p(v) for each v it sends.
    const uint64_t mine = 200 + static_cast<uint64_t>(world().rank());
    at::Tensor g = torch::autograd::grad({(qh.levels * rows_of(s.halo, L, mine)).sum()}, {param})[0];
    at::Tensor want = at::zeros({s.n_own(), L}, at::kFloat);
    for (int32_t p = 0; p < s.parts; ++p) {
      std::vector<int64_t> gids, idx;
      for (int64_t k = s.send_offsets[p]; k < s.send_offsets[p + 1]; ++k)
        gids.push_back(s.owned[s.send_list[k]]), idx.push_back(s.send_list[k]);
      if (!gids.empty()) want.index_add_(0, at::tensor(idx, at::kLong), rows_of(gids, L, 200 + static_cast<uint64_t>(p)));
    }
    EXPECT_TRUE(at::allclose(g, want, 1e-6, 1e-6)) << "bits " << bits;
    // Bytes on the wire per halo row: packed codes + FP8 levels.
    EXPECT_EQ(tkg::quantized_bytes_per_node(d, bits), static_cast<int64_t>((d * bits + 7) / 8 + L));
  }
}

TEST(HaloExchange, Bf16RowsAreTheRoundedFp32Rows) {
  tkg::Dataset ds = tkg::load_dataset(tkg::testing::shared_data("Ali-Display"), tkg::ReadOptions{});
  tkg::Shard s = tkg::testing::my_shard(ds, tkg::PartitionMethod::kRandom);
  tkg::ExchangePlan plan = tkg::build_halo_plan(s);
  at::Tensor owned = rows_of(s.owned, 7, 3).requires_grad_(true);
  at::Tensor h16 = tkg::halo_exchange(owned, plan, world(), /*bf16=*/true);
  at::Tensor h32 = tkg::halo_exchange(owned.detach(), plan, world());
  EXPECT_TRUE(at::equal(h16.detach(), h32.to(at::kBFloat16).to(at::kFloat)));
  EXPECT_LE((h16.detach() - h32).abs().max().item<double>(), 1.0 / 128 * h32.abs().max().item<double>());
  at::Tensor g = torch::autograd::grad({(h16 * 3.0f).sum()}, {owned})[0];
  at::Tensor count = at::zeros({s.n_own()}, at::kFloat);
  for (int64_t k : s.send_list) count[k] += 1;
  EXPECT_TRUE(at::allclose(g, (3.0f * count).unsqueeze(1).expand_as(g)));  // 3.0 is exact in bf16
}
