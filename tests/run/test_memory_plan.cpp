// The memory plan (run/memory_plan) and the counts it reads (shard/shard_counts): counts from a
// shard file equal the loaded shard's, and the ledger moves the way each option says it does.
#include "run/memory_plan.hpp"

#include <cstdlib>

#include "comm/communicator.hpp"
#include "common/memory.hpp"
#include "run/memory_check.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "common/error.hpp"
#include "graph/dataset.hpp"
#include "format/shard_file.hpp"
#include "shard/partition_dir.hpp"
#include "shard/shard.hpp"
#include "shard/shard_counts.hpp"
#include "../support/temp_dir.hpp"

namespace {

tkg::Dataset ring_graph(int users, int items, int per_user) {
  tkg::Dataset ds;
  for (int u = 0; u < users; ++u)
    for (int k = 0; k < per_user; ++k) ds.train.push(u, (u * 7 + k * 13) % items);
  ds.test.push(0, 1);
  tkg::finalize_dataset(ds);
  return ds;
}

// Rank 1 of a 2-part partition by parity (it has a halo).
tkg::Shard half_shard(const tkg::Dataset& ds) {
  std::vector<int32_t> part(static_cast<size_t>(ds.n_nodes()));
  for (int64_t v = 0; v < ds.n_nodes(); ++v) part[v] = static_cast<int32_t>(v % 2);
  tkg::Shard out;
  tkg::build_shards(ds, part, 2, 7, nullptr, [&](tkg::Shard&& s) {
    if (s.rank == 1) out = std::move(s);
  });
  return out;
}

TEST(ShardCounts, FileCountsEqualTheLoadedShard) {
  tkg::testing::TempDir dir;
  const tkg::Shard s = half_shard(ring_graph(300, 200, 9));
  ASSERT_GT(s.n_halo(), 0);
  const std::string path = dir.path() + "/shard.bin";
  tkg::write_shard(path, s);
  const tkg::ShardCounts a = tkg::count_shard(s), b = tkg::count_shard_file(path);
  EXPECT_EQ(a.n_own, b.n_own);
  EXPECT_EQ(a.n_halo, b.n_halo);
  EXPECT_EQ(a.nnz, b.nnz);
  EXPECT_EQ(a.nnz_boundary, b.nnz_boundary);
  EXPECT_EQ(a.boundary_rows, b.boundary_rows);
  EXPECT_EQ(a.n_send, b.n_send);
  EXPECT_EQ(a.train_lines, b.train_lines);
  EXPECT_EQ(a.shard_bytes, b.shard_bytes);
  EXPECT_EQ(a.csr_bytes, b.csr_bytes);
  EXPECT_GT(a.nnz_boundary, 0);
  EXPECT_LT(a.nnz_boundary, a.nnz);
  // A file that is not a shard.
  std::ofstream(dir.path() + "/bad.bin") << "not a shard file at all, just some text to fill the header bytes and more";
  EXPECT_THROW(tkg::count_shard_file(dir.path() + "/bad.bin"), tkg::InputError);
  EXPECT_THROW(tkg::count_shard_file(dir.path() + "/missing.bin"), tkg::InputError);
}

TEST(ShardCounts, ReleasedCsrIsRefused) {
  tkg::Shard s = half_shard(ring_graph(100, 80, 5));
  tkg::release_local_csr(s);
  EXPECT_TRUE(s.indices.empty() && s.indptr.empty());
  EXPECT_ANY_THROW(tkg::count_shard(s));
}

tkg::ShardCounts counts() {
  tkg::ShardCounts c;
  c.rank = 0, c.parts = 2, c.n_users = 2'000'000, c.n_items = 2'000'000;
  c.n_own = 2'000'000, c.n_own_users = 1'000'000, c.n_halo = 800'000, c.nnz = 28'000'000, c.nnz_boundary = 1'500'000;
  c.boundary_rows = 600'000, c.n_send = 760'000, c.train_lines = 14'000'000, c.valid_lines = 2'000'000, c.test_lines = 4'000'000;
  c.csr_bytes = 8 * (c.nnz + c.n_own + 1);
  c.shard_bytes = c.csr_bytes + 8 * (c.n_own + c.n_halo * 2 + c.n_send + c.train_lines + c.valid_lines + c.test_lines);
  return c;
}

TEST(MemoryPlan, OptionsMoveTheLedgerTheWayTheySay) {
  tkg::ModelOptions m;
  tkg::TrainOptions t;
  t.epochs = 10, t.eval_every = 2;
  const int64_t base = 150 << 20;
  auto peak = [&](const tkg::ModelOptions& mm, const tkg::TrainOptions& tt) { return tkg::plan_memory(counts(), mm, tt, base, 2).peak; };
  const int64_t weights = peak(m, t);
  tkg::ModelOptions none = m, all = m, gnaq = m, deeper = m;
  none.recompute = "none", all.recompute = "all", gnaq.quant.bits = 2, deeper.layers = 4;
  EXPECT_GT(peak(none, t), weights);   // 8 more bytes per edge and layer kept
  EXPECT_LT(peak(all, t), weights);    // the cosines not kept either
  EXPECT_LT(peak(gnaq, t), weights);   // a 4-level table instead of 64 floats per node
  EXPECT_GT(peak(deeper, t), weights); // one more layer's activations
  tkg::TrainOptions late = t;
  late.eval_every = 10;  // the best copy only after training
  EXPECT_LT(peak(m, late), weights);
  tkg::TrainOptions bf16 = t;
  bf16.moments = "bf16";  // 4 bytes per table value less: two moments of 2 bytes instead of 4
  EXPECT_EQ(weights - peak(m, bf16), 4 * counts().n_own * m.dim);
  // The ledger's parts: base, held, step; the construction phase still has the CSR.
  const tkg::MemoryPlan p = tkg::plan_memory(counts(), m, t, base, 2);
  EXPECT_EQ(p.base, base);
  EXPECT_EQ(p.recompute, "weights");
  EXPECT_GE(p.peak, p.step_peak);
  EXPECT_GE(p.peak, p.construction_peak);
  EXPECT_EQ(p.device_peak, 0);
  EXPECT_NE(tkg::format_plan(p).find("predicted peak"), std::string::npos);
  // One rank: no halo items, the plain layer path.
  tkg::ShardCounts one = counts();
  one.parts = 1, one.n_halo = 0, one.nnz_boundary = 0, one.boundary_rows = 0, one.n_send = 0;
  const tkg::MemoryPlan q = tkg::plan_memory(one, m, t, base, 2);
  for (const auto& i : q.step) EXPECT_NE(i.what, "final halo and fetched rows");
  // A GPU model: the graph, table and activations on the device.
  tkg::ModelOptions gpu = m;
  gpu.device = "cuda:0";
  const tkg::MemoryPlan g = tkg::plan_memory(counts(), gpu, t, base, 2);
  EXPECT_GT(g.device_peak, 0);
  EXPECT_LT(g.peak, p.peak);
}

}  // namespace

namespace {

// The node's memory as the check sees it, set through TKG_MEMORY_AVAILABLE_MB: `bytes` in all
// (the check adds this process's resident bytes to MemAvailable, so they are taken off here).
void set_available(int64_t bytes) {
  const double mb = static_cast<double>(bytes - tkg::current_rss_bytes()) / 1048576.0;
  ::setenv("TKG_MEMORY_AVAILABLE_MB", std::to_string(mb).c_str(), 1);
}

}  // namespace

// The check at the start of a run (world of one): it fits; when only recomputation fits, auto
// becomes all; when nothing fits it stops with the options that would fit, or warns.
TEST(MemoryCheck, FitsRecomputesOrStops) {
  auto comm = tkg::make_self_communicator();
  tkg::RunOptions o;
  o.progress = false;
  o.threads = 2;
  o.train.epochs = 10, o.train.eval_every = 2;
  o.train.memory_headroom = 0;  // the headroom has its own check below
  o.train.host_cache_mb = 0;      // the allocator's cache: HostCacheGoesFirst
  tkg::ShardCounts c = counts();
  c.parts = 1, c.n_halo = 0, c.nnz_boundary = 0, c.boundary_rows = 0, c.n_send = 0;
  const int64_t base = 150 << 20;
  tkg::ModelOptions all = o.model;
  all.recompute = "all";
  const int64_t need_weights = tkg::plan_memory(c, o.model, o.train, base, 2).peak;
  const int64_t need_all = tkg::plan_memory(c, all, o.train, base, 2).peak;
  ASSERT_LT(need_all, need_weights);
  set_available(2 * need_weights);
  tkg::MemoryCheck m = tkg::check_memory(o, c, base, *comm);
  EXPECT_TRUE(m.fits);
  EXPECT_EQ(m.recompute, "weights");
  ASSERT_EQ(m.predicted_mb.size(), 1u);
  EXPECT_NEAR(m.predicted_mb[0], static_cast<double>(need_weights) / 1048576.0, 1e-6);
  set_available((need_all + need_weights) / 2);
  m = tkg::check_memory(o, c, base, *comm);
  EXPECT_TRUE(m.fits);
  EXPECT_EQ(m.recompute, "all");
  o.model.recompute = "weights";  // a mode the user chose is kept: then it does not fit
  EXPECT_THROW(tkg::check_memory(o, c, base, *comm), tkg::InputError);
  o.model.recompute = "auto";
  set_available(need_all / 4);
  try {
    tkg::check_memory(o, c, base, *comm);
    FAIL() << "expected the plan to stop the run";
  } catch (const tkg::InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("memory plan"), std::string::npos) << msg;
    EXPECT_NE(msg.find("GNAQ (quant.bits = 2)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("train.moments = bf16 with model.recompute = all"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ranks with model.recompute = all (projection"), std::string::npos) << msg;
  }
  o.train.memory_check = "warn";
  m = tkg::check_memory(o, c, base, *comm);
  EXPECT_FALSE(m.fits);
  // The headroom: 2 % more than the plan needs fits without it, not with 5 % left free.
  o.model.recompute = "weights";
  set_available(need_weights + need_weights / 50);
  EXPECT_TRUE(tkg::check_memory(o, c, base, *comm).fits);
  o.train.memory_headroom = 0.05;
  EXPECT_FALSE(tkg::check_memory(o, c, base, *comm).fits);
  ::unsetenv("TKG_MEMORY_AVAILABLE_MB");
}

// The CPU allocator's cache (train.host_cache_mb = auto): one step's transients when the node
// holds the plan with the whole cache; dropped (0) before recomputation when it does not.
TEST(MemoryCheck, HostCacheGoesFirst) {
  auto comm = tkg::make_self_communicator();
  tkg::RunOptions o;
  o.progress = false;
  o.threads = 2;
  o.train.epochs = 10, o.train.eval_every = 2;
  o.train.memory_headroom = 0;
  tkg::ShardCounts c = counts();
  c.parts = 1, c.n_halo = 0, c.nnz_boundary = 0, c.boundary_rows = 0, c.n_send = 0;
  const int64_t base = 150 << 20;
  tkg::TrainOptions off = o.train;
  off.host_cache_mb = 0;
  const tkg::MemoryPlan with = tkg::plan_memory(c, o.model, o.train, base, 2), without = tkg::plan_memory(c, o.model, off, base, 2);
  ASSERT_GT(with.host_cache, 0);
  EXPECT_EQ(without.host_cache, 0);
  EXPECT_EQ(with.step_peak - without.step_peak, with.host_cache / 4);  // a quarter counted in the ledger
  set_available(2 * (with.peak + with.host_cache));
  tkg::MemoryCheck m = tkg::check_memory(o, c, base, *comm);
  EXPECT_TRUE(m.fits);
  EXPECT_EQ(m.host_cache, with.host_cache);
  EXPECT_EQ(m.recompute, "weights");
  // Room for the plan without the cache, not for the whole cache: no cache, and no recomputation.
  set_available(without.peak + with.host_cache / 2);
  m = tkg::check_memory(o, c, base, *comm);
  EXPECT_TRUE(m.fits);
  EXPECT_EQ(m.host_cache, 0);
  EXPECT_EQ(m.recompute, "weights");
  // A cap the user gave is planned as given.
  o.train.host_cache_mb = 64;
  EXPECT_EQ(tkg::plan_memory(c, o.model, o.train, base, 2).host_cache, int64_t{64} << 20);
  ::unsetenv("TKG_MEMORY_AVAILABLE_MB");
}
