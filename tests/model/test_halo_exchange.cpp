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
    tkg::HaloPlan plan = tkg::build_halo_plan(s);
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

TEST(AllGatherRows, BackwardSumsEveryRanksGradient) {
  const int P = world().size(), me = world().rank();
  std::vector<int64_t> counts(P);
  for (int p = 0; p < P; ++p) counts[p] = 2 * p + 1;
  at::Tensor mine = at::full({counts[me], 3}, static_cast<float>(me)).requires_grad_(true);
  at::Tensor all = tkg::all_gather_rows(mine, counts, world());
  ASSERT_EQ(all.size(0), P * P);
  int64_t o = 0;
  for (int p = 0; p < P; ++p, o += counts[p - 1]) EXPECT_EQ(all[o][0].item<float>(), static_cast<float>(p));
  // Rank r weights the gathered rows by (r + 1): the gradient of my rows is Σ_r (r + 1).
  at::Tensor g = torch::autograd::grad({(all * static_cast<float>(me + 1)).sum()}, {mine})[0];
  EXPECT_TRUE(at::allclose(g, at::full_like(g, static_cast<float>(P * (P + 1) / 2))));
}
