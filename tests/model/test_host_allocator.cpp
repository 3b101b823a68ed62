// The CPU allocator's cache of freed large blocks: a freed block serves the next request of its
// size (up to 1/8 larger), the cap bounds what is kept (oldest dropped first), small blocks and
// blocks above the cap are never kept, and tensors read and write as with LibTorch's allocator.
#include "model/host_allocator.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace {
constexpr int64_t kMiB = 1 << 20;
}

TEST(HostCache, ReusesFreedBlocksWithinTheCap) {
  at::Tensor before = at::ones({1 << 20}, at::kFloat);  // allocated by LibTorch's own allocator
  tkg::install_host_cache(16 * kMiB);
  ASSERT_TRUE(tkg::host_cache_installed());
  tkg::release_host_cache();
  const tkg::HostCacheStats s0 = tkg::host_cache_stats();
  EXPECT_EQ(s0.cached, 0);
  void* p = nullptr;
  {
    at::Tensor a = at::empty({1 << 20}, at::kFloat);  // 4 MiB: a new mapping
    p = a.data_ptr();
    a.fill_(3);
    EXPECT_EQ(a.sum().item<double>(), 3.0 * (1 << 20));
  }
  EXPECT_EQ(tkg::host_cache_stats().cached, 4 * kMiB);
  {
    at::Tensor b = at::zeros({(1 << 20) - 1000}, at::kFloat);  // a little smaller: the same block, zeroed
    EXPECT_EQ(b.data_ptr(), p);
    EXPECT_EQ(b.sum().item<double>(), 0.0);
    EXPECT_EQ(tkg::host_cache_stats().cached, 0);
    at::Tensor c = at::empty({(1 << 20) + 1000}, at::kFloat);  // larger than the cached block would be: new
    EXPECT_NE(c.data_ptr(), p);
    at::Tensor d = at::empty({2 << 20}, at::kFloat);  // 8 MiB: new
  }
  // d's 8 MiB, c's 4 MiB + 64 KiB and b's 4 MiB came back in that order (destructors run in
  // reverse): 16 MiB + 64 KiB over a 16 MiB cap, so the oldest (d's block) was unmapped.
  const tkg::HostCacheStats s1 = tkg::host_cache_stats();
  EXPECT_EQ(s1.hits - s0.hits, 1);
  EXPECT_EQ(s1.misses - s0.misses, 3);
  EXPECT_EQ(s1.cached, 8 * kMiB + 64 * 1024);
  EXPECT_EQ(s1.mapped, s1.cached);
  {
    at::Tensor e = at::empty({1 << 20}, at::kFloat);  // 4 MiB: served by b's block
    at::Tensor f = at::empty({1 << 18}, at::kFloat);  // 1 MiB: not by c's block (more than 1/8 larger)
    EXPECT_EQ(tkg::host_cache_stats().hits - s1.hits, 1);
    EXPECT_EQ(tkg::host_cache_stats().misses - s1.misses, 1);
  }
  // Above the cap: unmapped at once.
  const int64_t c0 = tkg::host_cache_stats().cached;
  { at::Tensor g = at::empty({5 << 20}, at::kFloat); }  // 20 MiB
  EXPECT_EQ(tkg::host_cache_stats().cached, c0);
  EXPECT_LE(tkg::host_cache_stats().peak_cached, 16 * kMiB);
  // Small blocks are LibTorch's own.
  const int64_t m0 = tkg::host_cache_stats().misses;
  for (int k = 0; k < 10; ++k) at::Tensor s = at::empty({1000}, at::kFloat);
  EXPECT_EQ(tkg::host_cache_stats().misses, m0);
  tkg::release_host_cache();
  EXPECT_EQ(tkg::host_cache_stats().cached, 0);
  EXPECT_EQ(tkg::host_cache_stats().mapped, 0);
  EXPECT_EQ(before.sum().item<double>(), 1.0 * (1 << 20));  // freed later through its own deleter
  // A cap of 0 keeps nothing.
  tkg::install_host_cache(0);
  { at::Tensor h = at::empty({1 << 20}, at::kFloat); }
  EXPECT_EQ(tkg::host_cache_stats().cached, 0);
}
