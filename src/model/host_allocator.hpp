// LibTorch's CPU allocator replaced by one that keeps freed large blocks for reuse (train.allocator
// = cache), as PyTorch's CUDA caching allocator does for device memory. Every training step
// allocates and frees the same whole-shard tensors (layer outputs, gradients, the loss's blocks);
// with glibc's mmap threshold at 1 MiB (common/memory.hpp: the least resident memory) each of
// them is mapped, faulted in page by page and zeroed by the kernel again every step, which cost a
// third of a gowalla mini-batch step (docs/reproduction.md). Blocks of at least 1 MiB are mapped
// by this allocator and, when freed, kept in a cache of at most `cap` bytes (oldest dropped
// first); a request takes a cached block of its size up to 1/8 larger. Smaller blocks go to
// LibTorch's own CPU allocation. No torch in this header.
#pragma once

#include <cstdint>

namespace tkg {

struct HostCacheStats {
  int64_t cap = 0;            // bytes the cache may hold
  int64_t cached = 0;         // bytes held now (free blocks)
  int64_t peak_cached = 0;    // most bytes held at once
  int64_t mapped = 0;         // bytes of large blocks mapped now (in use + cached)
  int64_t hits = 0, misses = 0;  // large requests served from the cache / by a new mapping
};

// Installs the allocator for every later CPU tensor (idempotent; the cap may be changed later).
// Tensors allocated before keep their own deleters.
void install_host_cache(int64_t cap_bytes);
// Drops every cached block (before a phase with other sizes, e.g. an evaluation).
void release_host_cache();
HostCacheStats host_cache_stats();
bool host_cache_installed();

}  // namespace tkg
